"""How the controller's chains move: the paper's decoded chain, elitist and best modes."""

import numpy as np
import pytest

from nases_tf.embedding.chains import Chains
from nases_tf.embedding.controller import EmbeddingController

# Most tests here read conftest's pretrained ``small_coder``: one worker runs them all, so
# it is made once.
pytestmark = pytest.mark.xdist_group("small_coder")


def _chains(small_coder, mode, num_chains=3):
    _, coder, _, _ = small_coder
    controller = EmbeddingController(coder.simulator, coder.decoder, num_chains=num_chains,
                                     seed=4)
    return Chains(controller, mode)


def test_decoded_chain_moves_to_each_sample_at_once(small_coder):
    chains = _chains(small_coder, "decoded")
    before = chains.states().copy()
    states, embeddings, decoded = chains.propose_all()
    np.testing.assert_array_equal(states, before)
    np.testing.assert_allclose(chains.states(), np.clip(decoded, 0, 1))
    chains.observe(0, np.full(before.shape[1], 0.5), 1.0)  # rewards do not move it
    np.testing.assert_allclose(chains.states(), np.clip(decoded, 0, 1))


def test_elitist_chain_moves_only_to_a_candidate_at_least_as_good(small_coder):
    chains = _chains(small_coder, "elitist")
    start = chains.states().copy()
    chains.propose(1)
    np.testing.assert_array_equal(chains.states(), start)  # proposing does not move it
    m = start.shape[1]
    chains.observe(1, np.full(m, 0.25), 0.5)
    assert np.allclose(chains.states()[1], 0.25) and np.array_equal(chains.states()[0], start[0])
    chains.observe(1, np.full(m, 0.75), 0.4)  # worse: stays
    assert np.allclose(chains.states()[1], 0.25)
    chains.observe(1, np.full(m, 0.75), 0.5)  # as good: moves
    assert np.allclose(chains.states()[1], 0.75)
    chains.observe(1, np.full(m, 0.1), float("nan"))  # no reward: stays
    assert np.allclose(chains.states()[1], 0.75)


def test_best_mode_moves_every_chain_to_the_best_candidate(small_coder):
    chains = _chains(small_coder, "best")
    m = chains.states().shape[1]
    chains.observe(2, np.full(m, 0.3), 0.9)
    assert np.allclose(chains.states(), 0.3)
    chains.observe(0, np.full(m, 0.6), 0.8)
    assert np.allclose(chains.states(), 0.3)
    other = Chains(chains.controller, "best")
    other.set_state(chains.get_state())
    other.observe(0, np.full(m, 0.6), 0.8)  # the restored best reward still rules
    assert np.allclose(other.states(), 0.3)


def test_repeated_proposals_are_skipped_and_exhaustion_is_reported(small_coder):
    chains = _chains(small_coder, "decoded")
    calls = []

    def never_new(unit):
        calls.append(unit)
        return False

    assert chains.propose(0, never_new, max_collisions=4) is None and len(calls) == 5
    state, embedding, decoded = chains.propose(0, lambda unit: True)
    assert state.shape == decoded.shape and embedding.shape == (4,)


def test_unknown_mode_is_refused(small_coder):
    with pytest.raises(ValueError, match="chain mode 'greedy' is unknown"):
        _chains(small_coder, "greedy")


def test_nearest_unseen_changes_the_fewest_and_nearest_choices():
    from nases_tf.embedding.chains import nearest_unseen

    sizes = [5, 5, 0]
    decoded = np.array([0.31, 0.58, 0.77])  # choices 1 and 2; slot 3 continuous
    tried = {(1, 2)}

    def is_new(u):
        return (min(int(u[0] * 5), 4), min(int(u[1] * 5), 4)) not in tried

    first = nearest_unseen(decoded, sizes, is_new)
    assert np.allclose(first, [0.3, 0.7, 0.77])  # the own choices are tried: one change
    tried.update({(1, c) for c in range(5)} | {(c, 2) for c in range(5)})
    # every one-change point is tried: the nearest pair of changes is choices (2, 3)
    assert np.allclose(nearest_unseen(decoded, sizes, is_new), [0.5, 0.7, 0.77])
    tried.update({(a, b) for a in range(5) for b in range(5)})
    assert nearest_unseen(decoded, sizes, is_new) is None
