"""The SGDR schedule of paper 4.2."""

import numpy as np
import pytest

from nases_tf.training import sgdr


def test_cycle_lengths_add_up_to_the_papers_epochs():
    assert sgdr.sgdr_epochs(3) == 70
    assert sgdr.sgdr_epochs(6) == 630


@pytest.mark.parametrize("steps_per_epoch", [1, 352])
def test_learning_rate_restarts_at_epochs_0_10_30_70(steps_per_epoch):
    lr = sgdr.sgdr(steps_per_epoch)
    at = lambda epoch: float(lr(int(round(epoch * steps_per_epoch))))  # noqa: E731
    for boundary in (0, 10, 30, 70, 150, 310):
        assert at(boundary) == pytest.approx(0.05)
    for end in (10, 30, 70):
        assert at(end - 1 / steps_per_epoch) == pytest.approx(0.001, abs=2e-3 if steps_per_epoch == 1 else 1e-5)
    # half way through the second cycle (epochs 10..30) the cosine is at its midpoint
    assert at(20) == pytest.approx(0.001 + 0.5 * (0.05 - 0.001), rel=1e-5)
    values = [at(e) for e in np.arange(10, 30, 1.0)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_child_optimizer_is_nesterov_sgd_on_sgdr():
    opt = sgdr.child_optimizer(100)
    assert opt.nesterov and opt.momentum == pytest.approx(0.9)
    assert float(opt.learning_rate) == pytest.approx(0.05)
