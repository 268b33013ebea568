"""keras-tuner projects as benchmarks: NASES and its peers as Oracles behind a real Tuner.

Each *problem* is a keras-tuner project a user could write: a ``HyperParameters`` space, an
objective, and a ``run_trial`` that answers one trial.

- ``cheap``: the cheap objective of ``tuner_objective`` (every hyperparameter type, a
  conditional one among them), deterministic; its optimum is 1.
- ``fcnet_protein`` and ``mlp_australian``: the real tabular benchmarks of ``hpo_tables``;
  a trial is answered with one training seed's value (``protocol.QueryAnswers``: the seed
  drawn from the benchmark seed and the configuration), and a search is judged by the
  seed mean of the configuration it returns.

After every trial the driver asks the oracle what it would return (``get_best_trials(1)``,
as ``Tuner.get_best_hyperparameters`` does) and records that configuration's truth. The
strategies are the factories of ``strategies.STRATEGIES`` (local search and evolution only
where every hyperparameter has finitely many values).

Run it with ``python bin/benchmark_tuner.py --problems=cheap,fcnet_protein,mlp_australian
--seeds=30 --trials=30,50,100``.
"""

import dataclasses
import os
import tempfile
import time

import numpy as np
from keras_tuner.engine import base_tuner
from keras_tuner.engine import trial as trial_module

from nases_tf.benchmarks import tuner_objective
from nases_tf.benchmarks.hpo_tables import TABLES, TabularBenchmark
from nases_tf.benchmarks.protocol import QueryAnswers
from nases_tf.benchmarks.search import oracle_seed
from nases_tf.benchmarks.stats import difference, spread
from nases_tf.benchmarks.strategies import STRATEGIES
from nases_tf.errors import ConfigError
from nases_tf.oracles.base import finite_values

PROBLEMS = ("cheap",) + tuple(TABLES)


class CheapProblem:
    """The cheap objective as a problem: deterministic answers, its own truth."""

    name = "cheap"
    noisy = False
    optimum = 1.0
    direction = "max"

    def hyperparameters(self):
        """The cheap space (``tuner_objective.cheap_space``)."""
        return tuner_objective.cheap_space()

    def objective(self):
        """``score``, maximized."""
        return tuner_objective.OBJECTIVE

    def answers(self, seed):
        """The answers of benchmark seed ``seed`` (the same for every seed)."""
        return _CheapAnswers()

    def regret(self, value):
        """How far ``value`` is from the optimum."""
        return self.optimum - value


class _CheapAnswers:
    def query(self, values):
        return tuner_objective.cheap_score(values)

    truth = query


class TableProblem:
    """A tabular benchmark as a problem: one training seed's value per trial.

    Args:
        table: a ``TabularBenchmark``.
    """

    noisy = True

    def __init__(self, table):
        self.table = table
        self.name = table.name
        self.optimum = table.optimum
        self.direction = table.spec.direction

    def hyperparameters(self):
        """One ``Choice`` of the table's values per hyperparameter."""
        return self.table.hyperparameters()

    def objective(self):
        """The table's metric and direction."""
        return self.table.objective()

    def answers(self, seed):
        """The answers of benchmark seed ``seed``."""
        return _TableAnswers(self.table, seed)

    def regret(self, value):
        """How far the seed-mean ``value`` is from the table's optimum."""
        return self.table.regret(value)


class _TableAnswers:
    def __init__(self, table, seed):
        self.table = table
        self.answers = QueryAnswers(table.runs, table.truth, "seed_validation", seed)

    def query(self, values):
        return self.answers.query(self.table.index(values))

    def truth(self, values):
        return self.answers.truth(self.table.index(values))


def load_problem(name, hpo_folder=None):
    """The problem called ``name`` (one of ``PROBLEMS``).

    Args:
        name: ``cheap`` or a key of ``hpo_tables.TABLES``.
        hpo_folder: the folder of the HPO tables (needed for a table).
    """
    if name == "cheap":
        return CheapProblem()
    if name not in TABLES:
        raise ConfigError(f"problem {name!r} is unknown, expected some of {', '.join(PROBLEMS)}")
    if not hpo_folder:
        raise ConfigError(f"problem {name!r} needs the folder of the HPO tables "
                          "(e.g. ../shared/data/hpo)")
    return TableProblem(TabularBenchmark.load(name, hpo_folder))


