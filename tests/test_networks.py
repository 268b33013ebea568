"""Standalone macro child networks: ops, shapes, parameter counts, saving."""

import keras
import numpy as np
import pytest

from nases_tf import ops
from nases_tf.networks import build_macro_model, count_params
from nases_tf.spaces import MACRO_OPS, MacroSpace


@pytest.mark.parametrize("op", MACRO_OPS)
@pytest.mark.parametrize("project", [False, True])
def test_every_op_keeps_shape_and_runs(op, project):
    layer = ops.MacroOp(op, 8, project=project)
    x = np.random.default_rng(0).normal(size=(2, 16, 16, 8)).astype("float32")
    y = layer(x, training=True)
    assert tuple(y.shape) == x.shape
    assert np.all(np.isfinite(np.asarray(y)))
    convs = op.startswith("sep_conv")
    assert bool(layer.trainable_weights) == convs
    if op == "identity":
        np.testing.assert_array_equal(np.asarray(y), x)
    if op == "max_pool_3x3":
        # the custom-gradient max pool equals TensorFlow's own, forward and backward
        import tensorflow as tf
        xt = tf.constant(x)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(xt)
            mine = layer(xt)
            ref = tf.nn.max_pool2d(xt, 3, 1, "SAME")
        np.testing.assert_array_equal(mine.numpy(), ref.numpy())
        np.testing.assert_allclose(tape.gradient(mine, xt).numpy(),
                                   tape.gradient(ref, xt).numpy())


def test_random_architecture_builds_and_runs_forward():
    space = MacroSpace(15)
    arch = space.sample(np.random.default_rng(7))
    model = build_macro_model(space, arch, filters=8, num_classes=10)
    out = model(np.zeros((3, 32, 32, 3), "float32"), training=False)
    assert out.shape == (3, 10)
    # two reductions: 32 -> 16 -> 8, channels 8 -> 16 -> 32
    assert model.get_layer("head").input.shape[1:] == (8, 8, 32)


def test_parameter_count_matches_hand_count():
    space = MacroSpace(1)
    model = build_macro_model(space, [1], filters=4, num_classes=10)
    # stem 3*3*3*4 + BN 8; sep 3x3 without projection: 3*3*4 + 4*4 + BN 8; dense 4*10 + 10
    assert count_params(model) == 108 + 8 + 36 + 16 + 8 + 50

    space = MacroSpace(2)  # reduction after layer 0: 4 -> 8 channels
    arch = space.join([1, 2], [[], [1]])
    model = build_macro_model(space, arch, filters=4, num_classes=10)
    stem, layer0 = 108 + 8, 36 + 16 + 8
    reduction = 4 * 4 + 4 * 4 + 16
    layer1 = (8 * 8 + 16) + (25 * 8 + 8 * 8 + 16)  # 1x1 projection, then sep 5x5
    head = 8 * 10 + 10
    assert count_params(model) == stem + layer0 + reduction + layer1 + head


def test_l2_weight_decay_and_he_init_on_every_kernel():
    space = MacroSpace(3)
    arch = space.join([1, 2, 0], [[], [1], [1, 1]])
    model = build_macro_model(space, arch, filters=4)
    kernels = [w for w in model.trainable_weights if "kernel" in w.path]
    assert len(model.losses) == len(kernels) > 0
    conv = model.get_layer("layer1_sep_conv_5x5").proj.conv
    assert conv.kernel_initializer.__class__.__name__ == "HeNormal"


def test_saved_model_reloads_to_same_outputs(tmp_path):
    space = MacroSpace(6)
    arch = space.sample(np.random.default_rng(2))
    model = build_macro_model(space, arch, filters=8)
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
    path = str(tmp_path / "model.keras")
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(again(x)), atol=1e-6)
