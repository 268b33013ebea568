"""NASESOracle's default proposals: the trust region around the best trial, with real
keras-tuner objects (resume, failures, a growing space, exhaustion, search quality)."""

import json
import math

import keras_tuner
import numpy as np
import pytest
from keras_tuner.engine import trial as trial_module

from nases_tf.benchmarks import tuner_benchmark, tuner_objective
from nases_tf.benchmarks.tuner_objective import cheap_space, cheap_score
from nases_tf.tuner import NASESOracle

from oracle_helpers import (Killed, ScoreTuner, SumTuner, assert_valid_active_values,
                            completed_distinct_trials, quiet, score_objective)

COMPLETED = trial_module.TrialStatus.COMPLETED


def _tuner(tmp_path, max_trials, project="tr", seed=11, **kwargs):
    oracle = NASESOracle(objective=score_objective(), max_trials=max_trials, seed=seed,
                         hyperparameters=cheap_space(), initial_points=4)
    return quiet(ScoreTuner(oracle, directory=str(tmp_path), project_name=project, **kwargs))


def test_proposals_are_valid_unseen_and_anchored_on_the_best_trial(tmp_path):
    tuner = _tuner(tmp_path, 20, overwrite=True)
    tuner.search(verbose=0)
    oracle = tuner.oracle
    trials = completed_distinct_trials(oracle, 20)
    assert oracle.controller is None  # no stage 1: the embedding parts are off by default
    # after the random start, each trial is a small move from the incumbent of its time
    scores = [t.score for t in trials]
    assert max(scores[4:]) > max(scores[:4])
    json.dumps(oracle.get_state())


def test_killed_search_resumes_with_the_same_proposer_and_no_duplicates(tmp_path):
    first = _tuner(tmp_path, 8, overwrite=True)
    first.kill_at = 8
    with pytest.raises(Killed):
        first.search(verbose=0)
    with open(tmp_path / "tr" / "oracle.json") as f:
        saved = json.load(f)["nases"]["proposer"]
    second = _tuner(tmp_path, 14)
    assert second.oracle.get_state()["nases"]["proposer"] == saved
    second.search(verbose=0)
    oracle = second.oracle
    trials = [oracle.trials[i] for i in oracle.start_order]
    assert len(trials) == 14 and all(t.status == COMPLETED for t in trials)
    assert len({oracle._compute_values_hash(t.hyperparameters.values) for t in trials}) == 14
    assert sum(r is not None for r in oracle._proposer.rewards) == 14


def test_failed_trials_and_nan_scores_are_never_learned_from(tmp_path):
    def fail(trial_id, attempt):
        return {2: "raise", 4: "nan"}.get(int(trial_id))

    oracle = NASESOracle(objective=score_objective(), max_trials=10, seed=3,
                         hyperparameters=cheap_space(), initial_points=3,
                         max_consecutive_failed_trials=100)
    tuner = quiet(ScoreTuner(oracle, fail=fail, directory=str(tmp_path), project_name="f"))
    tuner.search(verbose=0)
    rewards = oracle._proposer.rewards
    assert len(rewards) == 10 and sum(r is None for r in rewards) == 2
    assert rewards[2] is None and rewards[4] is None  # proposed in trial order
    assert all(math.isfinite(r) for r in rewards if r is not None)


def test_a_growing_space_keeps_the_history_and_proposes_valid_values(tmp_path):
    hps = keras_tuner.HyperParameters()
    hps.Choice("a", ["x", "y", "z"])
    hps.Int("b", 0, 9)
    oracle = NASESOracle(objective=score_objective(), max_trials=30, seed=4,
                         hyperparameters=hps, initial_points=3)
    oracle._set_project_dir(str(tmp_path), "grow")
    oracle.verbose = 0

    def run(n):
        for _ in range(n):
            trial = oracle.create_trial("tuner0")
            oracle.update_trial(trial.trial_id,
                                {"score": float(trial.hyperparameters.get("b"))})
            trial.status = COMPLETED
            oracle.end_trial(trial)

    run(6)
    grown = oracle.get_space()
    grown.Boolean("d")
    with grown.conditional_scope("a", ["z"]):
        grown.Int("e", 1, 4)
    oracle.update_space(grown)
    run(6)
    assert oracle.decision_names == ["a", "b", "d", "e"]
    assert len(oracle._proposer.points) == 12 and all(len(p) == 4 for p in
                                                      oracle._proposer.points)
    for trial in list(oracle.trials.values())[6:]:
        assert_valid_active_values(trial.hyperparameters)
        assert ("e" in trial.hyperparameters.values) == (trial.hyperparameters.get("a") == "z")
    again = NASESOracle(objective=score_objective(), max_trials=30, seed=4,
                        hyperparameters=hps, initial_points=3)
    again.set_state(json.loads(json.dumps(oracle.get_state())))
    assert again._proposer.get_state() == oracle._proposer.get_state()


def test_a_small_space_is_exhausted_then_stopped(tmp_path):
    hps = keras_tuner.HyperParameters()
    hps.Choice("a", [1, 2, 3])
    hps.Boolean("b")
    oracle = NASESOracle(objective=score_objective(), max_trials=50, seed=3,
                         hyperparameters=hps, initial_points=2)

    tuner = quiet(SumTuner(oracle, directory=str(tmp_path), project_name="tiny"))
    tuner.search(verbose=0)
    values = [tuple(sorted(t.hyperparameters.values.items())) for t in oracle.trials.values()
              if t.status == COMPLETED]
    assert len(values) == 6 and len(set(values)) == 6


def test_learning_off_keeps_the_candidates_but_not_their_order():
    frozen = NASESOracle(objective=score_objective(), seed=1, hyperparameters=cheap_space(),
                         learning=False)
    frozen._sync_decisions()
    assert frozen._proposer.learning is False and frozen.controller is None


@pytest.mark.slow
def test_nases_finds_better_values_than_random_search_in_60_trials():
    report, = tuner_benchmark.compare([tuner_benchmark.CheapProblem()], ["random", "nases"],
                                      3, [60], log=None)
    result = report["strategies"]
    nases, random = result["nases"]["budgets"]["60"], result["random"]["budgets"]["60"]
    assert nases["mean"] > random["mean"] + 2 * math.hypot(nases["se"], random["se"]), result
    assert cheap_score(tuner_objective.OPTIMUM) == 1.0


@pytest.mark.parametrize("learning", [True, False])
def test_best_trials_follow_the_pick_scores_and_the_tuner_follows_them(tmp_path, learning):
    oracle = NASESOracle(objective=score_objective(), max_trials=16, seed=8,
                         hyperparameters=cheap_space(), initial_points=5, learning=learning)
    tuner = quiet(ScoreTuner(oracle, directory=str(tmp_path), project_name="best"))
    tuner.search(verbose=0)
    completed = [oracle.trials[i] for i in oracle.start_order]
    best = oracle.get_best_trials(len(completed))
    assert sorted(t.trial_id for t in best) == sorted(t.trial_id for t in completed)
    if learning:
        # a score is one noisy run: the order is the pick model's cautious estimate
        units = [oracle._trial_points[t.trial_id] for t in best]
        score = oracle._proposer.pick_scores(units)
        assert list(score) == sorted(score, reverse=True)
        point = oracle._proposer.points[oracle._proposer.best_index()]
        assert np.allclose(units[0], point)
    else:
        assert [t.score for t in best] == sorted((t.score for t in completed), reverse=True)
    assert tuner.get_best_hyperparameters()[0].values == best[0].hyperparameters.values
    assert oracle.get_best_trials(40)[:len(best)] == best  # more than there are: all of them
