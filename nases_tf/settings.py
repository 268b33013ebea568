"""The settings of nases_tf's config dataclasses, each declared once on its field: its
default, the values it allows, and whether it changes results.

A config class declares its fields with ``setting`` and calls ``check_settings(self)`` in
``__post_init__``, so a bad value is refused where the config is made, naming the field.
The command line hands the same declarations to absl (enums and bounds of its flags), and
the run record keeps what ``result_settings`` gives: every field that changes results.
"""

import dataclasses
import math

from nases_tf.errors import SettingError


def setting(default=dataclasses.MISSING, *, choices=None, at_least=None, at_most=None,
            above=None, below=None, optional=False, affects_results=True,
            default_factory=dataclasses.MISSING):
    """A dataclass field with its allowed values.

    Args:
        default: the default value.
        choices: the allowed values (None: any).
        at_least, at_most: inclusive bounds of a number.
        above, below: exclusive bounds of a number.
        optional: whether None is allowed (it then means "decided elsewhere").
        affects_results: False for settings that change how a run reports, not what it
            computes (progress bars, a profiler trace); the run record leaves them out.
        default_factory: a callable making the default (for mutable or nested defaults).
    """
    metadata = {"choices": tuple(choices) if choices is not None else None,
                "at_least": at_least, "at_most": at_most, "above": above, "below": below,
                "optional": optional, "affects_results": affects_results}
    return dataclasses.field(default=default, default_factory=default_factory,
                             metadata=metadata)


def problem(value, spec):
    """What is wrong with ``value`` under a field's declaration, or None.

    Args:
        value: the value.
        spec: the field's ``metadata`` (as ``setting`` made it; empty: anything goes).
    """
    if value is None:
        return None if spec.get("optional", True) else "must be set"
    choices = spec.get("choices")
    if choices is not None and value not in choices:
        return f"is unknown, expected one of {', '.join(map(str, choices))}"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    bounds = (("at_least", lambda v, b: v >= b, "must be >= {}"),
              ("at_most", lambda v, b: v <= b, "must be <= {}"),
              ("above", lambda v, b: v > b, "must be > {}"),
              ("below", lambda v, b: v < b, "must be < {}"))
    for key, holds, message in bounds:
        bound = spec.get(key)
        if bound is not None and not holds(value, bound):
            return message.format(bound)
    return None


def check_settings(config):
    """Raises SettingError for the first field of ``config`` whose value its declaration
    does not allow.

    Args:
        config: a dataclass instance whose fields were declared with ``setting``.
    """
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        found = problem(value, field.metadata)
        if found:
            raise SettingError(f"{type(config).__name__}.{field.name}", value, found)


def affects_results(field):
    """Whether a dataclass field changes results (True unless declared otherwise).

    Args:
        field: a ``dataclasses.Field``.
    """
    return field.metadata.get("affects_results", True)


def result_settings(config):
    """The fields of ``config`` that change results, as a JSON-able dict (nested configs
    as nested dicts, tuples as lists).

    Args:
        config: a dataclass instance.
    """
    out = {}
    for field in dataclasses.fields(config):
        if affects_results(field):
            out[field.name] = _plain(getattr(config, field.name))
    return out


def _plain(value):
    if dataclasses.is_dataclass(value):
        return result_settings(value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value
