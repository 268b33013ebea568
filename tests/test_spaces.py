"""The search-space interface and the macro space: encoding, JSON, validation."""

import json

import numpy as np
import pytest

from nases_tf.errors import ArchitectureError
from nases_tf.spaces import MACRO_OPS, MacroSpace, encoding, make_space, space_from_config


def test_unit_encoding_is_interval_centre_and_decodes_back():
    sizes = [5, 2, 3]
    unit = encoding.encode_choices([4, 0, 1], sizes)
    np.testing.assert_allclose(unit, [0.9, 0.25, 0.5], rtol=1e-6)
    assert encoding.decode_unit(unit, sizes).tolist() == [4, 0, 1]
    # interval edges, and values outside [0, 1] clipped
    assert encoding.decode_unit([0.2, 0.5, 1.0], sizes).tolist() == [1, 1, 2]
    assert encoding.decode_unit([-3.0, 7.0, 0.0], sizes).tolist() == [0, 1, 0]


def test_macro_decisions_and_size():
    space = MacroSpace(15)
    assert space.num_decisions == 15 + 15 * 14 // 2 == 120
    assert space.decision_names[:4] == ("op_0", "op_1", "skip_1_0", "op_2")
    assert space.sizes[:4] == (5, 5, 2, 5)
    assert space.reduction_after() == (4, 9)


@pytest.mark.parametrize("layers", [1, 4, 15])
def test_encode_decode_round_trip_on_random_architectures(layers):
    space = MacroSpace(layers)
    rng = np.random.default_rng(layers)
    for _ in range(200):
        arch = space.sample(rng)
        unit = space.encode(arch)
        assert unit.shape == (space.num_decisions,)
        assert np.all((unit > 0) & (unit < 1))
        assert space.decode(unit) == arch


def test_sampling_is_seeded_and_covers_every_op():
    space = MacroSpace(6)
    a = [space.sample(np.random.default_rng(3)) for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(0)
    ops = {o for _ in range(50) for o in space.split(space.sample(rng))[0]}
    assert ops == set(range(len(MACRO_OPS)))


def test_json_round_trip_and_readable_form():
    space = MacroSpace(5)
    rng = np.random.default_rng(1)
    for _ in range(50):
        arch = space.sample(rng)
        obj = json.loads(json.dumps(space.to_json(arch)))
        assert space.from_json(obj) == arch
    arch = space.join([1, 4, 0, 3, 2], [[], [1], [0, 0], [1, 0, 1], [0, 0, 0, 0]])
    assert space.readable(arch) == ("sep_conv_3x3 | max_pool_3x3+[0] | identity | "
                                    "avg_pool_3x3+[0,2] | sep_conv_5x5")
    dumped = json.loads(space.dumps(arch))
    assert dumped["space"] == {"name": "macro", "layers": 5}
    assert space_from_config(dumped["space"]).from_json(dumped["architecture"]) == arch


def test_validation_errors_name_the_problem():
    space = MacroSpace(3)
    with pytest.raises(ArchitectureError, match="has 2 decisions, expected 6"):
        space.validate([0, 1])
    with pytest.raises(ArchitectureError, match=r"decision 1 \(op_1\) is 5, expected an integer in \[0, 5\)"):
        space.validate([0, 5, 0, 0, 0, 0])
    with pytest.raises(ArchitectureError, match=r"skip_1_0\) is 2"):
        space.validate([0, 0, 2, 0, 0, 0])
    with pytest.raises(ArchitectureError, match="unknown op 'conv_7x7'"):
        space.from_json({"ops": ["identity", "conv_7x7", "identity"], "skips": [[], [0], [0, 0]]})
    with pytest.raises(ArchitectureError, match="layer 2 has 1 skip bits, expected 2"):
        space.from_json({"ops": ["identity"] * 3, "skips": [[], [0], [0]]})
    with pytest.raises(ArchitectureError, match="was made for search space"):
        space.check_config({"name": "macro", "layers": 4}, "arch.json")


def test_unknown_space_is_a_config_error():
    from nases_tf.errors import ConfigError
    with pytest.raises(ConfigError, match="SpaceConfig.name='hyper' is unknown"):
        make_space("hyper")
