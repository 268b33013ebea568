"""Side-by-side search benchmark on the NAS-Bench-201 table (project issue 5).

Every strategy is a keras-tuner ``Oracle`` over the same ``HyperParameters``: six ``Choice``
hyperparameters, one per cell edge, whose values are the op names. One driver loop runs them
all the same way, in one process, without a Tuner or a model: ``create_trial`` -> look the
proposed cell up in the table -> ``update_trial`` / ``end_trial`` with the accuracy as the
objective (direction ``max``).

A *query* is one new architecture. A proposal that repeats an architecture the strategy
already queried gets its known accuracy back at no cost (it is counted as a duplicate, not a
query); each oracle may make at most ``max_proposals_factor * budget`` proposals.

The table's accuracies are 200-epoch *test* accuracies averaged over training seeds: the
strategies are rewarded with the truth, without noise. Every report says so.

Per-trial bookkeeping: keras-tuner writes ``trial.json`` and ``oracle.json`` on every
``create_trial`` / ``update_trial`` / ``end_trial``. Measured here (2 CPU cores), this costs
about 2-4 ms per trial on the disk and 1 ms on tmpfs, next to 0.3-3 ms of search work for the
cheap strategies and about 1-2 s for Bayesian optimization (scipy's L-BFGS on the GP's UCB,
50 restarts with numerical gradients, dominates it). The driver keeps the writes (they
also exercise every oracle's ``get_state``) and points all project directories at tmpfs
(``/dev/shm``) when there is one, which treats every strategy alike.
"""

import contextlib
import dataclasses
import json
import math
import os
import shutil
import tempfile
import time

import keras_tuner
import numpy as np
from keras_tuner.engine import trial as trial_module

from nases_tf.errors import ConfigError
from nases_tf.nasbench201_table import NasBench201Table, arch_codes
from nases_tf.spaces.nasbench201 import OPS, NasBench201Space

OBJECTIVE_NAME = "accuracy"
CHECKPOINTS = (25, 50, 100, 200)
NOISE_NOTE = ("rewards are NAS-Bench-201 200-epoch test accuracies (mean over training "
              "seeds), given to every strategy without noise")


def objective():
    """The benchmark's objective: table accuracy, maximized."""
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


def oracle_seed(seed):
    """The oracle seed used for benchmark seed ``seed`` (an int >= 0).

    keras-tuner's ``_random_values`` seeds hyperparameter ``k`` of a trial with
    ``seed_state = seed + (draws so far)``, so oracles with seeds 1, 2, 3 draw shifted copies
    of one sequence; and ``seed=0`` means "random". Spacing the seeds 1,000,003 apart keeps
    the runs of a benchmark independent (within 2**31 for numpy's ``RandomState``).

    Args:
        seed: a non-negative int.
    """
    seed = int(seed)
    if seed < 0:
        raise ConfigError(f"benchmark seeds must be >= 0, got {seed}")
    return 1 + (1_000_003 * seed) % (2**31 - 2)


# ---------------------------------------------------------------------------------------
# Strategies: name -> factory(seed, hyperparameters, max_trials, **flags) -> keras-tuner Oracle.
# Factories take the whole flag dict and read what they need.


def _random_factory(seed, hyperparameters, max_trials, **flags):
    """keras-tuner's ``RandomSearchOracle``."""
    return keras_tuner.oracles.RandomSearchOracle(
        objective=objective(), max_trials=max_trials, seed=seed,
        hyperparameters=hyperparameters)


def _bayesian_factory(seed, hyperparameters, max_trials, **flags):
    """keras-tuner's ``BayesianOptimizationOracle`` (GP, Matern 5/2, UCB), its defaults."""
    try:
        return keras_tuner.oracles.BayesianOptimizationOracle(
            objective=objective(), max_trials=max_trials, seed=seed,
            hyperparameters=hyperparameters)
    except ImportError as e:
        raise ConfigError(f"strategy 'bayesian' needs scipy and scikit-learn: {e}") from None


