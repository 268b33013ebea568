"""TPEOracle: Optuna's TPE sampler behind keras-tuner's Oracle contract (a conditional space
of every type, no repeats, failures, exact resume, the TPE tuner)."""

import json
import sys

import keras
import keras_tuner
import numpy as np
import pytest
from keras_tuner.engine import trial as trial_module

pytest.importorskip("optuna")

from nases_tf.benchmarks.tuner_objective import cheap_space  # noqa: E402
from nases_tf.errors import ConfigError  # noqa: E402
from nases_tf.oracles.tpe import TPE, TPEOracle, distribution  # noqa: E402

from oracle_helpers import (Killed, ScoreTuner, completed_distinct_trials, quiet,  # noqa: E402
                            score_objective)

COMPLETED = trial_module.TrialStatus.COMPLETED


@pytest.fixture(autouse=True)
def _quiet_optuna():
    import optuna

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield
    optuna.logging.set_verbosity(level)


def _tuner(tmp_path, max_trials, project="tpe", **kwargs):
    oracle = TPEOracle(objective=score_objective(), max_trials=max_trials, seed=5,
                       hyperparameters=cheap_space(), n_startup_trials=5,
                       max_consecutive_failed_trials=100)
    return quiet(ScoreTuner(oracle, directory=str(tmp_path), project_name=project, **kwargs))


def test_searches_a_conditional_space_of_every_type_without_repeats(tmp_path):
    tuner = _tuner(tmp_path, 25, overwrite=True)
    tuner.search(verbose=0)
    oracle = tuner.oracle
    trials = completed_distinct_trials(oracle, 25)
    # TPE was told every result, in the objective's direction
    told = [r for r in oracle.get_state()["tpe"]["records"] if r["trial_id"] is not None]
    assert [r["value"] for r in told] == [t.score for t in trials]
    assert oracle._study.direction.name == "MAXIMIZE"
    assert max(t.score for t in trials[5:]) > max(t.score for t in trials[:5])
    json.dumps(oracle.get_state())


def test_every_hyperparameter_type_maps_to_an_optuna_distribution():
    import optuna.distributions as d

    hp = keras_tuner.HyperParameters()
    cases = {
        hp.Choice("act", ["relu", "tanh"]): (d.CategoricalDistribution, "act"),
        hp.Boolean("bn"): (d.CategoricalDistribution, "bn"),
        hp.Int("units", 16, 64, step=16): (d.IntDistribution, "units"),
        hp.Int("log_units", 8, 512, sampling="log"): (d.IntDistribution, "log_units"),
        hp.Float("lr", 1e-4, 1e-1, sampling="log"): (d.FloatDistribution, "lr"),
        hp.Float("drop", 0.0, 0.5, step=0.1): (d.FloatDistribution, "drop"),
        hp.Float("rev", 0.5, 0.999, sampling="reverse_log"): (d.FloatDistribution, "rev/unit"),
        hp.Int("log_step", 2, 64, step=2, sampling="log"): (d.FloatDistribution,
                                                             "log_step/unit"),
    }
    for value, (kind, name) in cases.items():
        hyper = next(h for h in hp.space if h.name == name.split("/")[0])
        got_name, dist = distribution(hyper)
        assert (type(dist), got_name) == (kind, name)
    assert distribution(hp.space[4])[1].log and distribution(hp.space[5])[1].step == 0.1


def test_repeats_are_told_and_a_small_space_is_exhausted_then_stopped(tmp_path):
    hps = keras_tuner.HyperParameters()
    hps.Choice("a", [1, 2, 3])
    hps.Boolean("b")
    oracle = TPEOracle(objective=score_objective(), max_trials=20, seed=2, hyperparameters=hps,
                       n_startup_trials=2)

    class Tuner(keras_tuner.engine.base_tuner.BaseTuner):
        def run_trial(self, trial, **kwargs):
            return {"score": float(trial.hyperparameters["a"] + trial.hyperparameters["b"])}

    tuner = Tuner(oracle, directory=str(tmp_path), project_name="small")
    tuner.oracle.verbose = 0
    tuner.search(verbose=0)
    values = [tuple(oracle.trials[i].hyperparameters.values.values())
              for i in oracle.start_order]
    assert sorted(values) == sorted({(a, b) for a in (1, 2, 3) for b in (False, True)})
    assert oracle.create_trial("x").status == trial_module.TrialStatus.STOPPED
    assert tuner.get_best_hyperparameters()[0].values == {"a": 3, "b": True}


def test_failed_trials_and_nan_scores_are_told_as_failed(tmp_path):
    def fail(trial_id, attempt):
        return {2: "raise", 4: "nan"}.get(int(trial_id))

    oracle = TPEOracle(objective=score_objective(), max_trials=8, seed=3,
                       hyperparameters=cheap_space(), max_consecutive_failed_trials=100)
    tuner = quiet(ScoreTuner(oracle, fail=fail, directory=str(tmp_path), project_name="f"))
    tuner.search(verbose=0)
    states = [r["state"] for r in oracle.get_state()["tpe"]["records"]
              if r["trial_id"] is not None]
    assert len(states) == 8 and states[2] == states[4] == "FAIL"
    assert states.count("COMPLETE") == 6


def test_killed_search_resumes_exactly(tmp_path):
    whole = _tuner(tmp_path, 14, project="whole", overwrite=True)
    whole.search(verbose=0)
    expected = [whole.oracle.trials[i].hyperparameters.values for i in whole.oracle.start_order]
    first = _tuner(tmp_path, 14, project="killed", overwrite=True, kill_at=9)
    with pytest.raises(Killed):
        first.search(verbose=0)
    second = _tuner(tmp_path, 14, project="killed")
    second.search(verbose=0)
    oracle = second.oracle
    assert [oracle.trials[i].hyperparameters.values for i in oracle.start_order] == expected
    assert all(oracle.trials[i].status == COMPLETED for i in oracle.start_order)


def test_tpe_tuner_trains_keras_models(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)

    def build(hp):
        model = keras.Sequential([keras.Input((4,)),
                                  keras.layers.Dense(hp.Int("units", 2, 8, step=2)),
                                  keras.layers.Dense(1)])
        model.compile(keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
                      loss="mse")
        return model

    tuner = TPE(build, objective="val_loss", max_trials=3, seed=1, directory=str(tmp_path),
                project_name="keras", sampler_options={"n_ei_candidates": 8})
    tuner.oracle.verbose = 0
    tuner.search(x, y, validation_data=(x, y), epochs=1, verbose=0)
    assert len(tuner.oracle.trials) == 3
    assert tuner.oracle.sampler_options == {"n_ei_candidates": 8}
    assert tuner.get_best_models(1)[0].predict(x[:2], verbose=0).shape == (2, 1)


def test_bad_settings_and_missing_optuna_are_clear_errors(monkeypatch):
    with pytest.raises(ConfigError, match="n_startup_trials=-1"):
        TPEOracle(objective=score_objective(), n_startup_trials=-1)
    with pytest.raises(TypeError, match="no_such_option"):
        TPEOracle(objective=score_objective(), no_such_option=1)
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ConfigError, match="pip install optuna"):
        TPEOracle(objective=score_objective())
