"""The supernet base and the macro weight-sharing supernet: equivalence with the standalone
model, gradients of untaken branches, one trace for all architectures, weight copies."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import (assert_copy_round_trip, assert_eval_changes_no_weight,
                     assert_trains_each_architecture, random_batch)

from nases_tf.networks import MacroSupernet, MicroSupernet, build_macro_model
from nases_tf.spaces import MacroSpace, MicroSpace

LAYERS, FILTERS, BATCH = 6, 8, 8  # reductions after layers 1 and 3


def _space():
    return MacroSpace(LAYERS)


@pytest.fixture(scope="module")
def supernet():
    keras.utils.set_random_seed(1)
    return MacroSupernet(_space(), filters=FILTERS)


@pytest.fixture(scope="module")
def batch():
    return random_batch(BATCH, 32)


def _cross_both_reductions():
    """Layer 5 adds layers 0 and 2 (reduced twice and once), layer 4 adds layer 1; layers
    3 and 5 have no projection-free ops, and every op type appears."""
    space = _space()
    return space.join([1, 4, 3, 2, 0, 1],
                      [[], [1], [0, 0], [1, 0, 1], [0, 1, 0, 0], [1, 0, 1, 0, 0]])


def _archs(n, seed):
    space = _space()
    rng = np.random.default_rng(seed)
    return [_cross_both_reductions()] + [space.sample(rng) for _ in range(n - 1)]


def _supernet_layer_weights(supernet, standalone):
    """(standalone variable, supernet variable) pairs, matched by layer name."""
    pairs = []
    for layer in standalone.layers:
        if layer.weights:
            theirs = supernet.get_layer(layer.name).weights
            assert len(theirs) == len(layer.weights)
            pairs.extend(zip(layer.weights, theirs))
    return pairs


def test_outputs_match_standalone_with_copied_weights(supernet, batch):
    images, _ = batch
    forward = {t: tf.function(lambda x, a, t=t: supernet((x, a), training=t))
               for t in (False, True)}
    for arch in _archs(4, seed=3):
        model = build_macro_model(_space(), arch, filters=FILTERS)
        supernet.copy_weights_to(model)
        a = supernet.arch_tensor(arch)
        for training in (False, True):
            want = model(images, training=training).numpy()
            got = forward[training](images, a).numpy()
            np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
        # training=True updated the BN moving statistics of the taken path alike
        for a_var, b_var in _supernet_layer_weights(supernet, model):
            np.testing.assert_allclose(a_var.numpy(), b_var.numpy(), atol=1e-5, rtol=1e-5)
    assert all(f.experimental_get_tracing_count() == 1 for f in forward.values())


def test_untaken_branches_get_exactly_zero_gradients(supernet, batch):
    images, labels = batch
    arch = _cross_both_reductions()
    model = build_macro_model(_space(), arch, filters=FILTERS)
    supernet.copy_weights_to(model)

    @tf.function
    def grads(x, y, a):
        with tf.GradientTape() as tape:
            logits = supernet((x, a), training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
        return tape.gradient(loss, supernet.trainable_variables)

    got = dict(zip((id(v) for v in supernet.trainable_variables),
                   grads(images, labels, supernet.arch_tensor(arch))))
    with tf.GradientTape() as tape:
        logits = model(images, training=True)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
    want = dict(zip((id(v) for v in model.trainable_variables),
                    tape.gradient(loss, model.trainable_variables)))
    taken = set()
    for a_var, b_var in _supernet_layer_weights(supernet, model):
        if a_var.trainable:
            taken.add(id(b_var))
            np.testing.assert_allclose(got[id(b_var)].numpy(), want[id(a_var)].numpy(),
                                       atol=1e-5, rtol=1e-4)
    untaken = [v for v in supernet.trainable_variables if id(v) not in taken]
    assert untaken and len(taken) + len(untaken) == len(supernet.trainable_variables)
    for v in untaken:
        assert not np.any(got[id(v)].numpy()), v.path


def test_one_trace_trains_every_architecture(batch):
    images, labels = batch
    space = _space()
    keras.utils.set_random_seed(2)
    supernet = MacroSupernet(space, filters=FILTERS)
    optimizer = keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True)
    train_step = supernet.make_train_step(optimizer, batch_size=BATCH)
    eval_step = supernet.make_eval_step()
    rng = np.random.default_rng(5)
    archs = {space.sample(rng) for _ in range(40)}
    archs = sorted(archs)[:20]
    assert len(archs) == 20
    assert_trains_each_architecture(train_step, supernet, batch, archs)
    assert train_step.experimental_get_tracing_count() == 1

    arch = supernet.arch_tensor(_cross_both_reductions())
    losses = [float(train_step(images, labels, arch)[0]) for _ in range(12)]
    assert losses[-1] < losses[0]
    assert train_step.experimental_get_tracing_count() == 1

    moving = [v.numpy() for v in supernet.non_trainable_variables]
    # evaluation uses batch statistics: it moves BN moving statistics, never a weight
    assert_eval_changes_no_weight(eval_step, supernet, batch, archs[:3])
    assert any(np.any(before != v.numpy())
               for before, v in zip(moving, supernet.non_trainable_variables))


def test_copy_weights_round_trip(supernet, batch):
    images, _ = batch
    space = _space()
    arch = _cross_both_reductions()
    model = build_macro_model(space, arch, filters=FILTERS)
    supernet.copy_weights_to(model)
    for a_var, b_var in _supernet_layer_weights(supernet, model):
        np.testing.assert_array_equal(a_var.numpy(), b_var.numpy())
    # change every weight of the standalone model (moving statistics included), copy it
    # into a fresh supernet and out again into another standalone model
    other, again = assert_copy_round_trip(
        supernet, model, lambda: build_macro_model(space, arch, filters=FILTERS))
    a = other.arch_tensor(arch)
    for training in (False, True):
        np.testing.assert_allclose(other((images, a), training=training).numpy(),
                                   again(images, training=training).numpy(),
                                   atol=1e-5, rtol=1e-5)


def test_copy_rejects_other_space(supernet):
    space = MacroSpace(3)
    model = build_macro_model(space, space.sample(np.random.default_rng(0)), filters=FILTERS)
    with pytest.raises(ValueError, match="built with other filters"):
        supernet.copy_weights_from(model)


# -- the base class ----------------------------------------------------------------------------


def test_a_supernet_checks_its_space_and_keeps_its_config(supernet):
    with pytest.raises(ValueError, match="MacroSupernet needs a macro space"):
        MacroSupernet(MicroSpace(nodes=1, cells_per_stage=1))
    with pytest.raises(ValueError, match="MicroSupernet needs a micro space"):
        MicroSupernet(MacroSpace(2))
    assert supernet.name == "macro_supernet"
    assert supernet.get_config() == {
        "name": "macro_supernet", "space": {"name": "macro", "layers": LAYERS},
        "filters": FILTERS, "num_classes": 10, "input_shape": [32, 32, 3],
        "weight_decay": 1e-4}
    arch = supernet.arch_tensor(_cross_both_reductions())
    assert arch.dtype == tf.int32 and arch.shape == (_space().num_decisions,)


def test_step_signature_fixes_what_the_search_feeds(supernet):
    images, labels, arch = supernet.step_signature(BATCH)
    assert images.shape == (BATCH, 32, 32, 3) and images.dtype == tf.float32
    assert labels.shape == (BATCH,) and labels.dtype == tf.int64
    assert arch.shape == (_space().num_decisions,) and arch.dtype == tf.int32
    assert supernet.step_signature()[0].shape == (None, 32, 32, 3)


def test_saved_supernet_reloads_to_same_outputs(supernet, batch, tmp_path):
    images, _ = batch
    path = str(tmp_path / "supernet.keras")
    supernet.save(path)
    again = keras.models.load_model(path)
    assert isinstance(again, MacroSupernet)
    a = supernet.arch_tensor(_cross_both_reductions())
    np.testing.assert_allclose(again((images, a), training=False).numpy(),
                               supernet((images, a), training=False).numpy(), atol=1e-6)