def is_finite(hyperparameters):
    """Whether every hyperparameter has finitely many values (local search and evolution
    need that)."""
    try:
        for hp in hyperparameters.space:
            finite_values(hp)
    except ConfigError:
        return False
    return True


class AnsweringTuner(base_tuner.BaseTuner):
    """A keras-tuner ``BaseTuner`` whose trials are answered by a problem, and which records,
    after every trial, the truth of what its oracle would return.

    Args:
        oracle: any keras-tuner ``Oracle`` with the problem's objective.
        answers: the problem's answers for this run (``query(values)``, ``truth(values)``).
        **kwargs: ``BaseTuner`` arguments (``directory``, ``project_name``, ``overwrite``).
    """

    def __init__(self, oracle, answers, **kwargs):
        super().__init__(oracle, **kwargs)
        self.answers = answers
        self.rewards, self.returned = [], []

    def run_trial(self, trial, *args, **kwargs):
        reward = self.answers.query(trial.hyperparameters.values)
        self.rewards.append(reward)
        return {self.oracle.objective.name: reward}

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        best = self.oracle.get_best_trials(1)
        if best and best[0].status == trial_module.TrialStatus.COMPLETED:
            self.returned.append(self.answers.truth(best[0].hyperparameters.values))


@dataclasses.dataclass
class TunerRun:
    """One search of one problem by one strategy.

    Args:
        strategy: the strategy name.
        seed: the benchmark seed.
        rewards: the answer each trial got, in trial order.
        returned: after each trial, the truth of what the oracle would return.
        seconds: wall time of the search.
    """

    strategy: str
    seed: int
    rewards: list
    returned: list
    seconds: float


def run_search(problem, strategy, seed, max_trials, directory, flags=None):
    """One search of ``problem`` by ``strategy`` with benchmark seed ``seed``.

    Args:
        problem: a problem (``load_problem``).
        strategy: a key of ``strategies.STRATEGIES``.
        seed: the benchmark seed (the oracle gets ``oracle_seed(seed)``).
        max_trials: the number of trials.
        directory: a scratch directory for keras-tuner's files.
        flags: strategy options passed to the factory.
    """
    hps = problem.hyperparameters()
    if strategy in ("local", "evolution") and not is_finite(hps):
        raise ConfigError(f"strategy {strategy!r} needs finitely many values of every "
                          f"hyperparameter, and problem {problem.name!r} has a continuous one")
    start = time.perf_counter()
    oracle = STRATEGIES[strategy](oracle_seed(seed), hps, int(max_trials),
                                  objective=problem.objective(), **(flags or {}))
    tuner = AnsweringTuner(oracle, problem.answers(seed), directory=str(directory),
                           project_name=f"{problem.name}_{strategy}_{seed}", overwrite=True)
    tuner.oracle.verbose = 0
    tuner.search(verbose=0)
    return TunerRun(strategy, int(seed), tuner.rewards, tuner.returned,
                    time.perf_counter() - start)


def summarize(problem, runs, budgets):
    """The report of one problem: the returned configuration's truth at each budget.

    Args:
        problem: the problem searched.
        runs: dict strategy -> list of ``TunerRun``.
        budgets: the trial counts to report.

    Returns:
        ``{"problem", "optimum", "direction", "noisy", "strategies": {name: {"seeds",
        "budgets": {"30": {"mean", "std", "se", "regret_mean"}}, "mean_reward",
        "seconds_per_seed"}}}``; ``mean_reward`` is the mean answer of a trial.
    """
    report = {"problem": problem.name, "optimum": problem.optimum,
              "direction": problem.direction, "noisy": problem.noisy, "strategies": {}}
    for name, strategy_runs in runs.items():
        entry = {"seeds": len(strategy_runs), "budgets": {}}
        for b in budgets:
            returned = [run.returned[min(b, len(run.returned)) - 1] for run in strategy_runs]
            mean, std, se = spread(returned)
            entry["budgets"][str(b)] = {
                "mean": mean, "std": std, "se": se,
                "regret_mean": float(np.mean([problem.regret(v) for v in returned]))}
        entry["mean_reward"] = float(np.mean([np.mean(run.rewards) for run in strategy_runs]))
        entry["seconds_per_seed"] = float(np.mean([run.seconds for run in strategy_runs]))
        report["strategies"][name] = entry
    return report


