"""nases_tf.embedding.proposals: the trust-region proposer shared by the Oracle and benchmarks."""

import json

import numpy as np
import pytest

from conftest import NB201_CSV
from nases_tf.embedding.predictor import shrunk_means
from nases_tf.embedding.proposals import (Proposer, RewardPredictor, TrustRegion,
                                          expected_improvement, normal_scores)

NB201_SIZES = [5] * 6


def choices(point, sizes):
    return tuple(min(int(v * k), k - 1) if k else round(v, 9) for v, k in zip(point, sizes))


def hamming(a, b):
    return sum(x != y for x, y in zip(a, b))


def toy_reward(point):
    """Higher when more discrete slots sit at their last choice (a smooth landscape)."""
    return float(np.sum(point))


def noisy_toy_reward(point, rng):
    """``toy_reward`` plus noise as large as the rewards' own spread (one training run)."""
    return toy_reward(point) + rng.normal(0.0, 0.7)


def run(proposer, reward, count):
    points = []
    for _ in range(count):
        p = proposer.propose()
        if p is None:
            break
        points.append(p)
        proposer.observe(p, reward(p))
    return points


@pytest.mark.parametrize("learning", [True, False])
def test_never_proposes_a_point_twice(learning):
    sizes = [3, 3, 2]  # 18 points in all
    proposer = Proposer(sizes, learning=learning, initial_points=3, seed=1, confirm_every=0)
    points = run(proposer, toy_reward, 30)
    keys = [choices(p, sizes) for p in points]
    assert len(keys) == 18 and len(set(keys)) == 18
    assert proposer.propose() is None


@pytest.mark.parametrize("learning", [True, False])
def test_proposals_stay_in_the_one_edit_regions_of_the_anchors(learning):
    proposer = Proposer(NB201_SIZES, initial_points=5, seed=3, learning=learning,
                        confirm_every=0)
    for _ in range(5):
        proposer.observe(proposer.propose(), 0.0)
    for _ in range(40):
        ranked = [i for i in proposer.ranked() if i != proposer.incumbent]
        anchors = [choices(proposer.points[i], NB201_SIZES)
                   for i in [proposer.incumbent] + ranked[:proposer.anchors - 1]]
        restarts = proposer.restarts
        p = proposer.propose()
        if proposer.restarts == restarts:
            assert min(hamming(choices(p, NB201_SIZES), a) for a in anchors) == 1
        proposer.observe(p, toy_reward(p))


def test_restarts_when_the_region_is_exhausted():
    # only the first point scores: the incumbent stays while its 24 neighbours are tried
    proposer = Proposer(NB201_SIZES, initial_points=1, learning=False, anchors=1, seed=0)
    first = proposer.propose()
    proposer.observe(first, 1.0)
    anchor = choices(first, NB201_SIZES)
    for _ in range(24):
        p = proposer.propose()
        assert hamming(choices(p, NB201_SIZES), anchor) == 1
        proposer.observe(p, 0.0)
    assert proposer.restarts == 0
    p = proposer.propose()
    assert proposer.restarts == 1
    assert p is not None and choices(p, NB201_SIZES) != anchor


def test_region_grows_after_successes_and_shrinks_after_failures():
    region = TrustRegion(radius=1, max_radius=3, step=0.2, success_tolerance=2,
                         failure_tolerance=2)
    region.record(True)
    region.record(True)
    assert (region.radius, region.step) == (2, 0.4)
    region.record(False)
    region.record(False)
    assert (region.radius, region.step) == (1, 0.2)
    region.reset()
    assert region.get_state() == {"radius": 1, "step": 0.2, "successes": 0, "failures": 0}


def test_frozen_and_learned_rank_the_same_candidate_sets():
    learned = Proposer(NB201_SIZES, learning=True, initial_points=5, seed=7)
    frozen = Proposer(NB201_SIZES, learning=False, initial_points=5, seed=7)
    points = run(learned, toy_reward, 12)
    for p in points:  # the frozen proposer sees the same history
        frozen._seen.add(frozen.key(p))
        frozen.points.append(p)
        frozen.rewards.append(None)
        frozen.observe(p, toy_reward(p))
    assert learned.incumbent == frozen.incumbent
    anchor = np.array(learned.points[learned.incumbent])
    a = {learned.key(u) for u in learned._neighbours(anchor)}
    b = {frozen.key(u) for u in frozen._neighbours(anchor)}
    assert a == b and len(a) > 0


