"""The search strategies the NAS-Bench-201 benchmark compares, each a keras-tuner Oracle.

Every strategy searches the same ``HyperParameters`` (``make_hyperparameters``: six
``Choice`` hyperparameters, one per cell edge, whose values are the op names) for the same
objective (``objective``: the table accuracy, maximized). ``STRATEGIES`` maps a strategy name
to its factory, ``factory(seed, hyperparameters, max_trials, objective=None, **flags) ->
Oracle``; a factory takes the benchmark's whole flag dict and reads what it needs, and the
keras-tuner benchmark passes its own ``objective`` and spaces to the same factories.
"""

import keras_tuner

from nases_tf.errors import ConfigError
from nases_tf.spaces.nasbench201 import OPS, NasBench201Space

OBJECTIVE_NAME = "accuracy"

# How strategy ``nases_frozen`` switches NASESOracle's learning off: the same proposals as
# ``nases``, ranked at random, nothing learned.
NASES_LEARNING_OFF = {"learning": False}
# Strategy ``nases_paper``: the paper's chain read literally (next state = decoded sample).
NASES_PAPER = {"proposals": "decoded"}


def default_objective():
    """The NAS-Bench-201 benchmark's objective: table accuracy, maximized."""
    return keras_tuner.Objective(OBJECTIVE_NAME, direction="max")


def make_hyperparameters(space=None):
    """keras-tuner ``HyperParameters`` with one ``Choice`` of op names per cell edge.

    Args:
        space: a ``NasBench201Space`` (a new one if None); its ``decision_names`` name the
            hyperparameters.
    """
    space = space or NasBench201Space()
    hps = keras_tuner.HyperParameters()
    for name in space.decision_names:
        hps.Choice(name, list(OPS))
    return hps


def _random_factory(seed, hyperparameters, max_trials, objective=None, **flags):
    """keras-tuner's ``RandomSearchOracle``."""
    return keras_tuner.oracles.RandomSearchOracle(
        objective=objective or default_objective(), max_trials=max_trials, seed=seed,
        hyperparameters=hyperparameters)


def _bayesian_factory(seed, hyperparameters, max_trials, objective=None, **flags):
    """keras-tuner's ``BayesianOptimizationOracle`` (GP, Matern 5/2, UCB), its defaults."""
    try:
        return keras_tuner.oracles.BayesianOptimizationOracle(
            objective=objective or default_objective(), max_trials=max_trials, seed=seed,
            hyperparameters=hyperparameters)
    except ImportError as e:
        raise ConfigError(f"strategy 'bayesian' needs scipy and scikit-learn: {e}") from None


def _evolution_factory(seed, hyperparameters, max_trials, objective=None, population=20,
                       tournament=10, **flags):
    """``nases_tf.oracles.evolution.RegularizedEvolutionOracle`` with
    ``--population/--tournament``."""
    from nases_tf.oracles.evolution import RegularizedEvolutionOracle

    return RegularizedEvolutionOracle(
        objective=objective or default_objective(), max_trials=max_trials, seed=seed,
        hyperparameters=hyperparameters, population_size=population, sample_size=tournament)


def _reinforce_factory(seed, hyperparameters, max_trials, objective=None,
                       reinforce_lr=0.2, reinforce_entropy=0.01, **flags):
    """``nases_tf.oracles.reinforce.ReinforceOracle`` with
    ``--reinforce_lr/--reinforce_entropy``."""
    from nases_tf.oracles.reinforce import ReinforceOracle

    return ReinforceOracle(
        objective=objective or default_objective(), max_trials=max_trials, seed=seed,
        hyperparameters=hyperparameters, learning_rate=reinforce_lr,
        entropy_weight=reinforce_entropy)


