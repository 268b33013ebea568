"""The baseline oracles on the NAS-Bench-201 hyperparameters: regularized evolution and
REINFORCE (mutation, aging, learning direction, failures, resuming, bad settings)."""

import json

import keras_tuner
import numpy as np
import pytest
from keras_tuner.engine import trial as trial_module

from nases_tf.benchmarks.strategies import default_objective as objective, make_hyperparameters
from nases_tf.errors import ConfigError
from nases_tf.oracles.evolution import RegularizedEvolutionOracle
from nases_tf.oracles.reinforce import ReinforceOracle
from nases_tf.spaces.nasbench201 import OPS, NasBench201Space


def _oracle(cls, **kwargs):
    oracle = cls(objective=objective(), max_trials=50, seed=7,
                 hyperparameters=make_hyperparameters(), **kwargs)
    oracle.verbose = 0
    return oracle


def _finish(oracle, trial, score=None, status=trial_module.TrialStatus.COMPLETED):
    if score is not None:
        oracle.update_trial(trial.trial_id, {"accuracy": score})
    trial.status = status
    oracle.end_trial(trial)


def test_evolution_mutates_one_decision_of_a_population_member(tmp_path, nb201_table):
    oracle = _oracle(RegularizedEvolutionOracle, population_size=5, sample_size=2)
    oracle._set_project_dir(str(tmp_path), "evo")
    space = NasBench201Space()
    seen = []
    for i in range(25):
        trial = oracle.create_trial("t")
        values = trial.hyperparameters.values
        arch = space.from_json({"edges": [values[n] for n in space.decision_names]})
        if i >= 5:
            population = [tuple(space.from_json({"edges": [t.hyperparameters.values[n] for n
                                                           in space.decision_names]}))
                          for t in oracle.population()]
            assert len(population) == 5
            assert any(sum(a != b for a, b in zip(arch, p)) == 1 for p in population)
        assert arch not in seen
        seen.append(arch)
        _finish(oracle, trial, nb201_table.accuracy(arch))
    # Aging: the population is the five most recent completions.
    assert [t.trial_id for t in oracle.population()] == oracle.end_order[-5:]
    json.dumps(oracle.get_state())  # native Python values only
    clone = _oracle(RegularizedEvolutionOracle)
    clone._set_project_dir(str(tmp_path), "evo")
    clone.reload()
    assert (clone.population_size, clone.sample_size) == (5, 2)
    assert [t.trial_id for t in clone.population()] == oracle.end_order[-5:]


def test_reinforce_ignores_failures_and_nan_and_learns_direction(tmp_path):
    oracle = _oracle(ReinforceOracle, learning_rate=0.5)
    oracle._set_project_dir(str(tmp_path), "rl")
    trial = oracle.create_trial("t")
    _finish(oracle, trial, status=trial_module.TrialStatus.FAILED)
    trial = oracle.create_trial("t")
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        _finish(oracle, trial, score=float("nan"))
    assert oracle.get_trial(trial.trial_id).status == trial_module.TrialStatus.FAILED
    oracle.create_trial("t")  # reads the finished trials
    assert oracle.num_updates == 0 and oracle.baseline is None
    assert all(v == [0.0] * len(OPS) for v in oracle.logits.values())

    # Reward 1 whenever edge_1_0 is nor_conv_3x3: its probability must grow.
    oracle = _oracle(ReinforceOracle, learning_rate=0.5)
    oracle._set_project_dir(str(tmp_path), "rl2")
    for _ in range(40):
        trial = oracle.create_trial("t")
        _finish(oracle, trial, float(trial.hyperparameters.values["edge_1_0"] == "nor_conv_3x3"))
    oracle.create_trial("t")
    assert oracle.probabilities("edge_1_0")[OPS.index("nor_conv_3x3")] > 0.5
    json.dumps(oracle.get_state())  # native Python values only
    clone = _oracle(ReinforceOracle)
    clone._set_project_dir(str(tmp_path), "rl2")
    clone.reload()  # keras-tuner's resume path: trial files + oracle.json
    assert clone.logits == oracle.logits and clone.num_updates == oracle.num_updates
    assert clone.learning_rate == 0.5 and clone.baseline == oracle.baseline

    # The same rewards as a loss to minimize push the other way.
    oracle = ReinforceOracle(objective=keras_tuner.Objective("loss", "min"), max_trials=50,
                             seed=7, learning_rate=0.5, hyperparameters=make_hyperparameters())
    oracle.verbose = 0
    oracle._set_project_dir(str(tmp_path), "rl3")
    for _ in range(40):
        trial = oracle.create_trial("t")
        oracle.update_trial(trial.trial_id, {
            "loss": float(trial.hyperparameters.values["edge_1_0"] == "nor_conv_3x3")})
        trial.status = trial_module.TrialStatus.COMPLETED
        oracle.end_trial(trial)
    oracle.create_trial("t")
    assert oracle.probabilities("edge_1_0")[OPS.index("nor_conv_3x3")] < 0.2


def test_oracles_reject_bad_settings():
    with pytest.raises(ConfigError, match="sample_size"):
        _oracle(RegularizedEvolutionOracle, population_size=4, sample_size=5)
    with pytest.raises(ConfigError, match="learning_rate"):
        _oracle(ReinforceOracle, learning_rate=0.0)
    hps = keras_tuner.HyperParameters()
    hps.Float("lr", 0.1, 1.0)
    oracle = RegularizedEvolutionOracle(objective=objective(), hyperparameters=hps, seed=1)
    with pytest.raises(ConfigError, match="Float without step"):
        oracle.populate_space("0")