@pytest.mark.parametrize("predictor", ["gp", "linear"])
def test_state_round_trip_gives_identical_next_proposals(predictor):
    sizes = [5, 4, 0, 0, 2]
    a = Proposer(sizes, predictor=predictor, initial_points=4, seed=11)
    run(a, toy_reward, 15)
    state = json.loads(json.dumps(a.get_state()))
    b = Proposer(sizes, predictor=predictor, initial_points=4, seed=999)
    b.set_state(state)
    units = np.array(a.points)
    assert a.best_index() == b.best_index()
    assert np.array_equal(a.pick_scores(units), b.pick_scores(units))
    assert run(a, toy_reward, 10) == run(b, toy_reward, 10)


def test_the_returned_point_is_one_its_neighbours_confirm_not_the_luckiest_score():
    # a good region (a centre and its one-edit neighbours, noisy scores about 0.8) and a
    # lucky score of 0.86 whose neighbours all score about 0.75: a lucky draw
    centre, lucky = np.full(6, 0.1), np.full(6, 0.9)
    rng = np.random.default_rng(0)
    scored = [(centre, 0.83)]
    for slot in range(6):
        for choice in (1, 2):
            u = centre.copy()
            u[slot] = (choice + 0.5) / 5
            scored.append((u, 0.80 + 0.03 * rng.standard_normal()))
    scored.append((lucky, 0.86))
    for slot in range(6):
        u = lucky.copy()
        u[slot] = 0.5
        scored.append((u, 0.72 + 0.05 * rng.random()))

    def fed(**settings):
        proposer = Proposer(NB201_SIZES, seed=0, **settings)
        for u, reward in scored:
            proposer.register(u)
            proposer.observe(u, reward)
        return proposer

    proposer = fed()
    points = np.array(proposer.points)
    score = proposer.pick_scores(points)
    assert proposer.best_index() == int(np.argmax(score))
    assert np.allclose(points[proposer.best_index()], centre)
    assert np.allclose(points[int(np.argmax(proposer.rewards))], lucky)
    # the bound lies pick_caution standard deviations below the pick model's mean, which
    # alone (pick_caution=0) would return a less supported neighbour of the centre
    mean, std = proposer._pick_model().predict(proposer.features(points))
    assert np.allclose(score, mean - std)
    plain = fed(pick_caution=0.0)
    assert np.allclose(plain.pick_scores(points), mean)
    assert plain.best_index() == int(np.argmax(mean)) != proposer.best_index()
    # learning off: the best score is returned
    frozen = fed(learning=False)
    assert frozen.pick_scores(points) is None
    assert frozen.best_index() == int(np.argmax(proposer.rewards))


def test_every_fifth_proposal_confirms_one_of_the_best_points_with_another_reward():
    rng = np.random.default_rng(4)

    # race_below=0: the search never races (test_noise_larger_than_the_differences_races)
    proposer = Proposer(NB201_SIZES, initial_points=5, seed=2, confirm_every=5, race_below=0.0)
    confirmed = []
    for n in range(60):
        evaluated = [i for i, r in enumerate(proposer.rewards) if r is not None]
        before = {proposer.key(proposer.points[i]) for i in evaluated}
        due = n >= 5 and (n - 4) % 5 == 0
        if due:
            scores = proposer.pick_scores([proposer.points[i] for i in evaluated])
            top = [proposer.key(proposer.points[evaluated[i]])
                   for i in np.argsort(-scores, kind="stable")]
            assert proposer._pick_model().noise >= proposer.confirm_noise
        p = proposer.propose()
        if due:
            # a point evaluated before, among the three the pick scores highest
            assert proposer.key(p) in before and proposer.evaluations(p) > 1
            assert proposer.key(p) in list(dict.fromkeys(top))[:3]
            confirmed.append(proposer.key(p))
        else:
            assert proposer.key(p) not in before and proposer.evaluations(p) == 1
        proposer.observe(p, noisy_toy_reward(p, rng))
    assert len(confirmed) == 11
    assert max(confirmed.count(k) for k in confirmed) <= 2  # three rewards at most
    # the pick model pools a point's rewards: the returned point is one confirmed
    assert proposer.evaluations(proposer.points[proposer.best_index()]) > 1


