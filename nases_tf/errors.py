"""Exceptions nases_tf raises for bad input; each carries a one-line message for the user."""


class NasesError(ValueError):
    """Base class: a problem with what the user handed in, described in one line."""


class ArchitectureError(NasesError):
    """An architecture does not belong to its search space (length, range, op name)."""


class DataError(NasesError):
    """A dataset is missing, malformed, or too small for what was asked of it."""


class ConfigError(NasesError):
    """A flag or setting has a value nases_tf cannot use."""


class SettingError(ConfigError):
    """A setting of a config (a dataclass field) has a value nases_tf cannot use.

    The message names the setting as ``ConfigClass.field``; the command line names it by
    its flag instead.

    Args:
        setting: the setting's name, ``ConfigClass.field`` (or a bare field name).
        value: the value refused.
        problem: what is wrong with it, e.g. ``must be >= 1``.
    """

    def __init__(self, setting, value, problem):
        super().__init__(f"{setting}={value!r} {problem}")
        self.setting, self.value, self.problem = setting, value, problem
