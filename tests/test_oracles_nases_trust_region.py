"""NASESOracle's default proposals: the trust region around the best trial, with real
keras-tuner objects (resume, failures, a growing space, exhaustion, search quality)."""

import inspect
import json
import math

import keras_tuner
import numpy as np
import pytest
from keras_tuner.engine import trial as trial_module

from conftest import HPO_DIR
from nases_tf.benchmarks import tuner_benchmark, tuner_objective
from nases_tf.benchmarks.hpo_tables import TABLES
from nases_tf.benchmarks.tuner_objective import cheap_space, cheap_score
from nases_tf.oracles.nases import ORACLE_ARGUMENTS
from nases_tf.tuner import NASES, NASESOracle

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
    # every value once, and at most one confirmation: it scores exactly as before (the sum
    # is deterministic), so no other follows
    assert len(set(values)) == 6 and len(values) <= 7


def test_the_tuner_hands_every_oracle_setting_to_its_oracle(tmp_path):
    own = [name for name, parameter in inspect.signature(NASESOracle).parameters.items()
           if parameter.kind == parameter.KEYWORD_ONLY or name == "hyperparameters"]
    assert set(own) <= set(ORACLE_ARGUMENTS), set(own) - set(ORACLE_ARGUMENTS)
    tuner = NASES(lambda hp: None, objective=score_objective(), max_trials=2, seed=1,
                  pick_caution=0.5, confirm_every=0, hyperparameters=cheap_space(),
                  directory=str(tmp_path))
    assert (tuner.oracle.pick_caution, tuner.oracle.confirm_every) == (0.5, 0)


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


class _KilledAnswering(tuner_benchmark.AnsweringTuner):
    def __init__(self, *args, kill_at=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kill_at = kill_at

    def run_trial(self, trial, *args, **kwargs):
        if self.kill_at is not None and len(self.rewards) + 1 >= self.kill_at:
            raise Killed(f"killed in trial {trial.trial_id}")
        return super().run_trial(trial, *args, **kwargs)


def test_noisy_scores_get_confirmations_that_resume_and_pool_into_the_pick(tmp_path):
    # the HPO table of real MLP trainings on australian: a trial is one training seed's
    # balanced accuracy, and trying a configuration again is another training
    if not (HPO_DIR / TABLES["mlp_australian"].file).is_file():
        pytest.skip(f"{HPO_DIR} not found: the shipped data must stand beside the checkout")
    problem = tuner_benchmark.load_problem("mlp_australian", str(HPO_DIR))

    def search(directory, kill_at=None, overwrite=True, answers=None):
        oracle = NASESOracle(objective=problem.objective(), max_trials=30, seed=3,
                             hyperparameters=problem.hyperparameters())
        tuner = quiet(_KilledAnswering(oracle, answers or problem.answers(0),
                                       directory=str(directory), project_name="aus",
                                       overwrite=overwrite, kill_at=kill_at))
        tuner.search(verbose=0)
        return tuner

    whole = search(tmp_path / "whole")
    oracle = whole.oracle
    trials = [oracle.trials[i] for i in oracle.start_order]
    assert len(trials) == 30 and all(t.status == COMPLETED for t in trials)
    by_values = {}
    for trial in trials:
        by_values.setdefault(oracle._compute_values_hash(trial.hyperparameters.values),
                             []).append(trial)
    repeated = [ts for ts in by_values.values() if len(ts) > 1]
    proposer = oracle._proposer
    assert repeated and all(len(ts) <= proposer.race_evaluations for ts in repeated)
    # the repeats show a noise larger than the differences between good configurations:
    # the search races, and the pick is the best empirical-Bayes mean
    assert proposer._racing() is not None
    assert all(int(t.trial_id) >= 10 for ts in repeated for t in ts[1:])  # after the start
    assert any(len({t.score for t in ts}) > 1 for ts in repeated)  # new trainings
    # the returned trial is the first of its values, and its order is the pick scores'
    best = oracle.get_best_trials(30)
    assert best[0] is by_values[oracle._compute_values_hash(
        best[0].hyperparameters.values)][0]
    score = oracle._proposer.pick_scores([oracle._trial_points[t.trial_id] for t in best])
    assert list(score) == sorted(score, reverse=True)

    # killed in the middle of the search, rerun: the same trials and the same pick
    answers = problem.answers(0)
    with pytest.raises(Killed):
        search(tmp_path / "killed", kill_at=19, answers=answers)
    resumed = search(tmp_path / "killed", overwrite=False, answers=answers).oracle
    assert [resumed.trials[i].hyperparameters.values for i in resumed.start_order] == \
        [t.hyperparameters.values for t in trials]
    assert resumed.get_best_trials(1)[0].trial_id == best[0].trial_id
