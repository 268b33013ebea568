"""Guards of the weight-sharing search: skip cap and parameter-free cap."""

import numpy as np
import pytest

from nases_tf.search.guards import ArchGuard, PARAMETER_FREE_OPS
from nases_tf.spaces import MACRO_OPS, MacroSpace, NasBench201Space


def _random_archs(space, count=200):
    rng = np.random.default_rng(0)
    return [space.sample(rng) for _ in range(count)]


def test_skip_cap_keeps_the_most_recent_sources_of_each_layer():
    space = MacroSpace(6)
    guard = ArchGuard(space, max_skips=1)
    for arch in _random_archs(space):
        ops, skips = space.split(guard(arch))
        old_ops, old_skips = space.split(arch)
        assert ops == old_ops
        for row, old in zip(skips, old_skips):
            assert sum(row) == min(1, sum(old))
            if sum(old):
                assert row.index(1) == max(j for j, bit in enumerate(old) if bit)


def test_parameter_free_cap_turns_the_earliest_extra_layers_into_convolutions():
    space = MacroSpace(6)
    guard = ArchGuard(space, max_parameter_free=2)
    all_free = space.join([0, 3, 4, 0, 3, 4], [[0] * i for i in range(6)])
    ops, _ = space.split(guard(all_free))
    assert [MACRO_OPS[o] for o in ops] == ["sep_conv_3x3"] * 4 + ["avg_pool_3x3",
                                                                   "max_pool_3x3"]
    for arch in _random_archs(space):
        ops, skips = space.split(guard(arch))
        assert sum(MACRO_OPS[o] in PARAMETER_FREE_OPS for o in ops) <= 2
        assert skips == space.split(arch)[1]


def test_guards_off_or_other_spaces_leave_architectures_alone():
    space = MacroSpace(4)
    for arch in _random_archs(space, 20):
        assert ArchGuard(space)(arch) == arch
    nb = NasBench201Space()
    arch = nb.sample(np.random.default_rng(1))
    assert ArchGuard(nb, max_skips=0, max_parameter_free=0)(arch) == arch
