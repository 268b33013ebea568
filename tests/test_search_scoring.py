"""Scoring on shared weights: batch-norm re-estimation and reward batches."""

import numpy as np
import pytest
import tensorflow as tf

from nases_tf.search.scoring import SupernetScorer, _batch_norm_layers
from helpers import tiny_macro_supernet

BATCH = 8


@pytest.fixture(scope="module")
def setting():
    space, supernet, batches = tiny_macro_supernet(3, BATCH)
    return space, supernet, batches, space.join([1, 2], [[], [1]])


def _moving_means(supernet):
    return [layer.moving_mean.numpy().copy() for layer in _batch_norm_layers(supernet)]


def test_reestimated_statistics_are_the_calibration_batches_mean(setting):
    space, supernet, batches, arch = setting
    means = []
    for calibration in ([batches[0]], [batches[1]], batches[:2]):
        scorer = SupernetScorer(supernet, batches[2:], calibration, BATCH, bn_batches=len(
            calibration))
        before = _moving_means(supernet)
        scorer.reestimate_batch_norm(arch)
        means.append(_moving_means(supernet))
        assert any(not np.allclose(a, b) for a, b in zip(before, means[-1]))
        assert all(layer.momentum == 0.9 for layer in _batch_norm_layers(supernet))
    for one, two, both in zip(*means):
        np.testing.assert_allclose(both, (one + two) / 2, rtol=1e-4, atol=1e-6)


def test_after_reestimation_inference_matches_batch_statistics_on_that_batch(setting):
    space, supernet, batches, arch = setting
    images, _ = batches[0]
    scorer = SupernetScorer(supernet, batches[:1], batches[:1], BATCH, bn_batches=1)
    scorer.reestimate_batch_norm(arch)
    arch_t = tf.constant(arch, tf.int32)
    np.testing.assert_allclose(supernet((images, arch_t), training=False).numpy(),
                               supernet((images, arch_t), training=True).numpy(),
                               rtol=1e-3, atol=1e-4)
    # off-path ops keep their statistics
    off = supernet._op_layer(1, 1).sep.bn  # sep_conv_3x3 of layer 1; the arch takes 5x5
    held = off.moving_mean.numpy().copy()
    scorer.reestimate_batch_norm(arch)
    np.testing.assert_array_equal(off.moving_mean.numpy(), held)


def test_reward_batches_average_consecutive_validation_batches(setting):
    space, supernet, batches, arch = setting
    one = SupernetScorer(supernet, batches, [], BATCH, reward_batches=1)
    every = SupernetScorer(supernet, batches, [], BATCH, reward_batches=0)
    singles = [one.minibatch_reward(arch, k) for k in range(3)]
    assert every.minibatch_reward(arch, 5) == pytest.approx(np.mean(singles), abs=1e-6)
    assert every.full_reward(arch) == pytest.approx(np.mean(singles), abs=1e-6)
    two = SupernetScorer(supernet, batches, [], BATCH, reward_batches=2)
    assert two.minibatch_reward(arch, 1) == pytest.approx(np.mean(singles[2:] + singles[:1]),
                                                          abs=1e-6)
