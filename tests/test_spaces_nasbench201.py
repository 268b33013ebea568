"""The NAS-Bench-201 search space: registry, string/JSON forms, edge order, bad input."""

import json

import pytest

from nases_tf.benchmarks.nasbench201 import NUM_ARCHS, arch_codes, code_to_arch
from nases_tf.errors import ArchitectureError
from nases_tf.spaces import make_space, space_from_config
from nases_tf.spaces.nasbench201 import NasBench201Space

BEST = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+"
        "|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")


def test_space_registered_and_round_trips_every_architecture():
    space = make_space("nasbench201")
    assert isinstance(space, NasBench201Space)
    assert space.config() == {"name": "nasbench201"}
    assert isinstance(space_from_config(space.config()), NasBench201Space)
    assert space.sizes == (5,) * 6 and space.cardinality() == NUM_ARCHS == 15625
    strings = set()
    for code in range(NUM_ARCHS):
        arch = code_to_arch(code)
        assert int(arch_codes(arch)) == code
        text = space.to_string(arch)
        strings.add(text)
        assert space.from_string(text) == arch
        assert space.from_json(space.to_json(arch)) == arch
        assert space.readable(arch) == text
    assert len(strings) == NUM_ARCHS


def test_space_edge_order_matches_table_strings():
    space = NasBench201Space()
    arch = space.from_string(BEST)
    assert arch == (3, 3, 3, 1, 3, 2)
    assert space.to_json(arch)["edges"][3] == "skip_connect"  # edge 3<-0
    assert space.decision_names == ("edge_1_0", "edge_2_0", "edge_2_1", "edge_3_0",
                                    "edge_3_1", "edge_3_2")
    assert json.loads(space.dumps(arch))["architecture"]["string"] == BEST


@pytest.mark.parametrize("bad", [
    "",
    "|nor_conv_3x3~0|",
    "|nor_conv_3x3~0|+|none~0|none~1|",
    "|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none~0|+|none~0|+|none~0|none~1|none~2|",
    "none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|",
])
def test_bad_strings_raise_clear_errors(bad):
    with pytest.raises(ArchitectureError, match="nasbench201"):
        NasBench201Space().from_string(bad)


def test_bad_json_and_vectors_raise():
    space = NasBench201Space()
    with pytest.raises(ArchitectureError, match="unknown op"):
        space.from_json({"edges": ["none"] * 5 + ["sep_conv_3x3"]})
    with pytest.raises(ArchitectureError, match="edges"):
        space.from_json({"ops": []})
    with pytest.raises(ArchitectureError, match="disagrees"):
        space.from_json({"edges": ["none"] * 6, "string": BEST})
    with pytest.raises(ArchitectureError, match=r"decision 5 \(edge_3_2\) is 5"):
        space.to_string((0, 1, 2, 3, 4, 5))
