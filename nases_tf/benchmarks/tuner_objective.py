"""A cheap keras-tuner objective with a known optimum, and NASES against keras-tuner's
oracles on it.

The space has every hyperparameter type (Choice, Int with and without step, log Float,
Float with step, Boolean, a conditional Float); a trial's score is its closeness to a fixed
optimum, in [0, 1], 1 only at the optimum, so thousands of trials cost seconds and the best
value found after N trials measures a search algorithm alone. Run it with
``python bin/benchmark_tuner.py --seeds=10 --trials=30,60,100``.
"""

import tempfile
import time

import keras_tuner
import numpy as np
from keras_tuner.engine import base_tuner

from nases_tf.storage import fileio

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


class ScoreTuner(base_tuner.BaseTuner):
    """A keras-tuner ``BaseTuner`` whose trials score their values with ``cheap_score``.

    Args:
        oracle: any keras-tuner ``Oracle`` with objective ``OBJECTIVE``.
        **kwargs: ``BaseTuner`` arguments (``directory``, ``project_name``, ``overwrite``).
    """

    def run_trial(self, trial, *args, **kwargs):
        return {"score": cheap_score(trial.hyperparameters.values)}


def make_oracle(strategy, seed, max_trials):
    """The oracle of ``strategy`` over ``cheap_space()``.

    Args:
        strategy: ``random``, ``bayesian``, ``nases`` or ``nases_frozen`` (NASES with
            learning switched off).
        seed: the oracle's seed.
        max_trials: its budget.
    """
    from nases_tf.oracles.nases import NASESOracle

    common = dict(objective=OBJECTIVE, max_trials=max_trials, seed=seed,
                  hyperparameters=cheap_space())
    if strategy == "random":
        return keras_tuner.oracles.RandomSearchOracle(**common)
    if strategy == "bayesian":
        return keras_tuner.oracles.BayesianOptimizationOracle(**common)
    if strategy in ("nases", "nases_frozen"):
        return NASESOracle(**common, learning=strategy == "nases")
    raise ValueError(f"unknown strategy {strategy!r}: expected random, bayesian, nases or "
                     "nases_frozen")


def run_search(strategy, seed, max_trials, directory):
    """One search on the cheap objective; returns the scores in trial order.

    Args:
        strategy: see ``make_oracle``.
        seed: the oracle's seed.
        max_trials: the budget.
        directory: a scratch directory for keras-tuner's files.
    """
    oracle = make_oracle(strategy, seed, max_trials)
    tuner = ScoreTuner(oracle, directory=str(directory), project_name=f"{strategy}_{seed}",
                       overwrite=True)
    tuner.oracle.verbose = 0
    tuner.search(verbose=0)
    return [oracle.trials[i].score for i in oracle.start_order]


def seeds(count):
    """``count`` seeds far apart: keras-tuner's random search with seeds s and s+1 draws
    shifted copies of one sequence."""
    return [1 + 1_000_003 * i for i in range(count)]


def compare(strategies, seed_list, budgets, directory=None):
    """Mean best score after each budget, with standard errors, for every strategy.

    Args:
        strategies: strategy names (see ``make_oracle``).
        seed_list: the seeds, the same for every strategy.
        budgets: trial counts to report; the largest is each search's budget.
        directory: scratch directory (a temporary one if None).

    Returns:
        dict strategy -> {"budgets": {str(b): {"mean", "std", "se"}}, "mean_trial_score",
        "seconds"}.
    """
    budgets = sorted(int(b) for b in budgets)
    out = {}
    with tempfile.TemporaryDirectory() as scratch:
        for strategy in strategies:
            start = time.time()
            runs = [run_search(strategy, s, budgets[-1], directory or scratch)
                    for s in seed_list]
            report = {}
            for b in budgets:
                best = np.array([max(r[:b]) for r in runs])
                std = float(best.std(ddof=1)) if len(best) > 1 else 0.0
                report[str(b)] = {"mean": float(best.mean()), "std": std,
                                  "se": std / np.sqrt(len(best))}
            out[strategy] = {"budgets": report,
                             "mean_trial_score": float(np.mean([np.mean(r) for r in runs])),
                             "seconds": (time.time() - start) / len(seed_list)}
    return out


def format_table(result):
    """A text table of ``compare``'s result: mean best ± standard error per budget."""
    budgets = list(next(iter(result.values()))["budgets"])
    lines = ["strategy      " + "".join(f"best@{b:<14}" for b in budgets) + "s/seed"]
    for name, info in result.items():
        cells = "".join(f"{v['mean']:.4f} ± {v['se']:.4f}  " for v in info["budgets"].values())
        lines.append(f"{name:<14}{cells}{info['seconds']:.1f}")
    return "\n".join(lines)


def main(argv=None):
    """Command line: ``--strategies --seeds --trials --output_json``."""
    import argparse

    parser = argparse.ArgumentParser(description="NASES against keras-tuner's oracles on a "
                                     "cheap objective with a known optimum.")
    parser.add_argument("--strategies", default="random,bayesian,nases,nases_frozen")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", default="30,60,100", help="budgets, comma separated")
    parser.add_argument("--output_json", default=None)
    args = parser.parse_args(argv)
    result = compare(args.strategies.split(","), seeds(args.seeds),
                     [int(t) for t in args.trials.split(",")])
    print(format_table(result))
    if args.output_json:
        fileio.write_json(args.output_json, {"objective": "cheap_score", "seeds": args.seeds,
                                             "strategies": result})
    return result


def run():
    """Console entry point."""
    main()


if __name__ == "__main__":
    run()