def test_shrunk_means_discount_a_lucky_mean_by_the_noise_the_repeats_show():
    assert shrunk_means({"a": [1.0], "b": [2.0]}) is None  # nothing repeated yet
    # repeats that agree exactly: no noise, the means themselves
    estimates, share = shrunk_means({"a": [1.0, 1.0], "b": [2.0], "c": [3.0]})
    assert share == 1.0 and estimates == pytest.approx({"a": 1.0, "b": 2.0, "c": 3.0})
    # repeats about 0.04 apart around means about 0.02 apart: the noise explains the spread
    groups = {"once": [0.965], "thrice": [0.97, 0.94, 0.965], "twice": [0.90, 0.96],
              "fair": [0.85, 0.75], "poor": [0.50]}
    estimates, share = shrunk_means(groups)
    assert share < 0.01
    # the better half (once, thrice, twice by mean) sets the level the estimates shrink to
    level = np.mean([0.965, np.mean(groups["thrice"]), 0.93])
    assert all(abs(estimates[k] - level) < abs(np.mean(v) - level)
               for k, v in groups.items())
    # one lucky reward counts for less than three that stay above the level
    assert np.mean(groups["once"]) > np.mean(groups["thrice"]) > level
    assert estimates["thrice"] > estimates["once"] > level
    assert estimates["poor"] < estimates["fair"] < estimates["twice"] < level


def test_noise_larger_than_the_differences_races_the_best_points():
    rng = np.random.default_rng(4)

    proposer = Proposer(NB201_SIZES, initial_points=5, seed=2, confirm_every=5)
    raced = 0
    for n in range(60):
        racing = proposer._racing()
        p = proposer.propose()
        if racing is not None and (n - 4) % proposer.race_every == 0:
            # a point evaluated before, among the three best by empirical-Bayes mean
            top = sorted(racing, key=lambda k: -racing[k])[:proposer.confirm_top]
            assert proposer.key(p) in top and proposer.evaluations(p) > 1
            raced += 1
        proposer.observe(p, noisy_toy_reward(p, rng))
    assert raced >= 20  # every second proposal once the repeats showed the noise
    rewards = proposer._rewards_by_key()
    # more rewards than a confirmation gives (max_evaluations), at most race_evaluations
    assert proposer.max_evaluations < max(len(r) for r in rewards.values()) <= \
        proposer.race_evaluations
    # the returned point is the best by empirical-Bayes mean, one raced several times
    evaluated = [i for i, r in enumerate(proposer.rewards) if r is not None]
    scores = proposer.pick_scores([proposer.points[i] for i in evaluated])
    estimates, share = shrunk_means(rewards)
    assert share < proposer.race_below
    assert list(scores) == [estimates[proposer.key(proposer.points[i])] for i in evaluated]
    best = proposer.points[proposer.best_index()]
    assert estimates[proposer.key(best)] == max(estimates.values())
    assert proposer.evaluations(best) >= 3
    # a state round trip races on alike
    clone = Proposer(NB201_SIZES, initial_points=5, seed=2, confirm_every=5)
    clone.set_state(json.loads(json.dumps(proposer.get_state())))
    assert clone.best_index() == proposer.best_index() and clone.propose() == proposer.propose()


def test_a_point_is_not_raced_again_while_its_last_evaluation_waits_for_a_reward():
    # several workers: a repeated evaluation may still be running when the next is due
    rng = np.random.default_rng(4)
    proposer = Proposer(NB201_SIZES, initial_points=5, seed=2, confirm_every=5,
                        race_evaluations=10)
    waiting = {}
    for _ in range(80):
        p = proposer.propose()
        key = proposer.key(p)
        assert key not in waiting  # never proposed while a reward of it is outstanding
        if proposer.evaluations(p) > 1 and len(waiting) < 2:
            waiting[key] = p  # this repeat runs on for a while
        else:
            proposer.observe(p, noisy_toy_reward(p, rng))
        if waiting and (len(waiting) == 2 or rng.random() < 0.3):
            q = waiting.pop(next(iter(waiting)))
            proposer.observe(q, noisy_toy_reward(q, rng))
    assert proposer._racing() is not None


