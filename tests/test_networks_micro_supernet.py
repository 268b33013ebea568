"""The micro weight-sharing supernet: equivalence with the standalone model, weight copies
through the cell outputs' kernel rows, one trace for all architectures."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import (assert_copy_round_trip, assert_eval_changes_no_weight,
                     assert_trains_each_architecture, random_batch)

from nases_tf.networks import MicroSupernet, build_micro_model, make_train_step
from nases_tf.networks.layers import CellOutput
from nases_tf.networks.segmented_steps import fused_sgd_applies
from nases_tf.spaces import MicroSpace
from nases_tf.training.sgdr import child_optimizer

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
    """A seeded supernet of ``_small_space()``. The tests that run it share an xdist group:
    the segment functions one traces serve the others."""
    keras.utils.set_random_seed(1)
    return MicroSupernet(_small_space(), filters=FILTERS, input_shape=(SIZE, SIZE, 3))


@pytest.fixture(scope="module")
def batch():
    return random_batch(BATCH, SIZE)


def _standalone(arch):
    return build_micro_model(_small_space(), arch, filters=FILTERS, input_shape=(SIZE, SIZE, 3))


@pytest.fixture(scope="module")
def one_node():
    """A seeded supernet of one node per cell, which keeps the trace of the gradient short
    (about 15 s on 2 cores), and a function that puts back its initial weights and moving
    statistics: (space, supernet, reset). The segment functions it traces serve every train
    step made on it, so the tests that train it share an xdist group."""
    space = MicroSpace(nodes=1, cells_per_stage=1)
    keras.utils.set_random_seed(2)
    supernet = MicroSupernet(space, filters=FILTERS, input_shape=(SIZE, SIZE, 3))
    variables = supernet.trainable_variables + supernet.moving_variables()
    start = [v.numpy() for v in variables]

    def reset():
        for variable, value in zip(variables, start):
            variable.assign(value)

    return space, supernet, reset


@pytest.mark.xdist_group("micro_supernet")
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
    other, again = assert_copy_round_trip(supernet, _standalone(arch),
                                          lambda: _standalone(arch))
    np.testing.assert_allclose(other((images, other.arch_tensor(arch)), training=False).numpy(),
                               again(images, training=False).numpy(), atol=1e-5, rtol=1e-5)
    # a cell output's kernel went into the rows of its loose nodes only
    full = other.get_layer("cell0_out")
    assert isinstance(full, CellOutput) and full.nodes == (2, 3)
    rng = np.random.default_rng(9)
    with pytest.raises(ValueError, match=r"cell0_out.: nodes .* not in"):
        other.copy_weights_from(build_micro_model(MicroSpace(3, 1), MicroSpace(3, 1).sample(rng),
                                                  filters=FILTERS, input_shape=(SIZE, SIZE, 3)))


@pytest.mark.xdist_group("one_node_supernet")
def test_one_trace_trains_every_architecture(one_node, batch):
    images, labels = batch
    space, supernet, reset = one_node
    reset()
    optimizer = keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True)
    train_step = supernet.make_train_step(optimizer, batch_size=BATCH)
    eval_step = supernet.make_eval_step(batch_size=BATCH)
    rng = np.random.default_rng(5)
    archs = sorted({space.sample(rng) for _ in range(12)})[:6]
    assert len(archs) == 6
    assert_trains_each_architecture(train_step, supernet, batch, archs)
    a = supernet.arch_tensor(archs[0])
    losses = [float(train_step(images, labels, a)[0]) for _ in range(8)]
    assert losses[-1] < losses[0]
    assert train_step.experimental_get_tracing_count() == 1
    assert_eval_changes_no_weight(eval_step, supernet, batch, archs[:3])


def test_cells_of_a_stage_share_one_traced_function_and_keep_their_own_weights(batch):
    # N=2: the second normal cell of each stage runs the function of the first
    images, _ = batch
    space = MicroSpace(nodes=SUPER_NODES, cells_per_stage=2)
    keras.utils.set_random_seed(3)
    supernet = MicroSupernet(space, filters=FILTERS, input_shape=(SIZE, SIZE, 3))
    forward = tf.function(lambda x, a: supernet((x, a), training=True))
    arch = space.sample(np.random.default_rng(4))
    model = build_micro_model(space, arch, filters=FILTERS, input_shape=(SIZE, SIZE, 3))
    supernet.copy_weights_to(model)
    np.testing.assert_allclose(forward(images, supernet.arch_tensor(arch)).numpy(),
                               model(images, training=True).numpy(), atol=1e-5, rtol=1e-5)
    check = build_micro_model(space, arch, filters=FILTERS, input_shape=(SIZE, SIZE, 3))
    supernet.copy_weights_to(check)
    for a_var, b_var in zip(model.weights, check.weights):
        np.testing.assert_allclose(a_var.numpy(), b_var.numpy(), atol=1e-5, rtol=1e-5)
    segments = supernet._segments.value
    cell_templates = {key[0] for key in supernet._functions.value
                      if segments[key[0]].tag[0] in ("normal", "reduction")}
    # one function per cell kind and width: three normal, two reduction
    assert len(cell_templates) == 5 and len(supernet._plan) == 8


@pytest.mark.slow
@pytest.mark.xdist_group("micro_supernet")
def test_segmented_train_step_updates_the_path_as_the_standalone_network_is_trained(
        supernet, batch):
    # a plain SGD step from the same weights: the path's gradients (weight decay included)
    # and BN statistics equal the standalone network's
    images, labels = batch
    step = supernet.make_train_step(keras.optimizers.SGD(0.1), batch_size=BATCH)
    for arch in _archs()[:2]:
        model = _standalone(arch)
        supernet.copy_weights_to(model)
        make_train_step(model, keras.optimizers.SGD(0.1))(images, labels)
        loss, acc = step(images, labels, supernet.arch_tensor(arch))
        assert np.isfinite(loss.numpy()) and 0.0 <= acc.numpy() <= 1.0
        got = _standalone(arch)
        supernet.copy_weights_to(got)
        for a_var, b_var in zip(model.weights, got.weights):
            np.testing.assert_allclose(a_var.numpy(), b_var.numpy(), atol=1e-5, rtol=1e-4)
    assert step.experimental_get_tracing_count() == 1


@pytest.mark.slow
@pytest.mark.xdist_group("one_node_supernet")
def test_fused_sgd_update_matches_the_optimizers_apply(one_node, batch):
    # the search's optimizer (Nesterov SGD on the SGDR schedule, a cycle of a few steps so
    # the learning rate changes every step): the same weights, momentum slots and
    # iterations as Keras' own update
    images, labels = batch
    space, supernet, reset = one_node
    archs = [supernet.arch_tensor(space.sample(np.random.default_rng(s))) for s in range(4)]
    results = []
    for fuse in (True, False):
        reset()
        optimizer = child_optimizer(steps_per_epoch=1, first_cycle_epochs=3)
        step = supernet.make_train_step(optimizer, batch_size=BATCH)
        assert step.fuse_sgd
        step.fuse_sgd = fuse
        losses = [float(step(images, labels, a)[0]) for a in archs]
        results.append((losses, [v.numpy() for v in supernet.trainable_variables],
                        [m.numpy() for m in optimizer.momentums], int(optimizer.iterations)))
    (fused_losses, fused, fused_slots, fused_it), (losses, weights, slots, it) = results
    assert fused_it == it == len(archs)
    np.testing.assert_allclose(fused_losses, losses, rtol=1e-6)
    for a, b in zip(fused + fused_slots, weights + slots):
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=1e-6)
    assert any(np.abs(s).max() > 0 for s in fused_slots)


def test_fused_sgd_only_for_a_plain_momentum_sgd():
    variables = [keras.Variable(np.zeros(2, np.float32))]
    assert fused_sgd_applies(keras.optimizers.SGD(0.1, momentum=0.9), variables)
    for other in (keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1, 0.9, clipnorm=1.0),
                  keras.optimizers.SGD(0.1, 0.9, weight_decay=1e-4),
                  keras.optimizers.SGD(0.1, 0.9, use_ema=True),
                  keras.optimizers.SGD(0.1, 0.9, gradient_accumulation_steps=2),
                  keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1, 0.9)),
                  keras.optimizers.Adam()):
        assert not fused_sgd_applies(other, variables)
    variables[0].constraint = keras.constraints.NonNeg()
    assert not fused_sgd_applies(keras.optimizers.SGD(0.1, momentum=0.9), variables)


@pytest.mark.xdist_group("micro_supernet")
def test_a_momentum_swapped_for_a_variable_is_read_by_the_traced_functions(supernet, batch):
    # BN re-estimation (search.scoring) sets every BN layer's momentum to a variable
    images, _ = batch
    arch = supernet.arch_tensor(_archs()[0])
    forward = tf.function(lambda x, a: supernet((x, a), training=True))
    forward(images, arch)
    layers = [layer for layer in supernet._flatten_layers(include_self=False, recursive=True)
              if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [layer.momentum for layer in layers]
    momentum = tf.Variable(0.0, trainable=False)
    try:
        for layer in layers:
            layer.momentum = momentum
        tf.function(lambda x, a: supernet((x, a), training=True))(images, arch)
    finally:
        for layer, value in zip(layers, saved):
            layer.momentum = value
    stem_conv, stem_bn = supernet.stem.layers
    batch_mean = tf.reduce_mean(stem_conv(images), axis=[0, 1, 2])
    np.testing.assert_allclose(stem_bn.moving_mean.numpy(), batch_mean.numpy(), atol=1e-5)