def _evolution_factory(seed, hyperparameters, max_trials, population=20, tournament=10,
                       **flags):
    """``nases_tf.baselines.RegularizedEvolutionOracle`` with ``--population/--tournament``."""
    from nases_tf.baselines import RegularizedEvolutionOracle

    return RegularizedEvolutionOracle(
        objective=objective(), max_trials=max_trials, seed=seed,
        hyperparameters=hyperparameters, population_size=population, sample_size=tournament)


def _reinforce_factory(seed, hyperparameters, max_trials, reinforce_lr=0.2,
                       reinforce_entropy=0.01, **flags):
    """``nases_tf.baselines.ReinforceOracle`` with ``--reinforce_lr/--reinforce_entropy``."""
    from nases_tf.baselines import ReinforceOracle

    return ReinforceOracle(
        objective=objective(), max_trials=max_trials, seed=seed,
        hyperparameters=hyperparameters, learning_rate=reinforce_lr,
        entropy_weight=reinforce_entropy)


def _import_nases_oracle():
    try:
        from nases_tf import tuner
    except ImportError as e:
        raise ConfigError(f"strategy 'nases' needs nases_tf.tuner, which fails to import: {e}") \
            from None
    if not hasattr(tuner, "NASESOracle"):
        raise ConfigError("strategy 'nases' needs nases_tf.tuner.NASESOracle, which is missing")
    return tuner.NASESOracle


def _nases_factory(seed, hyperparameters, max_trials, nases_state_update=None,
                   nases_samples_per_update=None, nases_initial_sigma=None,
                   nases_embedding_dim=None, **flags):
    """``nases_tf.tuner.NASESOracle`` (imported lazily) with ``--nases_*``; a setting left
    None keeps the Oracle's default."""
    oracle_cls = _import_nases_oracle()
    settings = {"state_update": nases_state_update,
                "samples_per_update": nases_samples_per_update,
                "initial_sigma": nases_initial_sigma, "embedding_dim": nases_embedding_dim}
    return oracle_cls(objective=objective(), max_trials=max_trials, seed=seed,
                      hyperparameters=hyperparameters,
                      **{k: v for k, v in settings.items() if v is not None})


_nases_factory.check = _import_nases_oracle

STRATEGIES = {
    "random": _random_factory,
    "bayesian": _bayesian_factory,
    "evolution": _evolution_factory,
    "reinforce": _reinforce_factory,
    "nases": _nases_factory,
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


# ---------------------------------------------------------------------------------------
# The driver.


@dataclasses.dataclass
class SearchRun:
    """What one strategy found with one seed.

    Args:
        strategy: strategy name.
        seed: benchmark seed (the oracle got ``oracle_seed(seed)``).
        archs: the queried architectures, in query order (tuples of 6 ints).
        accuracies: their table accuracies.
        proposals: trials the oracle created (queries plus duplicates).
        duplicates: proposals that repeated an already queried architecture.
        seconds: wall time of the run, oracle construction included.
    """

    strategy: str
    seed: int
    archs: list
    accuracies: list
    proposals: int
    duplicates: int
    seconds: float

    def best_so_far(self, budget):
        """Best accuracy after each of ``budget`` queries.

        Args:
            budget: the curve's length; if the oracle stopped earlier its last value repeats
                (all NaN if it queried nothing).

        Returns:
            A float64 array of shape ``(budget,)``.
        """
        curve = np.maximum.accumulate(np.asarray(self.accuracies, dtype=np.float64)) \
            if self.accuracies else np.zeros(0)
        out = np.full(budget, np.nan)
        out[:min(budget, len(curve))] = curve[:budget]
        if 0 < len(curve) < budget:
            out[len(curve):] = curve[-1]
        return out


def run_search(oracle, table, budget, space=None, tuner_id="benchmark"):
    """Drives ``oracle`` until it has queried ``budget`` distinct architectures of ``table``.

    The oracle's project directory must be set (``oracle._set_project_dir``). Stops early if
    the oracle returns a trial that is not RUNNING (stopped, exhausted or idle).

    Args:
        oracle: a keras-tuner Oracle over ``make_hyperparameters(space)`` with objective
            ``accuracy`` (max).
        table: a ``NasBench201Table``.
        budget: the number of distinct architectures to query.
        space: the ``NasBench201Space`` naming the hyperparameters.
        tuner_id: the tuner id used for ``create_trial``.

    Returns:
        ``(archs, accuracies, proposals, duplicates)``.
    """
    space = space or NasBench201Space()
    names = space.decision_names
    seen = {}
    archs, accuracies = [], []
    proposals = duplicates = 0
    while len(archs) < budget:
        trial = oracle.create_trial(tuner_id)
        if trial.status != trial_module.TrialStatus.RUNNING:
            break
        proposals += 1
        values = trial.hyperparameters.values
        arch = space.from_json({"edges": [values[name] for name in names]})
        code = int(arch_codes(arch))
        if code in seen:
            duplicates += 1
            accuracy = seen[code]
        else:
            accuracy = table.accuracy(arch)
            seen[code] = accuracy
            archs.append(arch)
            accuracies.append(accuracy)
        oracle.update_trial(trial.trial_id, {OBJECTIVE_NAME: accuracy})
        trial.status = trial_module.TrialStatus.COMPLETED
        oracle.end_trial(trial)
    return archs, accuracies, proposals, duplicates


def _scratch_root(workdir):
    if workdir:
        os.makedirs(workdir, exist_ok=True)
        return tempfile.mkdtemp(prefix="nb201_bench_", dir=workdir)
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK):
        return tempfile.mkdtemp(prefix="nb201_bench_", dir=shm)
    return tempfile.mkdtemp(prefix="nb201_bench_")


