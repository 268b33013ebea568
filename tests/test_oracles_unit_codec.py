"""The Oracle's unit codec: keras-tuner values <-> unit vectors, for every hyperparameter type."""

import math

import keras_tuner
import numpy as np

from nases_tf.tuner import NASESOracle

from oracle_helpers import FAST, assert_valid_active_values, score_objective


def test_every_hyperparameter_type_decodes_to_valid_native_values():
    hps = keras_tuner.HyperParameters()
    hps.Choice("c_str", ["a", "b", "c"])
    hps.Choice("c_int", [8, 16, 32])
    hps.Choice("c_float", [0.5, 1.5])
    hps.Int("i_plain", 0, 9)
    hps.Int("i_step", 2, 20, step=3)
    hps.Int("i_log", 1, 1024, sampling="log")
    hps.Int("i_log_step", 2, 64, step=2, sampling="log")
    hps.Float("f_lin", -1.0, 1.0)
    hps.Float("f_step", 0.0, 1.0, step=0.25)
    hps.Float("f_log", 1e-5, 1e-1, sampling="log")
    hps.Float("f_rlog", 0.01, 0.999, sampling="reverse_log")
    hps.Boolean("flag")
    hps.Fixed("fixed", "same")
    with hps.conditional_scope("flag", [True]):
        hps.Int("when_flag", 1, 3)
    oracle = NASESOracle(objective=score_objective(), hyperparameters=hps, seed=1, **FAST)
    oracle._sync_decisions()
    assert "fixed" not in oracle.decision_names and len(oracle.decision_names) == 13
    rng = np.random.default_rng(0)
    units = [np.zeros(13), np.ones(13), np.full(13, 0.5)] + list(rng.random((50, 13)))
    seen = set()
    for unit in units:
        values = oracle._codec.to_values(oracle.hyperparameters.space, np.asarray(unit, np.float32))
        probe = hps.copy()
        probe.values = values
        assert_valid_active_values(probe)
        assert values["fixed"] == "same"
        seen.add(values["c_str"])
        # the unit encoding is the hyperparameters' own: encoding then decoding is stable
        space = oracle.hyperparameters.space
        again = oracle._codec.to_values(space, oracle._codec.to_unit(space, values, unit))
        assert again == values or all(
            math.isclose(again[k], v, rel_tol=1e-5) if isinstance(v, float) else again[k] == v
            for k, v in values.items())
    assert seen == {"a", "b", "c"}
