"""Helpers shared by the oracle tests: a tuner scoring trials with the cheap objective (with
injected failures and kills), and checks of trial values."""

import keras_tuner
from keras_tuner.engine import hyperparameters as hp_module

from nases_tf.benchmarks.tuner_benchmark import AnsweringTuner, CheapProblem
from nases_tf.benchmarks.tuner_objective import OBJECTIVE

FAST = dict(pretrain_steps=300, samples_per_update=2)  # small NASES settings for quick tests
CHAINS = dict(FAST, proposals="elitist")  # the controller's chains instead of the trust region


class Killed(BaseException):
    """Stands for the process being killed mid-trial."""


class ScoreTuner(AnsweringTuner):
    """The cheap-objective tuner, with failures and a kill injected on demand.

    Args:
        oracle: a keras-tuner Oracle.
        fail: optional function (trial_id, attempt) -> "raise", "nan" or None.
        kill_at: raise ``Killed`` (not an ``Exception``: it ends ``search``) at this call.
    """

    def __init__(self, oracle, fail=None, kill_at=None, **kwargs):
        super().__init__(oracle, CheapProblem().answers(0), **kwargs)
        self.fail, self.kill_at, self.calls, self.attempts = fail, kill_at, 0, {}

    def run_trial(self, trial, *args, **kwargs):
        self.calls += 1
        if self.kill_at is not None and self.calls >= self.kill_at:
            raise Killed(f"killed in trial {trial.trial_id}")
        attempt = self.attempts[trial.trial_id] = self.attempts.get(trial.trial_id, 0) + 1
        what = self.fail(trial.trial_id, attempt) if self.fail else None
        if what == "raise":
            raise ValueError(f"trial {trial.trial_id} crashed")
        if what == "nan":
            return {"score": float("nan")}
        return super().run_trial(trial, *args, **kwargs)


def score_objective():
    """The cheap objective's ``keras_tuner.Objective``."""
    return OBJECTIVE


def quiet(tuner):
    """``tuner`` with its oracle's progress output off."""
    tuner.oracle.verbose = 0
    return tuner


def assert_valid_active_values(hps):
    """Every value is native, valid for its hyperparameter and active; every active
    hyperparameter has one."""
    values = hps.values
    for name, value in values.items():
        active = [hp for hp in hps.space if hp.name == name and hps.is_active(hp)]
        assert active, f"{name}={value!r} is not an active hyperparameter"
        hp = active[0]
        assert type(value) in (int, float, str, bool), (name, type(value))
        if isinstance(hp, hp_module.Choice):
            assert value in hp.values, (name, value)
        elif isinstance(hp, hp_module.Boolean):
            assert type(value) is bool
        elif isinstance(hp, hp_module.Int):
            assert type(value) is int and hp.min_value <= value <= hp.max_value, (name, value)
            if hp.step and hp.sampling == "linear":
                assert (value - hp.min_value) % hp.step == 0, (name, value)
        elif isinstance(hp, hp_module.Float):
            assert type(value) is float
            assert hp.min_value - 1e-12 <= value <= hp.max_value + 1e-12, (name, value)
        elif isinstance(hp, hp_module.Fixed):
            assert value == hp.value
    for hp in hps.space:
        if hps.is_active(hp):
            assert hp.name in values, f"active {hp.name} has no value"


def completed_distinct_trials(oracle, count):
    """The oracle's trials in start order, checked: ``count`` of them, all completed, each
    with valid active values, no values twice."""
    trials = [oracle.trials[i] for i in oracle.start_order]
    assert len(trials) == count
    assert all(t.status == keras_tuner.engine.trial.TrialStatus.COMPLETED for t in trials)
    for trial in trials:
        assert_valid_active_values(trial.hyperparameters)
    assert len({oracle._compute_values_hash(t.hyperparameters.values) for t in trials}) == count
    return trials


class SumTuner(keras_tuner.engine.base_tuner.BaseTuner):
    """A tuner scoring a trial by the sum of hyperparameters ``a`` and ``b``."""

    def run_trial(self, trial, *args, **kwargs):
        values = trial.hyperparameters.values
        return {"score": float(values["a"] + values["b"])}
