"""The NAS-Bench-201 search benchmark: strategies, driver, report (budgets, se), plot, CLI."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import NB201_CSV, REPO

from nases_tf.benchmarks import search, search_cli, strategies
from nases_tf.benchmarks.plots import plot_report
from nases_tf.errors import ConfigError


@pytest.mark.parametrize("name,budget", [("random", 40), ("evolution", 40),
                                         ("reinforce", 40), ("local", 40), ("bayesian", 20)])
def test_strategies_query_unique_architectures_and_are_seeded(nb201_table, name, budget):
    table = nb201_table
    first = search.run_strategy(name, table, budget, seed=3)
    assert len(first.archs) == budget
    assert len(set(first.archs)) == budget
    assert first.proposals == budget + first.duplicates
    assert first.accuracies == [table.accuracy(a) for a in first.archs]
    curve = first.best_so_far(budget)
    assert np.all(np.diff(curve) >= 0) and curve[-1] == max(first.accuracies)
    if name == "bayesian":
        return  # about 1 s a trial; one run is enough
    again = search.run_strategy(name, table, budget, seed=3)
    assert again.archs == first.archs
    other = search.run_strategy(name, table, budget, seed=4)
    assert other.archs != first.archs


def test_parse_strategies_and_seeds():
    assert strategies.parse_strategies("random, bayesian:5") == [
        ("random", None), ("bayesian", 5)]
    assert strategies.parse_strategies("local,nases_frozen:3") == [
        ("local", None), ("nases_frozen", 3)]
    with pytest.raises(ConfigError, match="unknown strategy 'grid'"):
        strategies.parse_strategies("random,grid")
    with pytest.raises(ConfigError, match="seed count"):
        strategies.parse_strategies("bayesian:0")
    with pytest.raises(ConfigError, match="twice"):
        strategies.parse_strategies("local,local:2")
    seeds = {search.oracle_seed(s) for s in range(100)}
    assert len(seeds) == 100 and min(seeds) >= 1 and max(seeds) < 2**31


def test_nases_frozen_is_nases_with_learning_off():
    flags = {"nases_samples_per_update": 8, "nases_initial_sigma": 0.3, "population": 20}
    hps = strategies.make_hyperparameters()
    learning = strategies.STRATEGIES["nases"](5, hps, 20, **flags)
    frozen = strategies.STRATEGIES["nases_frozen"](5, hps, 20, **flags)
    assert type(frozen) is type(learning)
    assert learning.learning is True and frozen.learning is False
    for oracle in (learning, frozen):
        assert (oracle.samples_per_update, oracle.initial_sigma, oracle.seed) == (8, 0.3, 5)


def _fake_run(name, seed, accuracies):
    archs = [(seed, i // 5 % 5, i % 5, 0, 0, 0) for i in range(len(accuracies))]
    return search.SearchRun(name, seed, archs, list(accuracies), len(accuracies), 0, 0.5)


def test_report_has_every_budget_and_standard_errors(nb201_table):
    optimum = nb201_table.optimum()[1]
    rng = np.random.default_rng(0)
    runs = {"a": [_fake_run("a", s, rng.uniform(80, 94, size=250)) for s in range(4)],
            "b": [_fake_run("b", 0, [90.0] * 10 + [optimum] * 240)]}
    report = search.summarize(runs, nb201_table, 250)
    json.dumps(report, allow_nan=False)  # strict JSON
    assert report["optimum"] == optimum and report["dataset"] == "cifar10"
    entry = report["strategies"]["a"]
    assert set(entry["budgets"]) == {"25", "50", "100", "200", "250"}
    assert entry["seeds"] == 4 and entry["seconds"] == 2.0 and entry["seconds_per_seed"] == 0.5
    for point, cell in entry["budgets"].items():
        best = [max(run.accuracies[:int(point)]) for run in runs["a"]]
        assert cell["mean"] == pytest.approx(np.mean(best))
        assert cell["std"] == pytest.approx(np.std(best, ddof=1))
        assert cell["se"] == pytest.approx(np.std(best, ddof=1) / 2)
        assert cell["regret_mean"] == pytest.approx(optimum - np.mean(best))
    assert len(entry["curve_se"]) == 250
    assert entry["curve_se"][99] == pytest.approx(entry["budgets"]["100"]["se"])
    assert report["strategies"]["b"]["curve_se"] == [0.0] * 250
    single = report["strategies"]["b"]["budgets"]["25"]
    assert (single["mean"], single["std"], single["se"]) == (optimum, 0.0, None)
    assert report["strategies"]["b"]["found_optimum"] == 1.0
    # Budgets below a checkpoint leave it out; the budget itself is always reported.
    assert set(search.summarize(runs, nb201_table, 60)["strategies"]["a"]["budgets"]) == {
        "25", "50", "60"}
    text = search.format_report(report)
    assert "best@200" in text and "best@250" in text and "s/seed" in text
    a_row = next(line for line in text.splitlines() if line.startswith("a "))
    cell = entry["budgets"]["100"]
    assert f"{cell['mean']:.3f} ± {cell['se']:.3f}" in a_row
    assert "± n/a" in next(line for line in text.splitlines() if line.startswith("b "))


def test_plot_is_written_atomically(tmp_path, nb201_table):
    pytest.importorskip("matplotlib")
    runs = {"a": [_fake_run("a", s, np.linspace(85, 94, 30)) for s in range(2)]}
    report = search.summarize(runs, nb201_table, 30)
    path = tmp_path / "plots" / "curves.png"
    assert plot_report(report, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000
    assert os.listdir(path.parent) == ["curves.png"]  # no temporary file left behind


def test_benchmark_main_writes_report(tmp_path, nb201_table, capsys):
    from absl import flags

    fv = flags.FlagValues()
    search_cli.define_flags(fv)
    out = tmp_path / "report.json"
    fv([
        "prog", f"--table={NB201_CSV}", "--strategies=random,evolution,reinforce:1,local",
        "--budget=30", "--seeds=2", f"--output_json={out}",
        f"--plot={tmp_path / 'curves.png'}", "--population=10", "--tournament=3",
    ])
    search_cli.main(fv)
    printed = capsys.readouterr().out
    assert "without noise" in printed and "best@25" in printed and "best@30" in printed
    report = json.loads(out.read_text())
    assert report["dataset"] == "cifar10"
    assert report["optimum"] == pytest.approx(94.3733, abs=1e-4)
    assert set(report["strategies"]) == {"random", "evolution", "reinforce", "local"}
    assert report["strategies"]["reinforce"]["seeds"] == 1
    assert report["settings"]["local_initial_random"] == 10
    for name, entry in report["strategies"].items():
        assert set(entry["budgets"]) == {"25", "30"}
        assert entry["budgets"]["30"]["mean"] >= entry["budgets"]["25"]["mean"]
        assert entry["seconds"] > 0 and not math.isnan(entry["budgets"]["30"]["std"])
        se = entry["budgets"]["30"]["se"]
        assert se is None if name == "reinforce" else se == pytest.approx(
            entry["budgets"]["30"]["std"] / math.sqrt(2))
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]
    try:
        import matplotlib  # noqa: F401
        assert (tmp_path / "curves.png").stat().st_size > 1000
    except ImportError:
        assert "matplotlib is not installed" in printed


@pytest.mark.slow
def test_local_search_beats_random_search(nb201_table):
    best = {name: [max(search.run_strategy(name, nb201_table, 50, seed).accuracies)
                   for seed in range(10)] for name in ("random", "local")}
    assert np.mean(best["local"]) > np.mean(best["random"])


def _run_script(*flags):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, str(REPO / "bin" / "benchmark_search.py"), *flags],
                          capture_output=True, text=True, timeout=300, env=env, cwd=str(REPO))


@pytest.mark.slow
def test_script_runs_as_a_user_would(tmp_path):
    if not NB201_CSV.is_file():
        pytest.skip(f"{NB201_CSV} not found")
    out = tmp_path / "nb201.json"
    done = _run_script(f"--table={NB201_CSV}", "--strategies=random,local", "--budget=25",
                       "--seeds=2", f"--output_json={out}")
    assert done.returncode == 0, done.stderr
    assert "best@25" in done.stdout and f"wrote {out}" in done.stdout
    assert set(json.loads(out.read_text())["strategies"]) == {"random", "local"}
    bad = _run_script(f"--table={tmp_path / 'missing.csv'}")
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1].startswith("error: NAS-Bench-201 table")
