"""Exceptions nases_tf raises for bad input; each carries a one-line message for the user."""


class NasesError(ValueError):
    """Base class: a problem with what the user handed in, described in one line."""


class ArchitectureError(NasesError):
    """An architecture does not belong to its search space (length, range, op name)."""


class DataError(NasesError):
    """A dataset is missing, malformed, or too small for what was asked of it."""


class ConfigError(NasesError):
    """A flag or setting has a value nases_tf cannot use."""
