"""The interface every search space implements.

An architecture is a tuple of ``m`` integer choices, one per decision; decision ``i`` has
``sizes[i]`` choices. Spaces add their own readable and JSON forms on top of that vector.
"""

import abc
import json

import numpy as np

from nases_tf.errors import ArchitectureError
from nases_tf.spaces import encoding


class SearchSpace(abc.ABC):
    """A finite space of architectures described by categorical decisions.

    Subclasses define ``name``, ``decision_names``, ``sizes``, ``config`` and the readable
    and JSON forms; encoding, sampling and validation of the flat vector live here once.
    """

    name = None
    # Keys of ``config()`` that identify the architectures (None: all). Other keys are
    # network-size settings that an architecture or coder may be reused across.
    identity_keys = None

    def _define_decisions(self, names, sizes):
        """Sets the decisions' names and sizes (for spaces that compute them once).

        Args:
            names: one short name per decision.
            sizes: the number of choices of each decision.
        """
        self._names, self._sizes = tuple(names), tuple(int(k) for k in sizes)

    @property
    def decision_names(self):
        """One short name per decision, in vector order."""
        return self._names

    @property
    def sizes(self):
        """Number of choices of each decision (tuple of int), in vector order."""
        return self._sizes

    @abc.abstractmethod
    def config(self):
        """JSON-able dict that identifies this space and its size (``name`` included)."""

    @abc.abstractmethod
    def readable(self, arch):
        """One-line human-readable form of ``arch``."""

    @abc.abstractmethod
    def to_json(self, arch):
        """JSON-able dict describing ``arch``; ``from_json`` reverses it."""

    @abc.abstractmethod
    def from_json(self, obj):
        """Architecture (tuple of int) from the dict written by ``to_json``."""

    @property
    def num_decisions(self):
        """The number of decisions ``m``."""
        return len(self.sizes)

    def cardinality(self):
        """The number of distinct architectures (a Python int, may be huge)."""
        total = 1
        for size in self.sizes:
            total *= int(size)
        return total

    def validate(self, arch):
        """Returns ``arch`` as a tuple of int, or raises ArchitectureError saying what is wrong."""
        values = list(np.asarray(arch).reshape(-1)) if not isinstance(arch, (list, tuple)) else list(arch)
        if len(values) != self.num_decisions:
            raise ArchitectureError(
                f"{self.name} architecture has {len(values)} decisions, expected "
                f"{self.num_decisions}")
        out = []
        for i, (value, size) in enumerate(zip(values, self.sizes)):
            if isinstance(value, (bool, np.bool_)) or not float(value).is_integer():
                raise ArchitectureError(
                    f"{self.name} decision {i} ({self.decision_names[i]}) is {value!r}, "
                    f"expected an integer in [0, {size})")
            value = int(value)
            if not 0 <= value < size:
                raise ArchitectureError(
                    f"{self.name} decision {i} ({self.decision_names[i]}) is {value}, "
                    f"expected an integer in [0, {size})")
            out.append(value)
        return tuple(out)

    def encode(self, arch):
        """Unit encoding (float32 array of shape ``(m,)``) of a valid architecture."""
        return encoding.encode_choices(self.validate(arch), self.sizes)

    def decode(self, unit):
        """Architecture (tuple of int) whose intervals contain unit vector ``unit``."""
        unit = np.asarray(unit)
        if unit.shape != (self.num_decisions,):
            raise ArchitectureError(
                f"{self.name} unit vector has shape {unit.shape}, expected "
                f"({self.num_decisions},)")
        return tuple(int(c) for c in encoding.decode_unit(unit, self.sizes))

    def decode_batch(self, units):
        """Integer choices (int64 array ``(batch, m)``) for a batch of unit vectors."""
        return encoding.decode_unit(units, self.sizes)

    def sample(self, rng):
        """A uniformly random architecture drawn with ``numpy.random.Generator`` ``rng``."""
        return tuple(int(rng.integers(size)) for size in self.sizes)

    def dumps(self, arch):
        """JSON text of ``arch`` (``to_json`` plus the space's config)."""
        return json.dumps({"space": self.config(), "architecture": self.to_json(arch)})

    def check_config(self, other_config, source):
        """Raises ArchitectureError unless ``other_config`` (read from ``source``) is this space's."""
        keys = self.identity_keys
        mine = {k: v for k, v in self.config().items() if keys is None or k in keys}
        theirs = {k: v for k, v in dict(other_config).items() if keys is None or k in keys}
        if mine != theirs:
            raise ArchitectureError(
                f"{source} was made for search space {other_config}, but this run uses "
                f"{self.config()}")
