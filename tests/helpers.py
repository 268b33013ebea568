"""Helpers shared by the tests of the networks and supernets."""

import numpy as np
import tensorflow as tf


def random_batch(batch_size, size, seed=0):
    """A fixed batch: float32 images ``(batch_size, size, size, 3)`` and int64 labels."""
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(batch_size, size, size, 3)).astype("float32")
    labels = rng.integers(0, 10, size=batch_size).astype("int64")
    return images, labels


def tiny_macro_supernet(batches, batch_size):
    """A seeded 2-layer macro space, its F=4 supernet, and ``batches`` fixed random batches
    of ``batch_size`` (as tensors) for scoring and fine-tuning tests."""
    import keras

    from nases_tf.networks import MacroSupernet
    from nases_tf.spaces import MacroSpace

    keras.utils.set_random_seed(0)
    space = MacroSpace(2)
    supernet = MacroSupernet(space, filters=4)
    rng = np.random.default_rng(0)
    return space, supernet, [
        (tf.constant(rng.normal(size=(batch_size, 32, 32, 3)).astype("float32")),
         tf.constant(rng.integers(0, 10, batch_size).astype("int64")))
        for _ in range(batches)]


def assert_max_pool_matches_tensorflow(layer, x, strides):
    """``layer`` (a max-pool op) equals ``tf.nn.max_pool2d``, forward and backward."""
    xt = tf.constant(x)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(xt)
        mine = layer(xt)
        ref = tf.nn.max_pool2d(xt, 3, strides, "SAME")
    np.testing.assert_array_equal(mine.numpy(), ref.numpy())
    np.testing.assert_allclose(tape.gradient(mine, xt).numpy(), tape.gradient(ref, xt).numpy())


def assert_copy_round_trip(supernet, model, rebuild):
    """Changes every weight of the standalone ``model`` (moving statistics included), copies
    it into a fresh supernet of ``supernet``'s config and out again into ``rebuild()``, and
    checks that every weight came back. Returns ``(fresh supernet, rebuilt model)``."""
    rng = np.random.default_rng(9)
    for v in model.weights:
        v.assign(v.numpy() + rng.uniform(0.1, 0.2, size=v.shape).astype("float32"))
    other = type(supernet).from_config(supernet.get_config())
    assert len(other.weights) == len(supernet.weights)
    other.copy_weights_from(model)
    again = rebuild()
    other.copy_weights_to(again)
    for a_var, b_var in zip(model.weights, again.weights):
        np.testing.assert_array_equal(a_var.numpy(), b_var.numpy())
    return other, again


def assert_trains_each_architecture(train_step, supernet, batch, archs):
    """One step of ``train_step`` on each architecture gives a finite loss and an accuracy."""
    images, labels = batch
    for arch in archs:
        loss, acc = train_step(images, labels, supernet.arch_tensor(arch))
        assert np.isfinite(loss.numpy()) and 0.0 <= acc.numpy() <= 1.0


def assert_eval_changes_no_weight(eval_step, supernet, batch, archs):
    """``eval_step`` gives an accuracy on each architecture, traced once, and leaves every
    trainable weight as it was."""
    images, labels = batch
    trainable = [v.numpy() for v in supernet.trainable_variables]
    for arch in archs:
        acc = eval_step(images, labels, supernet.arch_tensor(arch))
        assert acc.dtype == tf.float32 and acc.shape == () and 0.0 <= acc.numpy() <= 1.0
    assert eval_step.experimental_get_tracing_count() == 1
    for before, v in zip(trainable, supernet.trainable_variables):
        np.testing.assert_array_equal(before, v.numpy())