def _tpe_factory(seed, hyperparameters, max_trials, objective=None, **flags):
    """``nases_tf.oracles.tpe.TPEOracle``: Optuna's ``TPESampler`` with its defaults."""
    try:
        import optuna
    except ImportError:
        raise ConfigError("strategy 'tpe' needs Optuna: pip install optuna") from None
    from nases_tf.oracles.tpe import TPEOracle

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial otherwise
    return TPEOracle(objective=objective or default_objective(), max_trials=max_trials,
                     seed=seed, hyperparameters=hyperparameters)


def _local_factory(seed, hyperparameters, max_trials, objective=None, local_initial_random=10,
                   **flags):
    """``nases_tf.oracles.local.LocalSearchOracle`` with ``--local_initial_random``."""
    from nases_tf.oracles.local import LocalSearchOracle

    return LocalSearchOracle(
        objective=objective or default_objective(), max_trials=max_trials, seed=seed,
        hyperparameters=hyperparameters, initial_random=local_initial_random)


def _nases_factory(seed, hyperparameters, max_trials, objective=None, nases_proposals=None,
                   nases_initial_points=None, nases_predictor=None,
                   nases_samples_per_update=None, nases_initial_sigma=None,
                   nases_embedding_dim=None, nases_fixed_options=None, **flags):
    """``nases_tf.oracles.nases.NASESOracle`` with ``--nases_*``; a setting left None keeps
    the Oracle's default. ``nases_fixed_options`` (a dict) overrides them."""
    from nases_tf.oracles.nases import NASESOracle

    settings = {"proposals": nases_proposals, "initial_points": nases_initial_points,
                "predictor": nases_predictor,
                "samples_per_update": nases_samples_per_update,
                "initial_sigma": nases_initial_sigma, "embedding_dim": nases_embedding_dim}
    settings = {k: v for k, v in settings.items() if v is not None}
    settings.update(nases_fixed_options or {})
    return NASESOracle(objective=objective or default_objective(), max_trials=max_trials,
                       seed=seed, hyperparameters=hyperparameters, **settings)


def _nases_frozen_factory(seed, hyperparameters, max_trials, objective=None, **flags):
    """``nases`` with learning switched off (``NASES_LEARNING_OFF``): its ablation."""
    return _nases_factory(seed, hyperparameters, max_trials, objective,
                          nases_fixed_options=NASES_LEARNING_OFF, **flags)


def _nases_paper_factory(seed, hyperparameters, max_trials, objective=None, **flags):
    """``nases`` with the paper's decoded chain (``NASES_PAPER``), for reproduction."""
    return _nases_factory(seed, hyperparameters, max_trials, objective,
                          nases_fixed_options=NASES_PAPER, **flags)


STRATEGIES = {
    "random": _random_factory,
    "bayesian": _bayesian_factory,
    "evolution": _evolution_factory,
    "reinforce": _reinforce_factory,
    "local": _local_factory,
    "tpe": _tpe_factory,
    "nases": _nases_factory,
    "nases_frozen": _nases_frozen_factory,
    "nases_paper": _nases_paper_factory,
}


def parse_strategies(text):
    """``"random,bayesian:5"`` -> ``[("random", None), ("bayesian", 5)]``.

    A ``:N`` suffix runs that strategy on the first N seeds only (for slow ones).

    Args:
        text: comma-separated strategy names, each optionally followed by ``:N``.

    Raises:
        ConfigError: for an unknown name, a bad count, or an empty list.
    """
    out = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            continue
        name, _, count = item.partition(":")
        if name not in STRATEGIES:
            raise ConfigError(
                f"--strategies names unknown strategy {name!r}, expected some of "
                f"{', '.join(STRATEGIES)}")
        if count:
            if not count.isdigit() or int(count) < 1:
                raise ConfigError(f"--strategies entry {item!r}: the seed count must be >= 1")
            count = int(count)
        else:
            count = None
        if any(name == n for n, _ in out):
            raise ConfigError(f"--strategies lists {name!r} twice")
        out.append((name, count))
    if not out:
        raise ConfigError("--strategies is empty")
    return out