@pytest.mark.parametrize("learning", [True, False])
def test_no_confirmations_on_a_noise_free_objective_or_with_learning_off(learning):
    proposer = Proposer(NB201_SIZES, initial_points=5, seed=5, learning=learning)
    points = run(proposer, toy_reward, 60)
    assert len({proposer.key(p) for p in points}) == 60
    if learning:  # the pick model sees (almost) no noise: another run would tell nothing
        assert proposer._pick_model().noise < proposer.confirm_noise


def test_continuous_slots_move_inside_their_unit_interval_and_only_when_active():
    sizes = [2, 0, 0]

    def active(u):  # slot 2 counts only when slot 0 takes its second choice
        return np.array([True, True, u[0] >= 0.5])

    proposer = Proposer(sizes, active=active, initial_points=3,
                        region=TrustRegion(step=0.1), seed=5, confirm_every=0)
    points = run(proposer, lambda u: -abs(u[1] - 0.9) + (u[0] >= 0.5) * u[2], 60)
    arr = np.array(points)
    assert np.all((arr >= 0.0) & (arr <= 1.0))
    assert len({proposer.key(p) for p in points}) == len(points)
    # an inactive slot does not make two points different
    assert proposer.key([0.25, 0.3, 0.1]) == proposer.key([0.25, 0.3, 0.8])
    assert proposer.key([0.75, 0.3, 0.1]) != proposer.key([0.75, 0.3, 0.8])
    best = proposer.points[proposer.best]
    assert best[1] == pytest.approx(0.9, abs=0.1)


def test_predictors_fit_a_linear_reward_and_rank_by_expected_improvement():
    rng = np.random.default_rng(0)
    x = rng.random((40, 3))
    y = x @ np.array([1.0, -2.0, 0.5])
    for kind in ("gp", "linear"):
        model = RewardPredictor(kind)
        model.fit(x, (y - y.mean()) / y.std())
        mean, std = model.predict(x[:5])
        assert np.corrcoef(mean, y[:5])[0, 1] > 0.95
        assert np.all(std >= 0)
    ei = expected_improvement(np.array([0.0, 1.0]), np.array([1.0, 1.0]), 0.5)
    assert ei[1] > ei[0] > 0
    assert list(np.argsort(normal_scores([3.0, 10.0, -5.0]))) == [2, 0, 1]


def test_auto_predictor_is_a_gp():
    assert Proposer(NB201_SIZES).predictor_kind == "gp"
    assert Proposer(NB201_SIZES, predictor="linear").predictor_kind == "linear"
    assert Proposer([5, 0]).predictor_kind == "gp"
    assert Proposer([5, 8], ordinal=[False, True]).predictor_kind == "gp"
    assert Proposer([5], predictor=None).predictor_kind is None


@pytest.mark.slow
def test_short_nasbench201_search_beats_random_search():
    from nases_tf.benchmarks.nasbench201 import NasBench201Table, arch_codes

    if not NB201_CSV.exists():
        pytest.skip(f"{NB201_CSV} not found")
    acc = NasBench201Table.load(NB201_CSV, "cifar10").accuracies
    best_nases, best_random = [], []
    for seed in range(4):
        proposer = Proposer(NB201_SIZES, seed=seed)
        rewards = []
        for _ in range(60):
            p = proposer.propose()
            r = float(acc[int(arch_codes(choices(p, NB201_SIZES)))])
            proposer.observe(p, r)
            rewards.append(r)
        best_nases.append(max(rewards))
        rng = np.random.default_rng(seed)
        best_random.append(acc[rng.permutation(len(acc))[:60]].max())
    # over 200 seeds at 60 queries: 94.31 against 93.76 for random search
    assert np.mean(best_nases) > np.mean(best_random)