def run_strategy(name, table, budget, seed, flags=None, workdir=None,
                 max_proposals_factor=2.0):
    """Runs strategy ``name`` once with benchmark seed ``seed``.

    Args:
        name: a key of ``STRATEGIES``.
        table: a ``NasBench201Table``.
        budget: distinct architectures to query.
        seed: benchmark seed (int >= 0).
        flags: dict of strategy options passed to the factory (``population``, ...).
        workdir: folder for the oracle's project directory (tmpfs or system temp if None);
            the directory is deleted afterwards.
        max_proposals_factor: the oracle gets ``max_trials = ceil(factor * budget)``.

    Returns:
        A ``SearchRun``.
    """
    if name not in STRATEGIES:
        raise ConfigError(f"unknown strategy {name!r}, expected one of {', '.join(STRATEGIES)}")
    if int(budget) < 1:
        raise ConfigError(f"--budget must be >= 1, got {budget}")
    if not float(max_proposals_factor) >= 1:
        raise ConfigError(f"max_proposals_factor must be >= 1, got {max_proposals_factor}")
    space = NasBench201Space()
    root = _scratch_root(workdir)
    try:
        start = time.perf_counter()
        oracle = STRATEGIES[name](
            oracle_seed(seed), make_hyperparameters(space),
            int(math.ceil(float(max_proposals_factor) * int(budget))), **(flags or {}))
        oracle.verbose = 0
        oracle._set_project_dir(root, f"{name}_{seed}")
        archs, accuracies, proposals, duplicates = run_search(oracle, table, int(budget), space)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return SearchRun(name, int(seed), archs, accuracies, proposals, duplicates, seconds)


def checkpoints(budget):
    """The query counts reported for ``budget``: 25/50/100/200 within it, and ``budget``.

    Args:
        budget: distinct architectures per run.
    """
    points = [c for c in CHECKPOINTS if c <= budget]
    if budget not in points:
        points.append(int(budget))
    return points


