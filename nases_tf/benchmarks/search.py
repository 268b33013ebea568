"""Side-by-side search benchmark on the NAS-Bench-201 table: the driver and its report.

Every strategy (``nases_tf.benchmarks.strategies``) is a keras-tuner ``Oracle`` over the same
``HyperParameters``. One driver loop runs them all the same way, in one process, without a
Tuner or a model: ``create_trial`` -> look the proposed cell up in the table ->
``update_trial`` / ``end_trial`` with the accuracy as the objective (direction ``max``).

A *query* is one new architecture. A proposal that repeats an architecture the strategy
already queried gets its known accuracy back at no cost (it is counted as a duplicate, not a
query); each oracle may make at most ``max_proposals_factor * budget`` proposals.

The table's accuracies are 200-epoch *test* accuracies averaged over training seeds: the
strategies are rewarded with the truth, without noise. Every report says so.

keras-tuner writes ``trial.json`` and ``oracle.json`` on every ``create_trial`` /
``update_trial`` / ``end_trial``, a cost of the same order as the cheap strategies' own
search work. The driver keeps the writes (they also exercise every oracle's ``get_state``)
and points all project directories at tmpfs (``/dev/shm``) when there is one, which treats
every strategy alike.
"""

import contextlib
import dataclasses
import math
import os
import shutil
import tempfile
import time

import numpy as np
from keras_tuner.engine import trial as trial_module

from nases_tf.benchmarks.nasbench201 import arch_codes
from nases_tf.benchmarks.strategies import OBJECTIVE_NAME, STRATEGIES, make_hyperparameters
from nases_tf.errors import ConfigError
from nases_tf.spaces.nasbench201 import NasBench201Space

CHECKPOINTS = (25, 50, 100, 200)
NOISE_NOTE = ("rewards are NAS-Bench-201 200-epoch test accuracies (mean over training "
              "seeds), given to every strategy without noise")


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


def _spread(values):
    """``(mean, std, se)`` of a 1-d array: std is the sample standard deviation (ddof=1; 0 for
    one value), se the standard error of the mean, ``std / sqrt(n)`` (None for one value)."""
    n = len(values)
    std = float(np.std(values, ddof=1)) if n > 1 else 0.0
    return float(np.mean(values)), std, (std / math.sqrt(n) if n > 1 else None)


def summarize(runs, table, budget):
    """The JSON report of a benchmark.

    Args:
        runs: dict strategy name -> list of ``SearchRun``.
        table: the ``NasBench201Table`` searched.
        budget: distinct architectures each run was allowed.

    Returns:
        ``{"dataset", "optimum", "optimum_architecture", "budget", "note", "strategies":
        {name: {"seeds", "budgets": {"25": {"mean", "std", "se", "regret_mean",
        "regret_std"}}, "curve_mean", "curve_std", "curve_se", "seconds", "seconds_per_seed",
        "queries_mean", "duplicates_mean", "found_optimum"}}}`` with a ``budgets`` entry per
        ``checkpoints(budget)`` and curve entries for queries 1..budget; std is the sample
        standard deviation over seeds (ddof=1; 0 for one seed), se the standard error of
        the mean, ``std / sqrt(seeds)`` (null at the checkpoints, 0 in ``curve_se``, for one
        seed).
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
        entry = {"seeds": len(strategy_runs), "budgets": {}}
        for point in checkpoints(budget):
            mean, std, se = _spread(curves[:, point - 1])
            regret_mean, regret_std, _ = _spread(optimum - curves[:, point - 1])
            entry["budgets"][str(point)] = {
                "mean": mean, "std": std, "se": se,
                "regret_mean": regret_mean, "regret_std": regret_std}
        curve_std = np.std(curves, axis=0, ddof=1 if len(strategy_runs) > 1 else 0)
        entry["curve_mean"] = [float(x) for x in np.mean(curves, axis=0)]
        entry["curve_std"] = [float(x) for x in curve_std]
        entry["curve_se"] = [float(x) for x in curve_std / math.sqrt(len(strategy_runs))]
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
    """A plain-text table of ``summarize``'s report: mean ± standard error of the best
    accuracy at each reported query count, and the seconds each seed took.

    Args:
        report: the dict of ``summarize``.
    """
    points = sorted(int(p) for p in next(iter(report["strategies"].values()))["budgets"]) \
        if report["strategies"] else []
    lines = [
        f"NAS-Bench-201 {report['dataset']}: best accuracy found after N queries (distinct "
        f"architectures), mean ± standard error over seeds",
        f"Note: {report['note']}.",
        f"Table optimum {report['optimum']:.4f} ({report['optimum_architecture']}).",
    ]
    header = f"{'strategy':<12} {'seeds':>5} " + " ".join(f"{'best@' + str(p):>15}" for p in points)
    header += f" {'regret@' + str(points[-1]) if points else 'regret':>11} {'optimum':>7}" \
              f" {'dups':>6} {'seconds':>8} {'s/seed':>7}"
    lines.append(header)
    for name, entry in report["strategies"].items():
        row = f"{name:<12} {entry['seeds']:>5} "
        cells = [entry["budgets"][str(p)] for p in points]
        row += " ".join(f"{c['mean']:>7.3f} ± " + ("n/a  " if c.get("se") is None
                                                   else f"{c['se']:<5.3f}") for c in cells)
        last = entry["budgets"][str(points[-1])]
        row += f" {last['regret_mean']:>11.3f} {entry['found_optimum']:>7.0%}"
        row += f" {entry['duplicates_mean']:>6.1f} {entry['seconds']:>8.1f}" \
               f" {entry['seconds_per_seed']:>7.2f}"
        lines.append(row)
    lines.append("regret = table optimum - best found (mean); optimum = share of seeds that "
                 "found a table optimum; dups = mean repeated proposals (free); s/seed = "
                 "seconds per seed.")
    return "\n".join(lines)


def _limit_blas_threads(threads):
    """A context that caps numpy/scipy's BLAS and OpenMP pools at ``threads`` (0: no cap).

    Bayesian optimization's many tiny Gaussian-process solves run several times slower with
    more than one OpenBLAS thread on a busy small machine, and no strategy here gains from
    BLAS threads.
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
