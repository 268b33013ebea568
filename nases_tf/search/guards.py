"""Guards that keep a weight-sharing search away from the architectures a supernet overrates.

A supernet trained briefly scores parameter-free ops (identity, pooling) and dense skip
connections too well: their paths ride on the shared stem and classifier, which every step
trains, while each convolution is trained only on the steps that take it. ``ArchGuard``
projects every architecture the search trains, proposes or re-scores onto a constrained
part of the ``macro`` space:

- ``max_skips``: at most this many skip inputs per layer (the most recent sources are kept);
- ``max_parameter_free``: at most this many layers with a parameter-free op (the extra ones,
  from the first layer on, become ``sep_conv_3x3``).

Both are off at -1. Other spaces pass through unchanged.
"""

from nases_tf.spaces.macro import MACRO_OPS

PARAMETER_FREE_OPS = ("identity", "avg_pool_3x3", "max_pool_3x3")
_REPLACEMENT_OP = "sep_conv_3x3"


class ArchGuard:
    """Projects architectures onto the guarded part of a ``macro`` space.

    Args:
        space: the search space (guards act on ``macro`` only).
        max_skips: skip inputs allowed per layer (-1: no cap; ``Levers`` checks the range).
        max_parameter_free: layers allowed a parameter-free op (-1: no cap).
    """

    def __init__(self, space, max_skips=-1, max_parameter_free=-1):
        self.space = space
        self.max_skips, self.max_parameter_free = int(max_skips), int(max_parameter_free)

    @property
    def active(self):
        """Whether any guard changes architectures of this space."""
        return self.space.name == "macro" and (self.max_skips >= 0 or
                                               self.max_parameter_free >= 0)

    def __call__(self, arch):
        """The guarded version of ``arch`` (a tuple of int; ``arch`` itself if it complies)."""
        arch = self.space.validate(arch)
        if not self.active:
            return arch
        ops, skips = self.space.split(arch)
        ops, skips = list(ops), [list(row) for row in skips]
        if self.max_skips >= 0:
            for row in skips:
                on = [j for j, bit in enumerate(row) if bit]
                for j in on[:max(0, len(on) - self.max_skips)]:
                    row[j] = 0
        if self.max_parameter_free >= 0:
            free = [i for i, op in enumerate(ops) if MACRO_OPS[op] in PARAMETER_FREE_OPS]
            for i in free[:max(0, len(free) - self.max_parameter_free)]:
                ops[i] = MACRO_OPS.index(_REPLACEMENT_OP)
        return self.space.join(ops, skips)

    def batch(self, archs):
        """Guards each row of an integer array of architectures; returns a list of tuples."""
        return [self(arch) for arch in archs]
