"""Side-by-side search benchmark on the NAS-Bench-201 table: the driver and its report.

Every strategy (``nases_tf.benchmarks.strategies``) is a keras-tuner ``Oracle`` over the same
``HyperParameters``. One driver loop runs them all the same way, in one process, without a
Tuner or a model: ``create_trial`` -> answer the proposed cell from the table ->
``update_trial`` / ``end_trial`` with the answer as the objective (direction ``max``) -> ask
the oracle what it would return now (``get_best_trials(1)``) and look up that cell's truth.

How a query is answered is the run's protocol (``nases_tf.benchmarks.protocol``): by default
one training seed's validation accuracy, and the search is judged by the seed-mean test
accuracy of what it returns; ``reward="noise_free"`` answers with that truth itself. A
*query* is one training run: with noisy rewards, proposing an architecture again trains it
again (a *re-query*, counted as a query); with noise-free rewards a repeat reveals nothing
new, so it is answered at no cost (a *duplicate*, not a query). Each oracle may make at
most ``max_proposals_factor * budget`` proposals.

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
from nases_tf.benchmarks.protocol import REWARDS, QueryAnswers
from nases_tf.benchmarks.stats import difference, spread
from nases_tf.benchmarks.strategies import OBJECTIVE_NAME, STRATEGIES, make_hyperparameters
from nases_tf.errors import ConfigError
from nases_tf.spaces.nasbench201 import NasBench201Space

CHECKPOINTS = (25, 50, 100, 200)


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


def answers_for(table, reward, seed):
    """The ``QueryAnswers`` of benchmark seed ``seed`` on a ``NasBench201Table``.

    Args:
        table: a ``NasBench201Table``; ``seed_validation`` needs its per-seed layout.
        reward: a key of ``protocol.REWARDS``.
        seed: the benchmark seed.
    """
    if reward != "noise_free" and not table.has_validation_runs:
        raise ConfigError(
            f"reward {reward!r} needs per-seed validation accuracies, and the table "
            f"{table.path} has test accuracies only: load the per-seed table "
            "(nasbench201_200ep_seeds.csv) or use reward 'noise_free'")
    return QueryAnswers(table.validation, table.accuracies, reward, seed)


@dataclasses.dataclass
class SearchRun:
    """What one strategy queried and returned with one seed.

    Args:
        strategy: strategy name.
        seed: benchmark seed (the oracle got ``oracle_seed(seed)``).
        archs: the queried architectures, in query order (tuples of 6 ints; a re-queried
            architecture appears again).
        rewards: the reward each query got.
        truths: the truth (seed-mean test accuracy) of each queried architecture.
        returned: after each query, the truth of the architecture the oracle would return
            (its ``get_best_trials(1)``).
        proposals: trials the oracle created (queries plus duplicates).
        duplicates: noise-free proposals that repeated an already queried architecture.
        requeries: noisy queries of an architecture queried before (each a new training).
        seconds: wall time of the run, oracle construction included.
    """

    strategy: str
    seed: int
    archs: list
    rewards: list
    truths: list
    returned: list
    proposals: int
    duplicates: int
    requeries: int
    seconds: float

    def returned_curve(self, budget):
        """The truth of the returned architecture after each of ``budget`` queries.

        Args:
            budget: the curve's length; if the oracle stopped earlier its last value repeats
                (all NaN if it queried nothing).

        Returns:
            A float64 array of shape ``(budget,)``.
        """
        return _padded(self.returned, budget)

    def queried_best_curve(self, budget):
        """The best truth among the architectures queried so far, after each query: what a
        search that always returned the truly best of its queries would reach.

        Args:
            budget: the curve's length, as for ``returned_curve``.
        """
        curve = np.maximum.accumulate(np.asarray(self.truths, dtype=np.float64)) \
            if self.truths else []
        return _padded(curve, budget)


def _padded(values, budget):
    values = np.asarray(values, dtype=np.float64)
    out = np.full(budget, np.nan)
    out[:min(budget, len(values))] = values[:budget]
    if 0 < len(values) < budget:
        out[len(values):] = values[-1]
    return out


def returned_code(oracle, names):
    """The base-5 code of the architecture ``oracle`` would return now (its
    ``get_best_trials(1)``), or None before any trial completed.

    Args:
        oracle: a keras-tuner Oracle over ``make_hyperparameters``.
        names: the hyperparameter names of the six edges, in order.
    """
    best = oracle.get_best_trials(1)
    if not best or best[0].status != trial_module.TrialStatus.COMPLETED:
        return None
    space = NasBench201Space()
    values = best[0].hyperparameters.values
    return int(arch_codes(space.from_json({"edges": [values[name] for name in names]})))


def run_search(oracle, answers, budget, space=None, tuner_id="benchmark"):
    """Drives ``oracle`` until it has made ``budget`` queries answered by ``answers``.

    The oracle's project directory must be set (``oracle._set_project_dir``). Stops early if
    the oracle returns a trial that is not RUNNING (stopped, exhausted or idle).

    Args:
        oracle: a keras-tuner Oracle over ``make_hyperparameters(space)`` with objective
            ``accuracy`` (max).
        answers: the run's ``QueryAnswers``, indexed by base-5 architecture code.
        budget: the number of queries (training runs).
        space: the ``NasBench201Space`` naming the hyperparameters.
        tuner_id: the tuner id used for ``create_trial``.

    Returns:
        A dict with the ``SearchRun`` fields ``archs``, ``rewards``, ``truths``,
        ``returned``, ``proposals``, ``duplicates`` and ``requeries``.
    """
    space = space or NasBench201Space()
    names = space.decision_names
    out = {"archs": [], "rewards": [], "truths": [], "returned": [], "proposals": 0,
           "duplicates": 0, "requeries": 0}
    while len(out["archs"]) < budget:
        trial = oracle.create_trial(tuner_id)
        if trial.status != trial_module.TrialStatus.RUNNING:
            break
        out["proposals"] += 1
        values = trial.hyperparameters.values
        arch = space.from_json({"edges": [values[name] for name in names]})
        code = int(arch_codes(arch))
        seen = answers.queries_of(code) > 0
        if seen and not answers.noisy:
            out["duplicates"] += 1
            reward = answers.truth(code)
        else:
            out["requeries"] += int(seen)
            reward = answers.query(code)
            out["archs"].append(arch)
            out["rewards"].append(reward)
            out["truths"].append(answers.truth(code))
        oracle.update_trial(trial.trial_id, {OBJECTIVE_NAME: reward})
        trial.status = trial_module.TrialStatus.COMPLETED
        oracle.end_trial(trial)
        if len(out["returned"]) < len(out["archs"]):
            out["returned"].append(answers.truth(returned_code(oracle, names)))
    return out


def _scratch_root(workdir):
    if workdir:
        os.makedirs(workdir, exist_ok=True)
        return tempfile.mkdtemp(prefix="nb201_bench_", dir=workdir)
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK):
        return tempfile.mkdtemp(prefix="nb201_bench_", dir=shm)
    return tempfile.mkdtemp(prefix="nb201_bench_")


def run_strategy(name, table, budget, seed, flags=None, workdir=None,
                 max_proposals_factor=2.0, reward="seed_validation"):
    """Runs strategy ``name`` once with benchmark seed ``seed``.

    Args:
        name: a key of ``STRATEGIES``.
        table: a ``NasBench201Table``.
        budget: queries (training runs) per run.
        seed: benchmark seed (int >= 0).
        flags: dict of strategy options passed to the factory (``population``, ...).
        workdir: folder for the oracle's project directory (tmpfs or system temp if None);
            the directory is deleted afterwards.
        max_proposals_factor: the oracle gets ``max_trials = ceil(factor * budget)``.
        reward: how queries are answered, a key of ``protocol.REWARDS``.

    Returns:
        A ``SearchRun``.
    """
    if name not in STRATEGIES:
        raise ConfigError(f"unknown strategy {name!r}, expected one of {', '.join(STRATEGIES)}")
    if int(budget) < 1:
        raise ConfigError(f"budget must be >= 1, got {budget}")
    if not float(max_proposals_factor) >= 1:
        raise ConfigError(f"max_proposals_factor must be >= 1, got {max_proposals_factor}")
    answers = answers_for(table, reward, seed)
    space = NasBench201Space()
    root = _scratch_root(workdir)
    try:
        start = time.perf_counter()
        oracle = STRATEGIES[name](
            oracle_seed(seed), make_hyperparameters(space),
            int(math.ceil(float(max_proposals_factor) * int(budget))), **(flags or {}))
        oracle.verbose = 0
        oracle._set_project_dir(root, f"{name}_{seed}")
        found = run_search(oracle, answers, int(budget), space)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return SearchRun(name, int(seed), seconds=seconds, **found)


def checkpoints(budget):
    """The query counts reported for ``budget``: 25/50/100/200 within it, and ``budget``.

    Args:
        budget: queries per run.
    """
    points = [c for c in CHECKPOINTS if c <= budget]
    if budget not in points:
        points.append(int(budget))
    return points


def summarize(runs, table, budget, reward="seed_validation"):
    """The JSON report of a benchmark.

    Args:
        runs: dict strategy name -> list of ``SearchRun``.
        table: the ``NasBench201Table`` searched.
        budget: queries each run was allowed.
        reward: the protocol the runs used (a key of ``protocol.REWARDS``).

    Returns:
        ``{"dataset", "optimum", "optimum_architecture", "budget", "reward", "note",
        "strategies": {name: {"seeds", "budgets": {"25": {"mean", "std", "se",
        "regret_mean", "regret_std", "queried_best_mean", "returned_optimum"}},
        "curve_mean", "curve_std", "curve_se", "seconds", "seconds_per_seed",
        "queries_mean", "duplicates_mean", "requeries_mean"}}}`` with a ``budgets`` entry per
        ``checkpoints(budget)`` and curve entries for queries 1..budget. ``mean`` is the
        mean truth of the returned architecture, ``queried_best_mean`` that of the truly
        best architecture queried so far, ``returned_optimum`` the share of seeds that
        return a table optimum; std is the sample standard deviation over seeds (ddof=1; 0
        for one seed), se the standard error of the mean, ``std / sqrt(seeds)`` (null at
        the checkpoints, 0 in ``curve_se``, for one seed).
    """
    opt_arch, optimum = table.optimum()
    report = {
        "dataset": table.dataset,
        "optimum": optimum,
        "optimum_architecture": opt_arch,
        "budget": int(budget),
        "reward": reward,
        "note": REWARDS[reward],
        "strategies": {},
    }
    for name, strategy_runs in runs.items():
        curves = np.stack([run.returned_curve(budget) for run in strategy_runs])
        queried = np.stack([run.queried_best_curve(budget) for run in strategy_runs])
        entry = {"seeds": len(strategy_runs), "budgets": {}}
        for point in checkpoints(budget):
            returned = curves[:, point - 1]
            mean, std, se = spread(returned)
            regret_mean, regret_std, _ = spread(optimum - returned)
            entry["budgets"][str(point)] = {
                "mean": mean, "std": std, "se": se,
                "regret_mean": regret_mean, "regret_std": regret_std,
                "queried_best_mean": float(np.mean(queried[:, point - 1])),
                "returned_optimum": float(np.mean(returned >= optimum))}
        curve_std = np.std(curves, axis=0, ddof=1 if len(strategy_runs) > 1 else 0)
        entry["curve_mean"] = [float(x) for x in np.mean(curves, axis=0)]
        entry["curve_std"] = [float(x) for x in curve_std]
        entry["curve_se"] = [float(x) for x in curve_std / math.sqrt(len(strategy_runs))]
        seconds = sum(run.seconds for run in strategy_runs)
        entry["seconds"] = float(seconds)
        entry["seconds_per_seed"] = float(seconds / len(strategy_runs))
        entry["queries_mean"] = float(np.mean([len(run.archs) for run in strategy_runs]))
        entry["duplicates_mean"] = float(np.mean([run.duplicates for run in strategy_runs]))
        entry["requeries_mean"] = float(np.mean([run.requeries for run in strategy_runs]))
        report["strategies"][name] = entry
    return report


def differences(report, reference):
    """``reference`` minus every other strategy at each checkpoint, in points and in
    standard errors of the difference (``sqrt(se1^2 + se2^2)``, the runs being independent).

    Args:
        report: the dict of ``summarize``.
        reference: a strategy name of the report.

    Returns:
        dict peer -> {checkpoint: {"difference", "se", "z"}} (``se`` and ``z`` None when a
        side has one seed).
    """
    if reference not in report["strategies"]:
        raise ConfigError(f"reference strategy {reference!r} was not run")
    ref = report["strategies"][reference]["budgets"]
    out = {}
    for name, entry in report["strategies"].items():
        if name == reference:
            continue
        out[name] = {point: difference(ref[point], cell)
                     for point, cell in entry["budgets"].items()}
    return out


def format_report(report, reference=None):
    """A plain-text table of ``summarize``'s report: mean ± standard error of the returned
    architecture's truth at each reported query count, and the seconds each seed took; with
    ``reference``, a second table of its differences to every peer.

    Args:
        report: the dict of ``summarize``.
        reference: a strategy name, or None for no difference table.
    """
    points = sorted(int(p) for p in next(iter(report["strategies"].values()))["budgets"]) \
        if report["strategies"] else []
    lines = [
        f"NAS-Bench-201 {report['dataset']}: test accuracy (seed mean) of the architecture "
        f"each strategy returns after N queries, mean ± standard error over seeds",
        f"Protocol ({report['reward']}): {report['note']}.",
        f"Table optimum {report['optimum']:.4f} ({report['optimum_architecture']}).",
    ]
    header = f"{'strategy':<13} {'seeds':>5} " + " ".join(f"{'@' + str(p):>15}" for p in points)
    header += f" {'regret@' + str(points[-1]) if points else 'regret':>11}" \
              f" {'queried@' + str(points[-1]) if points else 'queried':>12} {'optimum':>7}" \
              f" {'repeats':>7} {'s/seed':>7}"
    lines.append(header)
    for name, entry in report["strategies"].items():
        row = f"{name:<13} {entry['seeds']:>5} "
        cells = [entry["budgets"][str(p)] for p in points]
        row += " ".join(f"{c['mean']:>7.3f} ± " + ("n/a  " if c.get("se") is None
                                                   else f"{c['se']:<5.3f}") for c in cells)
        last = entry["budgets"][str(points[-1])]
        repeats = entry["requeries_mean"] + entry["duplicates_mean"]
        row += f" {last['regret_mean']:>11.3f} {last['queried_best_mean']:>12.3f}" \
               f" {last['returned_optimum']:>7.0%} {repeats:>7.1f}" \
               f" {entry['seconds_per_seed']:>7.2f}"
        lines.append(row)
    lines.append("regret = table optimum - returned (mean); queried = mean truth of the best "
                 "architecture queried (what a perfect pick would return); optimum = share of "
                 "seeds returning a table optimum; repeats = mean re-queries (noisy: each a "
                 "training) or duplicates (noise-free: free); s/seed = seconds per seed.")
    if reference is not None and reference in report["strategies"] and \
            len(report["strategies"]) > 1:
        lines.append(f"{reference} minus each peer (standard errors of the difference):")
        for name, rows in differences(report, reference).items():
            cells = [rows[str(p)] for p in points]
            lines.append(f"{name:<13} " + " ".join(
                f"{c['difference']:>+7.3f} " + ("(n/a) " if c["z"] is None
                                                 else f"({c['z']:>4.1f})") for c in cells))
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
                  max_proposals_factor=2.0, log=print, blas_threads=1,
                  reward="seed_validation"):
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
        reward: how queries are answered, a key of ``protocol.REWARDS``.

    Returns:
        ``summarize``'s report plus ``"interrupted"``: True if a KeyboardInterrupt cut the
        run short (the report then covers the runs that finished).
    """
    if int(seeds) < 1:
        raise ConfigError(f"seeds must be >= 1, got {seeds}")
    answers_for(table, reward, 0)  # a reward the table cannot give fails before any run
    runs = {}
    interrupted = False
    try:
        with _limit_blas_threads(blas_threads):
            for name, count in strategies:
                n = int(seeds) if count is None else min(int(seeds), count)
                for seed in range(n):
                    run = run_strategy(name, table, budget, seed, flags, workdir,
                                       max_proposals_factor, reward)
                    runs.setdefault(name, []).append(run)
                    if log:
                        returned = run.returned[-1] if run.returned else float("nan")
                        log(f"{name} seed {seed}: returns {returned:.4f} after "
                            f"{len(run.archs)} queries ({run.requeries + run.duplicates} "
                            f"repeats), {run.seconds:.2f} s", flush=True)
    except KeyboardInterrupt:
        # Ctrl-C (or `timeout -s INT`) still reports the runs that finished.
        interrupted = True
        if log:
            log("interrupted: reporting the runs that finished", flush=True)
        if not runs:
            raise
    report = summarize(runs, table, budget, reward)
    report["interrupted"] = interrupted
    return report
