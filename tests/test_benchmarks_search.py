"""The NAS-Bench-201 search benchmark: strategies, driver, report (budgets, se), plot, CLI."""

import json
import math
import os
import subprocess
import sys

import keras_tuner
import numpy as np
import pytest
from conftest import NB201_CSV, NB201_SEEDS_CSV, REPO

from nases_tf.benchmarks import search, search_cli, strategies
from nases_tf.benchmarks.plots import plot_report
from nases_tf.errors import ConfigError


@pytest.mark.parametrize("name,budget", [("random", 40), ("evolution", 40), ("tpe", 30),
                                         ("reinforce", 40), ("local", 40), ("bayesian", 15)])
def test_strategies_are_rewarded_with_one_run_and_judged_by_what_they_return(
        nb201_seeds_table, name, budget):
    table = nb201_seeds_table
    first = search.run_strategy(name, table, budget, seed=3)
    assert len(first.archs) == budget == len(first.rewards) == len(first.returned)
    assert len(set(first.archs)) == budget and first.requeries == first.duplicates == 0
    assert first.proposals == budget
    for arch, reward, truth in zip(first.archs, first.rewards, first.truths):
        assert reward in table.validation_runs(arch).values()  # one training run
        assert truth == table.accuracy(arch)  # the seed-mean test accuracy
    # keras-tuner's get_best_trials returns the best-scored trial: the luckiest run
    luckiest = [first.truths[int(np.argmax(first.rewards[:n]))] for n in range(1, budget + 1)]
    assert first.returned == luckiest
    assert np.all(first.queried_best_curve(budget) >= first.returned_curve(budget))
    if name == "bayesian":
        return  # about 1 s a trial; one run is enough
    again = search.run_strategy(name, table, budget, seed=3)
    assert again.archs == first.archs and again.rewards == first.rewards
    other = search.run_strategy(name, table, budget, seed=4)
    assert other.archs != first.archs


def test_noise_free_rewards_are_the_truth_and_repeats_are_free(nb201_seeds_table, tmp_path):
    run = search.run_strategy("local", nb201_seeds_table, 30, seed=1, reward="noise_free")
    assert run.rewards == run.truths
    assert np.all(np.diff(run.returned) >= 0) and run.returned[-1] == max(run.truths)
    for reward, queries, duplicates in (("noise_free", 1, 4), ("seed_validation", 5, 0)):
        oracle = _RepeatOracle(objective=strategies.default_objective(), max_trials=5,
                               hyperparameters=strategies.make_hyperparameters())
        oracle._set_project_dir(str(tmp_path), reward)
        found = search.run_search(oracle, search.answers_for(nb201_seeds_table, reward, 0), 5)
        assert (len(found["archs"]), found["duplicates"]) == (queries, duplicates)
        assert found["requeries"] == queries - 1 and found["proposals"] == 5
        if reward == "seed_validation":  # a re-query is a new training run
            runs = nb201_seeds_table.validation_runs(found["archs"][0])
            assert set(found["rewards"]) == set(runs.values())


class _RepeatOracle(keras_tuner.Oracle):
    """Proposes the same cell every time."""

    def populate_space(self, trial_id):
        return {"status": "RUNNING", "values": {n: "nor_conv_3x3" for n in
                                                strategies.make_hyperparameters().values}}


def test_a_noisy_reward_needs_the_per_seed_table(nb201_table):
    with pytest.raises(ConfigError, match="test accuracies only"):
        search.run_strategy("random", nb201_table, 5, seed=0)
    assert len(search.run_strategy("random", nb201_table, 5, 0, reward="noise_free").archs) == 5


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


