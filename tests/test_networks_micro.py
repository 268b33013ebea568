"""The standalone network of the ENAS micro (cell) space: cells, strides, saving, size."""

import keras
import numpy as np

from nases_tf.networks import build_micro_model, build_network, count_params
from nases_tf.spaces import MicroSpace


def test_random_cells_build_and_run_forward():
    space = MicroSpace(nodes=3, cells_per_stage=1)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 32, 32, 3)).astype("float32")
    for _ in range(2):
        arch = space.sample(rng)
        model = build_network(space, arch, filters=8, num_classes=10)
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
    # the paper reports 4.7M for N=5, B=5, F=40 (its searched cells); these cells, all
    # separable 3x3 convolutions, have exactly this many
    assert 2_000_000 < count_params(model) < 8_000_000
    assert count_params(model) == 5_737_330
    kernels = [w for w in model.trainable_weights if "kernel" in w.path]
    assert len(model.losses) == len(kernels) > 0