def compare(problems, strategies, seeds, budgets, flags=None, directory=None, log=print):
    """Every strategy on every problem, seeds ``0 .. seeds-1``.

    Args:
        problems: list of problems.
        strategies: list of strategy names (``local`` and ``evolution`` skip problems with
            a continuous hyperparameter).
        seeds: the number of seeds.
        budgets: trial counts to report; the largest is each search's number of trials.
        flags: strategy options passed to the factories.
        directory: a scratch directory (a temporary one if None).
        log: a print-like function for progress lines, or None.

    Returns:
        A list of ``summarize`` reports, one per problem.
    """
    budgets = sorted({int(b) for b in budgets})
    if not budgets or budgets[0] < 1:
        raise ConfigError(f"trial budgets must be >= 1, got {budgets}")
    if int(seeds) < 1:
        raise ConfigError(f"seeds must be >= 1, got {seeds}")
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ConfigError(f"unknown strategy {unknown[0]!r}, expected some of "
                          f"{', '.join(STRATEGIES)}")
    reports = []
    with tempfile.TemporaryDirectory(dir=_scratch()) as scratch:
        for problem in problems:
            runs = {}
            for strategy in strategies:
                if strategy in ("local", "evolution") and \
                        not is_finite(problem.hyperparameters()):
                    if log:
                        log(f"{problem.name}: {strategy} skipped (a continuous "
                            "hyperparameter)", flush=True)
                    continue
                for seed in range(int(seeds)):
                    run = run_search(problem, strategy, seed, budgets[-1],
                                     directory or scratch, flags)
                    runs.setdefault(strategy, []).append(run)
                    if log:
                        log(f"{problem.name} {strategy} seed {seed}: returns "
                            f"{run.returned[-1]:.4f}, {run.seconds:.1f} s", flush=True)
            reports.append(summarize(problem, runs, budgets))
    return reports


def _scratch():
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def format_report(report, reference=None):
    """A text table of one ``summarize`` report, with ``reference`` minus each peer in
    standard errors of the difference.

    Args:
        report: a ``summarize`` report.
        reference: a strategy name, or None.
    """
    strategies = report["strategies"]
    budgets = list(next(iter(strategies.values()))["budgets"]) if strategies else []
    kind = "one training seed per trial; judged by the seed mean of the returned " \
        "configuration" if report["noisy"] else "deterministic objective"
    better = "lower" if report["direction"] == "min" else "higher"
    lines = [f"{report['problem']}: truth of the returned configuration ({kind}; {better} is "
             f"better; optimum {report['optimum']:.4f}), mean ± standard error",
             f"{'strategy':<13} {'seeds':>5} " + " ".join(f"{'@' + b:>17}" for b in budgets)
             + f" {'s/seed':>7}"]
    for name, entry in strategies.items():
        cells = [entry["budgets"][b] for b in budgets]
        lines.append(f"{name:<13} {entry['seeds']:>5} " + " ".join(
            f"{c['mean']:>8.4f} ± " + ("n/a    " if c["se"] is None else f"{c['se']:<6.4f}")
            for c in cells) + f" {entry['seconds_per_seed']:>7.1f}")
    if reference in strategies and len(strategies) > 1:
        sign = -1.0 if report["direction"] == "min" else 1.0
        lines.append(f"{reference} better than each peer by (standard errors of the "
                     "difference):")
        ref = strategies[reference]["budgets"]
        for name, entry in strategies.items():
            if name == reference:
                continue
            cells = [difference(ref[b], entry["budgets"][b], sign) for b in budgets]
            lines.append(f"{name:<13} " + " ".join(
                f"{c['difference']:>+9.4f} " + ("(n/a) " if c["z"] is None
                                                 else f"({c['z']:>4.1f})") for c in cells))
    return "\n".join(lines)
