"""Search spaces: the common interface and the spaces nases_tf ships."""

from nases_tf.errors import SettingError
from nases_tf.spaces.base import SearchSpace
from nases_tf.spaces.macro import MACRO_OPS, MacroSpace
from nases_tf.spaces.micro import MICRO_OPS, MicroSpace
from nases_tf.spaces.nasbench201 import NasBench201Space

_SPACES = {"macro": MacroSpace, "micro": MicroSpace, "nasbench201": NasBench201Space}


def register_space(name, cls):
    """Makes ``cls`` (a SearchSpace subclass) available to ``make_space`` as ``name``."""
    _SPACES[name] = cls


def space_names():
    """The names of the registered spaces, sorted."""
    return sorted(_SPACES)


def space_class(name):
    """The ``SearchSpace`` subclass registered as ``name``.

    Args:
        name: a space's name.
    """
    if name not in _SPACES:
        raise SettingError("SpaceConfig.name", name,
                           f"is unknown, expected one of {', '.join(space_names())}")
    return _SPACES[name]


def make_space(name, **kwargs):
    """Builds the search space called ``name`` with its size settings ``kwargs``."""
    return space_class(name)(**kwargs)


def space_from_config(config):
    """Rebuilds a space from the dict its ``config()`` returned."""
    config = dict(config)
    return make_space(config.pop("name"), **config)


__all__ = ["SearchSpace", "MacroSpace", "MACRO_OPS", "MicroSpace", "MICRO_OPS", "NasBench201Space", "make_space", "space_from_config",
           "register_space", "space_names", "space_class"]
