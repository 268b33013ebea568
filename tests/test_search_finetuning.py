"""Fine-tuning a path before its final score: it moves the path, then leaves the supernet
exactly as it was, and every candidate starts from the same state."""

import numpy as np
import pytest

from nases_tf.search.finetuning import PathFinetuner
from nases_tf.search.scoring import SupernetScorer
from helpers import tiny_macro_supernet

BATCH = 8


@pytest.fixture(scope="module")
def setting():
    return tiny_macro_supernet(4, BATCH)


def _values(supernet):
    return [v.numpy().copy() for v in supernet.variables]


def test_finetuning_moves_the_path_and_restore_puts_every_variable_back(setting):
    space, supernet, batches = setting
    finetuner = PathFinetuner(supernet, lambda: iter(batches), steps=3, learning_rate=0.05,
                              batch_size=BATCH)
    before = _values(supernet)
    arch = space.join([1, 2], [[], [1]])
    finetuner.finetune(arch)
    after = _values(supernet)
    assert sum(not np.array_equal(a, b) for a, b in zip(before, after)) > 0
    finetuner.restore()
    for a, b in zip(before, _values(supernet)):
        np.testing.assert_array_equal(a, b)


def test_every_candidate_starts_from_the_same_state(setting):
    space, supernet, batches = setting
    finetuner = PathFinetuner(supernet, lambda: iter(batches), steps=2, learning_rate=0.05,
                              batch_size=BATCH)
    arch, other = space.join([1, 2], [[], [1]]), space.join([0, 4], [[], [0]])
    first = finetuner.finetune(arch)
    first_weights = _values(supernet)
    finetuner.restore()
    finetuner.finetune(other)  # moves the optimizer's slots and iterations
    finetuner.restore()
    assert finetuner.finetune(arch) == pytest.approx(first, rel=1e-6)
    for a, b in zip(first_weights, _values(supernet)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    finetuner.restore()


def test_the_scorer_scores_the_finetuned_path_and_leaves_the_supernet(setting):
    space, supernet, batches = setting
    arch = space.join([1, 2], [[], [1]])
    finetuner = PathFinetuner(supernet, lambda: iter(batches[:2]), steps=2,
                              learning_rate=0.05, batch_size=BATCH)
    tuned = SupernetScorer(supernet, batches[2:], batches[:1], BATCH, bn_batches=1,
                           finetuner=finetuner)
    plain = SupernetScorer(supernet, batches[2:], batches[:1], BATCH, bn_batches=1)
    before = _values(supernet)
    reward = tuned.full_reward(arch)
    for a, b in zip(before, _values(supernet)):
        np.testing.assert_array_equal(a, b)
    finetuner.finetune(arch)
    expected = plain.full_reward(arch)
    finetuner.restore()
    assert reward == pytest.approx(expected)
    # controller rewards are never fine-tuned
    assert tuned.minibatch_reward(arch, 0) == pytest.approx(plain.minibatch_reward(arch, 0))


def test_bad_settings_are_refused(setting):
    _, supernet, batches = setting
    with pytest.raises(ValueError, match="at least one step"):
        PathFinetuner(supernet, lambda: iter(batches), 0, 0.05, BATCH)
    with pytest.raises(ValueError, match="learning rate must be positive"):
        PathFinetuner(supernet, lambda: iter(batches), 2, 0.0, BATCH)
