"""The ENAS micro (cell) space: decisions, round trips, validation, the standalone network
and the weight-sharing supernet."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from nases_tf.errors import ArchitectureError
from nases_tf.networks import count_params
from nases_tf.networks.build import build_model
from nases_tf.networks.micro import CellOutput, MicroOp, build_micro_model
from nases_tf.networks.micro_supernet import MicroSupernet, make_eval_step, make_train_step
from nases_tf.spaces import MICRO_OPS, MicroSpace, make_space, space_from_config

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


# -- the standalone network --------------------------------------------------------------------


@pytest.mark.parametrize("op", MICRO_OPS)
@pytest.mark.parametrize("strides", [1, 2])
def test_every_op_runs_with_both_strides(op, strides):
    layer = MicroOp(op, 8, strides=strides)
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 8)).astype("float32")
    y = layer(x, training=True)
    assert tuple(y.shape) == (2, 8 // strides, 8 // strides, 8)
    assert np.all(np.isfinite(np.asarray(y)))
    assert bool(layer.trainable_weights) == (op.startswith("sep") or
                                             (op == "identity" and strides == 2))
    if op == "identity" and strides == 1:
        np.testing.assert_array_equal(np.asarray(y), x)
    if op == "max_pool_3x3":
        xt = tf.constant(x)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(xt)
            mine = layer(xt)
            ref = tf.nn.max_pool2d(xt, 3, strides, "SAME")
        np.testing.assert_array_equal(mine.numpy(), ref.numpy())
        np.testing.assert_allclose(tape.gradient(mine, xt).numpy(),
                                   tape.gradient(ref, xt).numpy())


def test_random_cells_build_and_run_forward():
    space = MicroSpace(nodes=3, cells_per_stage=1)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 32, 32, 3)).astype("float32")
    for _ in range(2):
        arch = space.sample(rng)
        model = build_model(space, arch, filters=8, num_classes=10)
        out = model(x, training=True)
        assert out.shape == (2, 10) and np.all(np.isfinite(out.numpy()))
        # stem 3F, then 5 cells: 32x32x8, 16x16x16 (reduction), 16x16x16, 8x8x32 twice
        assert model.get_layer("stem").output.shape[1:] == (32, 32, 24)
        assert model.get_layer("cell1_out").output.shape[1:] == (16, 16, 16)
        assert model.get_layer("head").input.shape[1:] == (8, 8, 32)
        for c, kind in enumerate(["normal", "reduction", "normal", "reduction", "normal"]):
            cell = space.split(arch)[kind == "reduction"]
            out_layer = model.get_layer(f"cell{c}_out")
            assert out_layer.nodes == space.unused_nodes(cell)
            width = out_layer.filters
            assert out_layer.kernel.shape == (1, 1, width * len(out_layer.nodes), width)
        # right after a reduction cell, h_{k-2} is reduced; elsewhere a 1x1 ReLU-conv-BN
        assert type(model.get_layer("cell2_pre0")).__name__ == "FactorizedReduction"
        assert type(model.get_layer("cell1_pre0")).__name__ == "ReLUConvBN"


def test_reduction_cell_strides_only_on_cell_inputs():
    space = MicroSpace(nodes=2, cells_per_stage=1)
    # reduction cell: node 2 = identity(0) + max_pool(1); node 3 = sep_conv_3x3(2) + avg(0)
    arch = space.join([(0, 1, 1, 1), (2, 0, 0, 2)], [(0, 0, 1, 4), (2, 1, 0, 3)])
    model = build_micro_model(space, arch, filters=4)
    assert model.get_layer("cell1_node2a_identity_s2").strides == 2
    assert model.get_layer("cell1_node2b_max_pool_3x3_s2").strides == 2
    assert model.get_layer("cell1_node3a_sep_conv_3x3").strides == 1
    assert model.get_layer("cell1_node3b_avg_pool_3x3_s2").strides == 2
    assert model.get_layer("cell0_node3a_identity").strides == 1


def test_saved_model_reloads_to_same_outputs(tmp_path):
    space = MicroSpace(nodes=2, cells_per_stage=1)
    arch = space.sample(np.random.default_rng(3))
    model = build_micro_model(space, arch, filters=4)
    x = np.random.default_rng(0).normal(size=(2, 16, 16, 3)).astype("float32")
    model = build_micro_model(space, arch, filters=4, input_shape=(16, 16, 3))
    path = str(tmp_path / "model.keras")
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(model(x).numpy(), again(x).numpy(), atol=1e-6)


def test_paper_size_parameter_count():
    space = MicroSpace(nodes=5, cells_per_stage=5)
    sep3 = [(0, 1, 1, 1)] * 5  # every node: sep_conv_3x3(0) + sep_conv_3x3(1)
    model = build_micro_model(space, space.join(sep3, sep3), filters=40)
    # the paper reports 4.7M for N=5, B=5, F=40 (its searched cells)
    assert 2_000_000 < count_params(model) < 8_000_000
    kernels = [w for w in model.trainable_weights if "kernel" in w.path]
    assert len(model.losses) == len(kernels) > 0


# -- the supernet ------------------------------------------------------------------------------

SUPER_NODES, FILTERS, BATCH, SIZE = 2, 4, 4, 16


def _small_space():
    return MicroSpace(nodes=SUPER_NODES, cells_per_stage=1)


def _archs():
    space = _small_space()
    rng = np.random.default_rng(11)
    # every op in the reduction cell on both kinds of input, one and two loose nodes
    chain = space.join([(0, 1, 1, 2), (2, 3, 0, 4)], [(0, 0, 1, 4), (2, 1, 0, 0)])
    both = space.join([(1, 0, 0, 3), (1, 2, 0, 0)], [(1, 2, 0, 1), (1, 3, 0, 4)])
    return [chain, both, space.sample(rng)]


@pytest.fixture(scope="module")
def supernet():
    keras.utils.set_random_seed(1)
    return MicroSupernet(_small_space(), filters=FILTERS, input_shape=(SIZE, SIZE, 3))


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(BATCH, SIZE, SIZE, 3)).astype("float32")
    labels = rng.integers(0, 10, size=BATCH).astype("int64")
    return images, labels


def _standalone(arch):
    return build_micro_model(_small_space(), arch, filters=FILTERS, input_shape=(SIZE, SIZE, 3))


def test_supernet_matches_standalone_with_copied_weights(supernet, batch):
    images, _ = batch
    forward = tf.function(lambda x, a: supernet((x, a), training=True))
    for arch in _archs():
        model = _standalone(arch)
        supernet.copy_weights_to(model)
        got = forward(images, supernet.arch_tensor(arch)).numpy()
        want = model(images, training=True).numpy()
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
        # inference mode (moving statistics) agrees too, eagerly
        np.testing.assert_allclose(
            supernet((images, supernet.arch_tensor(arch)), training=False).numpy(),
            model(images, training=False).numpy(), atol=1e-5, rtol=1e-5)
        # training=True moved the BN moving statistics of the path alike
        check = _standalone(arch)
        supernet.copy_weights_to(check)
        for a_var, b_var in zip(model.weights, check.weights):
            np.testing.assert_allclose(a_var.numpy(), b_var.numpy(), atol=1e-5, rtol=1e-5)
    assert forward.experimental_get_tracing_count() == 1


def test_copy_weights_round_trip(supernet, batch):
    images, _ = batch
    arch = _archs()[0]
    model = _standalone(arch)
    rng = np.random.default_rng(9)
    for v in model.weights:
        v.assign(v.numpy() + rng.uniform(0.1, 0.2, size=v.shape).astype("float32"))
    other = MicroSupernet.from_config(supernet.get_config())
    assert len(other.weights) == len(supernet.weights)
    other.copy_weights_from(model)
    again = _standalone(arch)
    other.copy_weights_to(again)
    for a_var, b_var in zip(model.weights, again.weights):
        np.testing.assert_array_equal(a_var.numpy(), b_var.numpy())
    np.testing.assert_allclose(other((images, other.arch_tensor(arch)), training=False).numpy(),
                               again(images, training=False).numpy(), atol=1e-5, rtol=1e-5)
    # a cell output's kernel went into the rows of its loose nodes only
    full = other.get_layer("cell0_out")
    assert isinstance(full, CellOutput) and full.nodes == (2, 3)
    with pytest.raises(ValueError):
        other.copy_weights_from(build_micro_model(MicroSpace(3, 1), MicroSpace(3, 1).sample(rng),
                                                  filters=FILTERS, input_shape=(SIZE, SIZE, 3)))


def test_one_trace_trains_every_architecture(batch):
    # one node per cell keeps the trace of the gradient short (about 15 s on 2 cores)
    images, labels = batch
    space = MicroSpace(nodes=1, cells_per_stage=1)
    keras.utils.set_random_seed(2)
    supernet = MicroSupernet(space, filters=FILTERS, input_shape=(SIZE, SIZE, 3))
    optimizer = keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True)
    train_step = make_train_step(supernet, optimizer, batch_size=BATCH)
    eval_step = make_eval_step(supernet, batch_size=BATCH)
    rng = np.random.default_rng(5)
    archs = sorted({space.sample(rng) for _ in range(12)})[:6]
    assert len(archs) == 6
    for arch in archs:
        loss, acc = train_step(images, labels, supernet.arch_tensor(arch))
        assert np.isfinite(loss.numpy()) and 0.0 <= acc.numpy() <= 1.0
    a = supernet.arch_tensor(archs[0])
    losses = [float(train_step(images, labels, a)[0]) for _ in range(8)]
    assert losses[-1] < losses[0]
    assert train_step.experimental_get_tracing_count() == 1
    trainable = [v.numpy() for v in supernet.trainable_variables]
    for arch in archs[:3]:
        assert 0.0 <= eval_step(images, labels, supernet.arch_tensor(arch)).numpy() <= 1.0
    assert eval_step.experimental_get_tracing_count() == 1
    for before, v in zip(trainable, supernet.trainable_variables):
        np.testing.assert_array_equal(before, v.numpy())


def test_a_searched_cell_trains_in_a_bigger_network():
    from nases_tf.errors import ArchitectureError
    small, big = MicroSpace(nodes=3, cells_per_stage=1), MicroSpace(nodes=3, cells_per_stage=5)
    big.check_config(small.config(), "arch.json")  # N differs: the same cells
    with pytest.raises(ArchitectureError, match="was made for search space"):
        MicroSpace(nodes=4).check_config(small.config(), "arch.json")


def test_cli_micro_stage_all_on_natural_images(tmp_path, natural_npz):
    from cli_helpers import read_json, run
    out = tmp_path / "micro"
    done = run("--stage=all", "--space=micro", "--nodes=2", "--cells_per_stage=1",
               "--filters=8", "--batch_size=64", "--coder=mlp", "--pretrain_steps=50",
               "--search_epochs=1", "--controller_steps=2", "--samples_per_update=2",
               "--rescore_samples=2", "--final_epochs=1", "--verbose=0",
               f"--dataset=npz:{natural_npz}", f"--output_dir={out}")
    assert done.returncode == 0, done.stderr[-3000:]
    arch = read_json(out / "search" / "arch.json")
    assert arch["space"]["name"] == "micro" and "normal" in arch["architecture"]
    assert read_json(out / "final" / "results.json")["architecture"] == arch["architecture"]
