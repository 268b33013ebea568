"""A cheap keras-tuner objective with a known optimum.

The space has every hyperparameter type (Choice, Int with and without step, log Float,
Float with step, Boolean, a conditional Float); a trial's score is its closeness to a fixed
optimum, in [0, 1], 1 only at the optimum, so thousands of trials cost seconds and the
value found after N trials measures a search algorithm alone (``tuner_benchmark`` runs it
as problem ``cheap``).
"""

import keras_tuner

OBJECTIVE = keras_tuner.Objective("score", direction="max")
OPTIMUM = {"activation": "gelu", "units": 256, "layers": 5, "lr": 3e-3, "dropout": 0.2,
           "batchnorm": True, "optimizer": "sgd", "momentum": 0.9}


def cheap_space():
    """Choice, Int (step and plain), Float (log and step), Boolean and a conditional scope."""
    hp = keras_tuner.HyperParameters()
    hp.Choice("activation", ["relu", "tanh", "elu", "selu", "gelu"])
    hp.Int("units", 16, 512, step=16)
    hp.Int("layers", 1, 8)
    hp.Float("lr", 1e-5, 1e-1, sampling="log")
    hp.Float("dropout", 0.0, 0.5, step=0.05)
    hp.Boolean("batchnorm")
    hp.Choice("optimizer", ["adam", "sgd"])
    with hp.conditional_scope("optimizer", ["sgd"]):
        hp.Float("momentum", 0.0, 0.99)
    return hp


_REFERENCE = cheap_space()


def cheap_score(values):
    """In [0, 1], 1 only at ``OPTIMUM``: the mean closeness, in each hyperparameter's unit
    encoding, of ``values`` to the optimum (an exact match for the activation; 0.5 for the
    momentum while it is inactive).

    Args:
        values: a trial's hyperparameter values (dict name -> value).
    """
    total = 0.0
    for hp in _REFERENCE.space:
        if hp.name == "activation":
            total += float(values["activation"] == OPTIMUM["activation"])
        elif hp.name == "momentum" and "momentum" not in values:
            total += 0.5
        else:
            total += 1.0 - abs(hp.value_to_prob(values[hp.name])
                               - hp.value_to_prob(OPTIMUM[hp.name]))
    return total / len(_REFERENCE.space)
