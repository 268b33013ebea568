"""The layers of the networks: candidate ops of both spaces, the custom-gradient max pool,
and loading models nases_tf saved."""

import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import assert_max_pool_matches_tensorflow

from nases_tf.networks import build_network
from nases_tf.networks.layers import OPS, CandidateOp, max_pool_3x3
from nases_tf.spaces import MACRO_OPS, MICRO_OPS, MacroSpace, MicroSpace

DATA = pathlib.Path(__file__).resolve().parent / "data"


def test_both_spaces_index_the_layers_ops():
    assert MACRO_OPS == OPS == MICRO_OPS


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("project", [False, True])
def test_every_macro_op_keeps_shape_and_runs(op, project):
    layer = CandidateOp(op, 8, project=project)
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
        assert_max_pool_matches_tensorflow(layer, x, 1)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("strides", [1, 2])
def test_every_micro_op_runs_with_both_strides(op, strides):
    layer = CandidateOp(op, 8, strides=strides, separable_repeats=2)
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 8)).astype("float32")
    y = layer(x, training=True)
    assert tuple(y.shape) == (2, 8 // strides, 8 // strides, 8)
    assert np.all(np.isfinite(np.asarray(y)))
    assert bool(layer.trainable_weights) == (op.startswith("sep") or
                                             (op == "identity" and strides == 2))
    if op == "identity" and strides == 1:
        np.testing.assert_array_equal(np.asarray(y), x)
    if op == "max_pool_3x3":
        assert_max_pool_matches_tensorflow(layer, x, strides)


def test_separable_convolution_blocks():
    macro = CandidateOp("sep_conv_5x5", 4, project=True)
    micro = CandidateOp("sep_conv_3x3", 4, strides=2, separable_repeats=2)
    x = np.zeros((1, 8, 8, 4), "float32")
    macro(x), micro(x)
    assert [b.name for b in macro._blocks()] == ["proj", "sep"]
    assert (macro.proj.kernel_size, macro.sep.kernel_size) == (1, 5)
    assert [b.name for b in micro._blocks()] == ["sep1", "sep2"]
    assert (micro.sep1.strides, micro.sep2.strides) == (2, 1)
    with pytest.raises(ValueError, match="conv_7x7"):
        CandidateOp("conv_7x7", 4)
    with pytest.raises(ValueError, match="strides"):
        CandidateOp("identity", 4, strides=3)


def test_config_round_trip():
    layer = CandidateOp("sep_conv_3x3", 4, strides=2, project=True, separable_repeats=2,
                        weight_decay=0.0, name="op")
    again = CandidateOp.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()


def test_max_pool_inside_a_switch_branch():
    x = tf.constant(np.random.default_rng(1).normal(size=(2, 9, 9, 3)).astype("float32"))
    for strides in (1, 2):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.switch_case(tf.constant(1), [lambda: x * 0.0,
                                                lambda s=strides: max_pool_3x3(x, s)])
        with tf.GradientTape() as ref_tape:
            ref_tape.watch(x)
            ref = tf.nn.max_pool2d(x, 3, strides, "SAME")
        np.testing.assert_array_equal(y.numpy(), ref.numpy())
        np.testing.assert_array_equal(tape.gradient(y, x).numpy(),
                                      ref_tape.gradient(ref, x).numpy())


@pytest.mark.parametrize("space", ["macro", "micro"])
def test_saved_models_load_and_predict_what_they_did(space, tmp_path):
    """``tests/data/saved_*_child.keras`` and their predictions in ``saved_predictions.npz``
    were written by ``tests/data/make_saved_children.py``:

    - macro: ``MacroSpace(2)``, ops ``[sep_conv_3x3, sep_conv_5x5]`` with the skip 0 -> 1,
      F=4, 16x16 inputs;
    - micro: ``MicroSpace(nodes=2, cells_per_stage=1)``, every op, F=4, 16x16 inputs;

    both with their BN moving statistics moved off their initial values.
    """
    saved = np.load(DATA / "saved_predictions.npz")
    model = keras.models.load_model(DATA / f"saved_{space}_child.keras")
    np.testing.assert_allclose(model(saved["x"], training=False).numpy(), saved[space],
                               atol=1e-6, rtol=1e-6)
    # today's builder makes the same network: the saved weights give the saved predictions
    built_space = MacroSpace(2) if space == "macro" else MicroSpace(nodes=2, cells_per_stage=1)
    rebuilt = build_network(built_space, saved[f"{space}_arch"].tolist(), filters=4,
                            input_shape=(16, 16, 3))
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in model.weights]
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(rebuilt(saved["x"], training=False).numpy(), saved[space],
                               atol=1e-6, rtol=1e-6)
    # a loaded model saves and loads again
    path = tmp_path / "again.keras"
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(again(saved["x"], training=False).numpy(), saved[space],
                               atol=1e-6, rtol=1e-6)
