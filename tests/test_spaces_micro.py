"""The ENAS micro (cell) space: decisions, round trips, validation; and the micro search
from the command line."""

import json

import numpy as np
import pytest

from nases_tf.errors import ArchitectureError
from nases_tf.spaces import MicroSpace, make_space, space_from_config

# -- the space ---------------------------------------------------------------------------------


def test_decisions_and_config():
    space = MicroSpace()
    assert space.num_decisions == 40
    assert space.sizes[:8] == (2, 5, 2, 5, 3, 5, 3, 5)
    assert space.sizes[20:24] == (2, 5, 2, 5)  # reduction cell, node 2
    assert space.decision_names[0] == "normal_node2_input_a"
    assert space.decision_names[-1] == "reduction_node6_op_b"
    assert space.config() == {"name": "micro", "nodes": 5, "cells_per_stage": 5}
    again = space_from_config(MicroSpace(3, 2).config())
    assert isinstance(again, MicroSpace) and (again.nodes, again.cells_per_stage) == (3, 2)
    assert make_space("micro", nodes=2).num_decisions == 16
    assert space.position("reduction", 1, "op_b") == 20 + 4 + 3
    with pytest.raises(ArchitectureError):
        MicroSpace(nodes=0)
    with pytest.raises(ArchitectureError):
        MicroSpace(cells_per_stage=0)


def test_round_trips():
    space = MicroSpace()
    rng = np.random.default_rng(0)
    for _ in range(20):
        arch = space.sample(rng)
        assert space.join(*space.split(arch)) == arch
        assert space.decode(space.encode(arch)) == arch
        obj = json.loads(json.dumps(space.to_json(arch)))
        assert space.from_json(obj) == arch
        assert json.loads(space.dumps(arch))["space"] == space.config()


def test_split_json_and_readable_forms():
    space = MicroSpace(nodes=2, cells_per_stage=1)
    arch = (0, 1, 1, 0, 2, 3, 0, 4, 1, 2, 0, 0, 0, 1, 2, 3)
    normal, reduction = space.split(arch)
    assert normal == ((0, 1, 1, 0), (2, 3, 0, 4))
    assert reduction == ((1, 2, 0, 0), (0, 1, 2, 3))
    assert space.to_json(arch) == {
        "normal": [[0, "sep_conv_3x3", 1, "identity"], [2, "avg_pool_3x3", 0, "max_pool_3x3"]],
        "reduction": [[1, "sep_conv_5x5", 0, "identity"], [0, "sep_conv_3x3", 2, "avg_pool_3x3"]]}
    assert space.readable(arch) == (
        "normal: n2=sep_conv_3x3(0)+identity(1) n3=avg_pool_3x3(2)+max_pool_3x3(0) || "
        "reduction: n2=sep_conv_5x5(1)+identity(0) n3=sep_conv_3x3(0)+avg_pool_3x3(2)")
    assert MicroSpace.unused_nodes(normal) == (3,)
    assert MicroSpace.unused_nodes(((0, 1, 1, 0), (0, 3, 1, 4))) == (2, 3)


@pytest.mark.parametrize("mutate, words", [
    (lambda o: o["normal"][0].__setitem__(1, "conv_7x7"), ["normal", "node 2", "conv_7x7"]),
    (lambda o: o["reduction"][1].__setitem__(2, 3), ["reduction", "node 3", "input_b", "[0, 3)"]),
    (lambda o: o["normal"][1].__setitem__(0, -1), ["normal", "node 3", "input_a"]),
    (lambda o: o["normal"].pop(), ["normal", "2 nodes"]),
    (lambda o: o.pop("reduction"), ["reduction"]),
    (lambda o: o["normal"][0].pop(), ["normal", "node 2"]),
])
def test_from_json_names_what_is_wrong(mutate, words):
    space = MicroSpace(nodes=2, cells_per_stage=1)
    obj = space.to_json(space.sample(np.random.default_rng(1)))
    mutate(obj)
    with pytest.raises(ArchitectureError) as err:
        space.from_json(obj)
    for word in words:
        assert word in str(err.value)


def test_validate_and_join_reject_bad_vectors():
    space = MicroSpace(nodes=2, cells_per_stage=1)
    with pytest.raises(ArchitectureError, match="16"):
        space.validate([0] * 15)
    bad = [0] * 16
    bad[4] = 2  # node 3 input_a may be 0..2: fine
    space.validate(bad)
    bad[0] = 2  # node 2 input_a may only be 0 or 1
    with pytest.raises(ArchitectureError, match="normal_node2_input_a"):
        space.validate(bad)
    with pytest.raises(ArchitectureError, match="3 nodes"):
        space.join([(0, 0, 0, 0)] * 3, [(0, 0, 0, 0)] * 2)


def test_a_searched_cell_trains_in_a_bigger_network():
    from nases_tf.errors import ArchitectureError
    small, big = MicroSpace(nodes=3, cells_per_stage=1), MicroSpace(nodes=3, cells_per_stage=5)
    big.check_config(small.config(), "arch.json")  # N differs: the same cells
    with pytest.raises(ArchitectureError, match="was made for search space"):
        MicroSpace(nodes=4).check_config(small.config(), "arch.json")


@pytest.mark.slow
def test_cli_micro_stage_all_on_natural_images(tmp_path, natural_npz_quarter):
    from cli_helpers import read_json, run
    out = tmp_path / "micro"
    # ENAS's schedule: the tuned levers' extra candidates and re-ranking are tested in the
    # macro space; here the micro supernet, its coder and network go through every stage
    # (on a quarter of the photos and with one node per cell: a micro step costs about as
    # much per photo at any batch size, most of the time is the traces, which grow with the
    # nodes, and what is checked does not depend on how much the networks train).
    done = run("--stage=all", "--space=micro", "--nodes=1", "--cells_per_stage=1",
               "--filters=8", "--batch_size=32", "--coder=mlp", "--pretrain_steps=50",
               "--search_epochs=1", "--controller_steps=1", "--samples_per_update=2",
               "--rescore_samples=1", "--ws_schedule=paper", "--final_epochs=1", "--verbose=0",
               f"--dataset=npz:{natural_npz_quarter}", f"--output_dir={out}")
    assert done.returncode == 0, done.stderr[-3000:]
    arch = read_json(out / "search" / "arch.json")
    assert arch["space"]["name"] == "micro" and "normal" in arch["architecture"]
    assert read_json(out / "final" / "results.json")["architecture"] == arch["architecture"]
