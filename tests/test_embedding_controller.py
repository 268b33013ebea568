"""Stage 2's controller: a Gaussian policy in the embedding space, trained by REINFORCE."""

import json

import numpy as np
import pytest

from nases_tf.embedding.controller import EmbeddingController

# Most tests here read conftest's pretrained ``small_coder``: one worker runs them all, so
# it is made once.
pytestmark = pytest.mark.xdist_group("small_coder")


def _synthetic_reward(space, target):
    def reward(units):
        return (space.decode_batch(units) == target).mean(axis=1)
    return reward


def test_controller_starts_from_the_simulator_and_raises_a_synthetic_reward(small_coder):
    space, coder, _, _ = small_coder
    ctl = EmbeddingController(coder.simulator, coder.decoder, num_chains=8, seed=3,
                              learning_rate=3e-3)
    for a, b in zip(ctl.policy.get_weights(), coder.simulator.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert ctl.policy is not coder.simulator
    target = np.array(space.sample(np.random.default_rng(11)))
    reward = _synthetic_reward(space, target)
    means = []
    for _ in range(300):
        states = ctl.chains.numpy()
        embeddings, decoded = ctl.sample()
        r = reward(decoded)
        ctl.update(states, embeddings, r)
        ctl.advance(decoded)
        means.append(r.mean())
    assert np.mean(means[-50:]) > np.mean(means[:50]) + 0.1
    # the decoder is frozen: the pretrained coder is untouched by REINFORCE
    np.testing.assert_array_equal(ctl.decoder.get_weights()[0], coder.decoder.get_weights()[0])


def test_non_finite_rewards_never_enter_the_update(small_coder):
    space, coder, _, _ = small_coder
    ctl = EmbeddingController(coder.simulator, coder.decoder, num_chains=4, seed=0)
    states = ctl.chains.numpy()
    embeddings, _ = ctl.sample()
    before = [w.copy() for w in ctl.policy.get_weights()]
    info = ctl.update(states, embeddings, [np.nan, np.inf, -np.inf, np.nan])
    assert info["skipped"] == 4 and not info["applied"]
    assert float(ctl.baseline.numpy()) == 0.0 and float(ctl.baseline_ready.numpy()) == 0.0
    for a, b in zip(before, ctl.policy.get_weights()):
        np.testing.assert_array_equal(a, b)
    info = ctl.update(states, embeddings, [0.2, np.nan, 0.6, 0.4])
    assert info["skipped"] == 1 and info["applied"]
    assert float(ctl.baseline.numpy()) == pytest.approx(0.4)  # mean of the finite rewards


def test_controller_state_round_trips_through_json(small_coder):
    space, coder, _, _ = small_coder
    ctl = EmbeddingController(coder.simulator, coder.decoder, num_chains=4, seed=5)
    for _ in range(3):
        states = ctl.chains.numpy()
        e, d = ctl.sample()
        ctl.update(states, e, np.random.default_rng(0).random(4))
        ctl.advance(d)
    state = json.loads(json.dumps(ctl.get_state()))
    other = EmbeddingController(coder.simulator, coder.decoder, num_chains=4, seed=99)
    other.set_state(state)
    np.testing.assert_array_equal(other.chains.numpy(), ctl.chains.numpy())
    e1, d1 = ctl.sample()
    e2, d2 = other.sample()
    np.testing.assert_allclose(e1, e2, atol=1e-6)
    r = np.array([0.1, 0.9, 0.5, 0.3])
    ctl.update(ctl.chains.numpy(), e1, r)
    other.update(other.chains.numpy(), e2, r)
    np.testing.assert_allclose(ctl.log_sigma.numpy(), other.log_sigma.numpy(), atol=1e-6)