def summarize(runs, table, budget):
    """The JSON report of a benchmark.

    Args:
        runs: dict strategy name -> list of ``SearchRun``.
        table: the ``NasBench201Table`` searched.
        budget: distinct architectures each run was allowed.

    Returns:
        ``{"dataset", "optimum", "optimum_architecture", "budget", "note", "strategies":
        {name: {"seeds", "budgets": {"25": {"mean", "std", "regret_mean", "regret_std"}},
        "curve_mean", "curve_std", "seconds", "seconds_per_seed", "queries_mean",
        "duplicates_mean", "found_optimum"}}}``; std is the sample standard deviation over
        seeds (0 for one seed).
    """
    opt_arch, optimum = table.optimum()
    report = {
        "dataset": table.dataset,
        "optimum": optimum,
        "optimum_architecture": table.space.to_string(opt_arch),
        "budget": int(budget),
        "note": NOISE_NOTE,
        "strategies": {},
    }
    for name, strategy_runs in runs.items():
        curves = np.stack([run.best_so_far(budget) for run in strategy_runs])
        ddof = 1 if len(strategy_runs) > 1 else 0
        entry = {"seeds": len(strategy_runs), "budgets": {}}
        for point in checkpoints(budget):
            values = curves[:, point - 1]
            regrets = optimum - values
            entry["budgets"][str(point)] = {
                "mean": float(np.mean(values)), "std": float(np.std(values, ddof=ddof)),
                "regret_mean": float(np.mean(regrets)),
                "regret_std": float(np.std(regrets, ddof=ddof))}
        entry["curve_mean"] = [float(x) for x in np.mean(curves, axis=0)]
        entry["curve_std"] = [float(x) for x in np.std(curves, axis=0, ddof=ddof)]
        seconds = sum(run.seconds for run in strategy_runs)
        entry["seconds"] = float(seconds)
        entry["seconds_per_seed"] = float(seconds / len(strategy_runs))
        entry["queries_mean"] = float(np.mean([len(run.archs) for run in strategy_runs]))
        entry["duplicates_mean"] = float(np.mean([run.duplicates for run in strategy_runs]))
        entry["found_optimum"] = float(np.mean(
            [bool(run.accuracies) and max(run.accuracies) >= optimum for run in strategy_runs]))
        report["strategies"][name] = entry
    return report


def format_report(report):
    """A plain-text table of ``summarize``'s report.

    Args:
        report: the dict of ``summarize``.
    """
    points = sorted(int(p) for p in next(iter(report["strategies"].values()))["budgets"]) \
        if report["strategies"] else []
    lines = [
        f"NAS-Bench-201 {report['dataset']}: best accuracy found after N queries (distinct "
        f"architectures), mean +- std over seeds",
        f"Note: {report['note']}.",
        f"Table optimum {report['optimum']:.4f} ({report['optimum_architecture']}).",
    ]
    header = f"{'strategy':<10} {'seeds':>5} " + " ".join(f"{'best@' + str(p):>15}" for p in points)
    header += f" {'regret@' + str(points[-1]) if points else 'regret':>11} {'optimum':>7}" \
              f" {'dups':>6} {'seconds':>8} {'s/seed':>7}"
    lines.append(header)
    for name, entry in report["strategies"].items():
        row = f"{name:<10} {entry['seeds']:>5} "
        cells = [entry["budgets"][str(p)] for p in points]
        row += " ".join(f"{c['mean']:>7.3f} +- {c['std']:<4.2f}" for c in cells)
        last = entry["budgets"][str(points[-1])]
        row += f" {last['regret_mean']:>11.3f} {entry['found_optimum']:>7.0%}"
        row += f" {entry['duplicates_mean']:>6.1f} {entry['seconds']:>8.1f}" \
               f" {entry['seconds_per_seed']:>7.2f}"
        lines.append(row)
    lines.append("regret = table optimum - best found (mean); optimum = share of seeds that "
                 "found a table optimum; dups = mean repeated proposals (free).")
    return "\n".join(lines)