def _fake_run(name, seed, truths, returned=None):
    archs = [(seed, i // 5 % 5, i % 5, 0, 0, 0) for i in range(len(truths))]
    returned = list(np.maximum.accumulate(truths)) if returned is None else returned
    return search.SearchRun(name, seed, archs, list(truths), list(truths), returned,
                            len(truths), 0, 0, 0.5)


def test_report_has_every_budget_and_standard_errors(nb201_table):
    optimum = nb201_table.optimum()[1]
    rng = np.random.default_rng(0)
    runs = {"a": [], "b": [_fake_run("b", 0, [90.0] * 10 + [optimum] * 240)]}
    for s in range(4):
        truths = rng.uniform(80, 94, size=250)
        runs["a"].append(_fake_run("a", s, truths, list(truths)))  # returns the last one
    report = search.summarize(runs, nb201_table, 250)
    json.dumps(report, allow_nan=False)  # strict JSON
    assert report["optimum"] == optimum and report["dataset"] == "cifar10"
    assert report["reward"] == "seed_validation" and "validation" in report["note"]
    entry = report["strategies"]["a"]
    assert set(entry["budgets"]) == {"25", "50", "100", "200", "250"}
    assert entry["seeds"] == 4 and entry["seconds"] == 2.0 and entry["seconds_per_seed"] == 0.5
    for point, cell in entry["budgets"].items():
        returned = [run.truths[int(point) - 1] for run in runs["a"]]
        assert cell["mean"] == pytest.approx(np.mean(returned))
        assert cell["std"] == pytest.approx(np.std(returned, ddof=1))
        assert cell["se"] == pytest.approx(np.std(returned, ddof=1) / 2)
        assert cell["regret_mean"] == pytest.approx(optimum - np.mean(returned))
        assert cell["queried_best_mean"] == pytest.approx(
            np.mean([max(run.truths[:int(point)]) for run in runs["a"]]))
    assert len(entry["curve_se"]) == 250
    assert entry["curve_se"][99] == pytest.approx(entry["budgets"]["100"]["se"])
    assert report["strategies"]["b"]["curve_se"] == [0.0] * 250
    single = report["strategies"]["b"]["budgets"]["25"]
    assert (single["mean"], single["std"], single["se"]) == (optimum, 0.0, None)
    assert single["returned_optimum"] == 1.0
    # Budgets below a checkpoint leave it out; the budget itself is always reported.
    assert set(search.summarize(runs, nb201_table, 60)["strategies"]["a"]["budgets"]) == {
        "25", "50", "60"}
    text = search.format_report(report, reference="a")
    assert "@200" in text and "@250" in text and "s/seed" in text
    a_row = next(line for line in text.splitlines() if line.startswith("a "))
    cell = entry["budgets"]["100"]
    assert f"{cell['mean']:.3f} ± {cell['se']:.3f}" in a_row
    assert "± n/a" in next(line for line in text.splitlines() if line.startswith("b "))
    diff = search.differences(report, "a")["b"]["100"]
    assert diff["difference"] == pytest.approx(cell["mean"] - optimum) and diff["z"] is None
    assert "a minus each peer" in text
    noise_free = search.summarize(runs, nb201_table, 60, reward="noise_free")
    assert "NOISE-FREE" in search.format_report(noise_free)


def test_plot_is_written_atomically(tmp_path, nb201_table):
    pytest.importorskip("matplotlib")
    runs = {"a": [_fake_run("a", s, list(np.linspace(85, 94, 30))) for s in range(2)]}
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
        "prog", f"--table={NB201_SEEDS_CSV}", "--strategies=random,evolution,reinforce:1,local",
        "--budget=30", "--seeds=2", f"--output_json={out}", "--reference=local",
        f"--plot={tmp_path / 'curves.png'}", "--population=10", "--tournament=3",
    ])
    search_cli.main(fv)
    printed = capsys.readouterr().out
    assert "validation accuracy" in printed and "@25" in printed and "@30" in printed
    assert "local minus each peer" in printed
    report = json.loads(out.read_text())
    assert report["reward"] == "seed_validation" and report["settings"]["reward"] == \
        "seed_validation"
    assert set(report["differences"]["peers"]) == {"random", "evolution", "reinforce"}
    assert report["dataset"] == "cifar10"
    assert report["optimum"] == pytest.approx(94.3733, abs=1e-4)
    assert set(report["strategies"]) == {"random", "evolution", "reinforce", "local"}
    assert report["strategies"]["reinforce"]["seeds"] == 1
    assert report["settings"]["local_initial_random"] == 10
    for name, entry in report["strategies"].items():
        assert set(entry["budgets"]) == {"25", "30"}
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
    fv = flags.FlagValues()
    search_cli.define_flags(fv)
    fv(["prog", f"--table={NB201_SEEDS_CSV}", "--strategies=random", "--reference=local"])
    with pytest.raises(ConfigError, match="--reference=local is not among --strategies"):
        search_cli.main(fv)


@pytest.mark.slow
def test_local_search_beats_random_search(nb201_table):
    best = {name: [search.run_strategy(name, nb201_table, 50, seed, reward="noise_free")
                   .returned[-1] for seed in range(10)] for name in ("random", "local")}
    assert np.mean(best["local"]) > np.mean(best["random"])


def _run_script(*flags):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, str(REPO / "bin" / "benchmark_search.py"), *flags],
                          capture_output=True, text=True, timeout=300, env=env, cwd=str(REPO))


@pytest.mark.slow
def test_script_runs_as_a_user_would(tmp_path):
    if not NB201_SEEDS_CSV.is_file():
        pytest.skip(f"{NB201_SEEDS_CSV} not found")
    out = tmp_path / "nb201.json"
    done = _run_script(f"--table={NB201_SEEDS_CSV}", "--strategies=random,local", "--budget=25",
                       "--seeds=2", f"--output_json={out}")
    assert done.returncode == 0, done.stderr
    assert "@25" in done.stdout and f"wrote {out}" in done.stdout
    assert set(json.loads(out.read_text())["strategies"]) == {"random", "local"}
    bad = _run_script(f"--table={tmp_path / 'missing.csv'}")
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1].startswith("error: NAS-Bench-201 table")
