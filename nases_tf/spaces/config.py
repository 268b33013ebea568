"""``SpaceConfig``: which search space a run uses, and its sizes."""

import dataclasses
import inspect

from nases_tf import settings
from nases_tf.errors import SettingError

# The size settings spaces take; a space uses those its constructor names.
SIZE_SETTINGS = ("layers", "nodes", "cells_per_stage")


@dataclasses.dataclass(frozen=True)
class SpaceConfig:
    """A search space by name, with the size settings it takes (the others are None).

    Attributes:
        name: a registered space's name (``macro``, ``micro``, ``nasbench201``).
        layers: L of the macro space.
        nodes: B, nodes per cell of the micro space.
        cells_per_stage: N, normal cells per stage of the micro network.
    """

    name: str = settings.setting("macro")
    layers: int = settings.setting(None, optional=True, at_least=1)
    nodes: int = settings.setting(None, optional=True, at_least=1)
    cells_per_stage: int = settings.setting(None, optional=True, at_least=1)

    def __post_init__(self):
        from nases_tf.spaces import space_names

        settings.check_settings(self)
        if self.name not in space_names():
            raise SettingError("SpaceConfig.name", self.name, "is unknown, expected one of "
                               + ", ".join(space_names()))

    @classmethod
    def of(cls, name, **sizes):
        """The config of space ``name``, keeping only the ``sizes`` it takes.

        Args:
            name: the space's name.
            **sizes: size settings (``layers``, ``nodes``, ``cells_per_stage``).
        """
        taken = size_defaults(name)
        return cls(name, **{k: v for k, v in sizes.items() if k in taken})

    def build(self):
        """The search space."""
        from nases_tf.spaces import make_space

        return make_space(self.name, **{k: getattr(self, k) for k in SIZE_SETTINGS
                                        if getattr(self, k) is not None})


def size_defaults(name=None):
    """The size settings space ``name`` takes, with their defaults (every registered
    space's when ``name`` is None).

    Args:
        name: a registered space's name, or None.
    """
    from nases_tf.spaces import space_class, space_names

    out = {}
    for space in [name] if name else space_names():
        for key, param in inspect.signature(space_class(space)).parameters.items():
            if key in SIZE_SETTINGS:
                out.setdefault(key, param.default)
    return out