def plot_report(report, path):
    """Writes a PNG of the mean best-so-far curves with +-1 std bands.

    Args:
        report: the dict of ``summarize``.
        path: the PNG path.

    Returns:
        True if written; False (after printing why) if matplotlib cannot be imported.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"--plot={path} skipped: matplotlib is not installed (pip install matplotlib)")
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, entry in report["strategies"].items():
        mean = np.asarray(entry["curve_mean"])
        std = np.asarray(entry["curve_std"])
        x = np.arange(1, len(mean) + 1)
        ax.plot(x, mean, label=f"{name} ({entry['seeds']} seeds)")
        # The band is clipped at the optimum: no architecture beats it.
        ax.fill_between(x, mean - std, np.minimum(mean + std, report["optimum"]), alpha=0.2)
    ax.axhline(report["optimum"], color="black", linestyle="--", linewidth=0.8,
               label=f"table optimum {report['optimum']:.2f}")
    ax.set_xscale("log")
    ax.set_xlabel("queries (distinct architectures)")
    ax.set_ylabel(f"best {report['dataset']} test accuracy so far (%)")
    low = min(np.nanmin(np.asarray(e["curve_mean"])[min(9, len(e["curve_mean"]) - 1):])
              for e in report["strategies"].values())
    ax.set_ylim(max(low - 1.0, 0), report["optimum"] + 0.3)
    ax.set_title(f"NAS-Bench-201 {report['dataset']}: mean +- std over seeds (band clipped at "
                 "the optimum)\nrewards: table test accuracies, without noise",
                 fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def _limit_blas_threads(threads):
    """A context that caps numpy/scipy's BLAS and OpenMP pools at ``threads`` (0: no cap).

    Bayesian optimization's many tiny Gaussian-process solves run about 6x slower with
    OpenBLAS's two threads than with one on a busy 2-core machine (measured: 510 s vs 81 s for
    40 trials), and no strategy here gains from BLAS threads.
    """
    if not threads:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=int(threads))


def run_benchmark(table, strategies, budget, seeds, flags=None, workdir=None,
                  max_proposals_factor=2.0, log=print, blas_threads=1):
    """Runs every strategy on seeds ``0 .. seeds-1`` and returns ``summarize``'s report.

    Args:
        table: a ``NasBench201Table``.
        strategies: list of ``(name, seed_count or None)`` as from ``parse_strategies``.
        budget: distinct architectures per run.
        seeds: number of seeds per strategy (a strategy's own count caps it).
        flags: dict of strategy options passed to the factories.
        workdir: folder for the oracles' scratch project directories (tmpfs if None).
        max_proposals_factor: each oracle may propose ``factor * budget`` trials.
        log: a print-like function (taking ``flush=``) for progress lines, or None.
        blas_threads: cap on BLAS/OpenMP threads during the runs (0 leaves them alone).

    Returns:
        ``summarize``'s report plus ``"interrupted"``: True if a KeyboardInterrupt cut the
        run short (the report then covers the runs that finished).
    """
    if int(seeds) < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds}")
    for name, _ in strategies:
        check = getattr(STRATEGIES[name], "check", None)
        if check is not None:
            check()
    runs = {}
    interrupted = False
    try:
        with _limit_blas_threads(blas_threads):
            for name, count in strategies:
                n = int(seeds) if count is None else min(int(seeds), count)
                for seed in range(n):
                    run = run_strategy(name, table, budget, seed, flags, workdir,
                                       max_proposals_factor)
                    runs.setdefault(name, []).append(run)
                    if log:
                        best = max(run.accuracies) if run.accuracies else float("nan")
                        log(f"{name} seed {seed}: best {best:.4f} after {len(run.archs)} "
                            f"queries ({run.duplicates} duplicates), {run.seconds:.2f} s",
                            flush=True)
    except KeyboardInterrupt:
        # Ctrl-C (or `timeout -s INT`) still reports the runs that finished.
        interrupted = True
        if log:
            log("interrupted: reporting the runs that finished", flush=True)
        if not runs:
            raise
    report = summarize(runs, table, budget)
    report["interrupted"] = interrupted
    return report


# ---------------------------------------------------------------------------------------
# Command line (bin/benchmark_search.py defines these flags and calls ``main``).


def define_flags(flag_values=None):
    """Defines the benchmark's absl flags.

    Args:
        flag_values: an absl ``FlagValues`` (absl's global ``FLAGS`` if None).
    """
    from absl import flags

    fv = flag_values if flag_values is not None else flags.FLAGS
    flags.DEFINE_string("table", None, "NAS-Bench-201 CSV (e.g. ../shared/data/"
                        "nasbench201_cifar10.csv).", flag_values=fv)
    flags.DEFINE_enum("dataset", "cifar10", ["cifar10", "cifar100", "imagenet16-120"],
                      "Which accuracy column of the table to search.", flag_values=fv)
    flags.DEFINE_string("strategies", "random,evolution,reinforce,nases,bayesian:2",
                        "Comma-separated strategies among " + ", ".join(STRATEGIES) +
                        "; NAME:N runs NAME on the first N seeds only.", flag_values=fv)
    flags.DEFINE_integer("budget", 200, "Distinct architectures each run may query.",
                         flag_values=fv)
    flags.DEFINE_integer("seeds", 50, "Runs per strategy (seeds 0..N-1).", flag_values=fv)
    flags.DEFINE_string("output_json", None, "Write the summary JSON here.", flag_values=fv)
    flags.DEFINE_string("plot", None, "Write a PNG of best-so-far curves here.",
                        flag_values=fv)
    flags.DEFINE_integer("population", 20, "Regularized evolution: population size.",
                         flag_values=fv)
    flags.DEFINE_integer("tournament", 10, "Regularized evolution: tournament sample size.",
                         flag_values=fv)
    flags.DEFINE_float("reinforce_lr", 0.2, "REINFORCE: learning rate on the logits.",
                       flag_values=fv)
    flags.DEFINE_float("reinforce_entropy", 0.01, "REINFORCE: entropy bonus weight.",
                       flag_values=fv)
    flags.DEFINE_enum("nases_state_update", "elitist", ["decoded", "elitist", "best"],
                      "NASES: how a chain's state moves (NASESOracle's state_update).",
                      flag_values=fv)
    flags.DEFINE_integer("nases_samples_per_update", 8, "NASES: chains, and trials per "
                         "REINFORCE step (tuned on held-out seeds 1000-1019).",
                         flag_values=fv)
    flags.DEFINE_float("nases_initial_sigma", 0.3, "NASES: initial policy standard "
                       "deviation (tuned on held-out seeds 1000-1019).", flag_values=fv)
    flags.DEFINE_integer("nases_embedding_dim", None, "NASES: embedding size (None: the "
                         "Oracle's default).", flag_values=fv)
    flags.DEFINE_float("max_proposals_factor", 2.0, "Each oracle may propose this many "
                       "times --budget trials (duplicates included).", flag_values=fv)
    flags.DEFINE_integer("blas_threads", 1, "Cap on numpy/scipy BLAS and OpenMP threads "
                         "during the search (0: no cap); one is fastest for these tiny "
                         "problems.", flag_values=fv)
    flags.DEFINE_string("workdir", None, "Scratch folder for oracle project directories "
                        "(default: /dev/shm if writable, else the system temp).",
                        flag_values=fv)


def main(fv):
    """Runs the benchmark the parsed flags ``fv`` describe; prints and writes its report.

    Args:
        fv: parsed absl ``FlagValues`` holding the flags of ``define_flags``.
    """
    if not fv.table:
        raise ConfigError("--table is required (the NAS-Bench-201 CSV)")
    strategies = parse_strategies(fv.strategies)
    table = NasBench201Table.load(fv.table, fv.dataset)
    strategy_flags = {"population": fv.population, "tournament": fv.tournament,
                      "reinforce_lr": fv.reinforce_lr,
                      "reinforce_entropy": fv.reinforce_entropy,
                      "nases_state_update": fv.nases_state_update,
                      "nases_samples_per_update": fv.nases_samples_per_update,
                      "nases_initial_sigma": fv.nases_initial_sigma,
                      "nases_embedding_dim": fv.nases_embedding_dim}
    report = run_benchmark(table, strategies, fv.budget, fv.seeds, strategy_flags,
                           fv.workdir, fv.max_proposals_factor,
                           blas_threads=fv.blas_threads)
    report["settings"] = {"strategies": fv.strategies, "budget": fv.budget,
                          "seeds": fv.seeds, **strategy_flags,
                          "max_proposals_factor": fv.max_proposals_factor,
                          "blas_threads": fv.blas_threads}
    print(format_report(report))
    if report["interrupted"]:
        print("(interrupted: strategies and seeds that did not finish are missing)")
    if fv.output_json:
        os.makedirs(os.path.dirname(os.path.abspath(fv.output_json)), exist_ok=True)
        with open(fv.output_json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"wrote {fv.output_json}")
    if fv.plot and plot_report(report, fv.plot):
        print(f"wrote {fv.plot}")
    return report
