"""The keras-tuner benchmark: the real tabular HPO tables as keras-tuner projects (one training
seed per trial, judged by the seed mean of what the oracle returns), the cheap objective,
the report and the command line."""

import json

import numpy as np
import pytest
from absl import flags
from conftest import HPO_DIR

from nases_tf.benchmarks import tuner_benchmark, tuner_cli
from nases_tf.benchmarks.hpo_tables import TABLES, TabularBenchmark
from nases_tf.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def australian():
    if not (HPO_DIR / TABLES["mlp_australian"].file).is_file():
        pytest.skip(f"{HPO_DIR} not found: the shipped data must stand beside the checkout")
    return TabularBenchmark.load("mlp_australian", HPO_DIR)


def test_tables_load_as_a_user_would_declare_them(australian):
    fcnet = TabularBenchmark.load("fcnet_protein", HPO_DIR)
    assert len(fcnet.rows) == 62208 and fcnet.runs.shape == (62208, 4)
    assert fcnet.spec.direction == "min" and fcnet.optimum == pytest.approx(
        np.nanmin(np.nanmean(fcnet.runs, axis=1)))
    hps = fcnet.hyperparameters()
    assert [hp.name for hp in hps.space] == list(fcnet.spec.hyperparameters)
    units = next(hp for hp in hps.space if hp.name == "n_units_1")
    assert list(units.values) == [16, 32, 64, 128, 256, 512] and units.ordered
    assert len(australian.rows) == 30000 and australian.runs.shape == (30000, 5)
    assert australian.choices["alpha"][-1] == 1.0  # one type per Choice
    assert australian.spec.direction == "max" and 0.9 < australian.optimum < 1.0
    values = {hp.name: hp.values[0] for hp in australian.hyperparameters().space}
    row = australian.index(values)
    assert australian.truth[row] == pytest.approx(np.mean(australian.runs[row]))
    with pytest.raises(ConfigError, match="has no configuration"):
        australian.index({**values, "depth": 7})
    assert australian.regret(australian.optimum) == 0.0


def test_table_errors(tmp_path):
    with pytest.raises(ConfigError, match="HPO table 'svm' is unknown"):
        TabularBenchmark.load("svm", tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        TabularBenchmark.load("mlp_australian", tmp_path)
    spec = TABLES["mlp_australian"]
    header = ",".join(spec.hyperparameters + spec.seed_columns)
    (tmp_path / spec.file).write_text(header + "\n" + "1,2,3,4,5,,,,,\n")
    with pytest.raises(DataError, match="line 2: no seed has a value"):
        TabularBenchmark.load("mlp_australian", tmp_path)
    (tmp_path / spec.file).write_text(header.replace("width", "w") + "\n")
    with pytest.raises(DataError, match="no column 'width'"):
        TabularBenchmark.load("mlp_australian", tmp_path)


def test_a_trial_is_one_training_seed_and_the_pick_is_judged_by_the_seed_mean(australian):
    problem = tuner_benchmark.TableProblem(australian)
    report, = tuner_benchmark.compare([problem], ["random", "nases"], 2, [5, 12], log=None)
    for name in ("random", "nases"):
        entry = report["strategies"][name]
        assert entry["seeds"] == 2 and set(entry["budgets"]) == {"5", "12"}
        for cell in entry["budgets"].values():
            assert cell["mean"] <= australian.optimum
            assert cell["regret_mean"] == pytest.approx(australian.optimum - cell["mean"])
    run = tuner_benchmark.run_search(problem, "random", 0, 12, _scratch(), None)
    assert len(run.rewards) == len(run.returned) == 12
    answers = problem.answers(0)
    assert all(v in australian.truth for v in run.returned)
    # random search returns its best-scored trial: the luckiest training run
    assert run.returned[-1] in australian.truth
    assert answers.query({hp.name: hp.values[0]
                          for hp in australian.hyperparameters().space}) in australian.runs[0]
    text = tuner_benchmark.format_report(report, "nases")
    assert "seed mean" in text and "nases better than each peer" in text
    json.dumps(report, allow_nan=False)


def _scratch():
    import tempfile
    return tempfile.mkdtemp()


def test_cheap_problem_is_deterministic_and_finite_only_strategies_skip_it():
    problem = tuner_benchmark.CheapProblem()
    assert not tuner_benchmark.is_finite(problem.hyperparameters())
    printed = []
    report, = tuner_benchmark.compare([problem], ["random", "local"], 1, [6],
                                      log=lambda *a, **k: printed.append(a[0]))
    assert set(report["strategies"]) == {"random"} and not report["noisy"]
    assert any("local skipped" in line for line in printed)
    with pytest.raises(ConfigError, match="continuous"):
        tuner_benchmark.run_search(problem, "evolution", 0, 3, _scratch())


def test_command_line_writes_reports_and_refuses_bad_input(tmp_path, capsys):
    fv = flags.FlagValues()
    tuner_cli.define_flags(fv)
    out = tmp_path / "tuner.json"
    fv(["prog", "--problems=cheap", "--strategies=random,tpe", "--seeds=2",
        "--trials=4,8", f"--output_json={out}", "--reference=tpe"])
    tuner_cli.main(fv)
    printed = capsys.readouterr().out
    assert "deterministic objective" in printed and "tpe better than each peer" in printed
    saved = json.loads(out.read_text())
    assert saved["trials"] == [4, 8] and saved["reports"][0]["problem"] == "cheap"
    for argv, match in ((["--problems=svm"], "problem 'svm' is unknown"),
                        (["--problems=fcnet_protein"], "needs the folder"),
                        (["--trials=a"], "--trials=a must be integers"),
                        (["--strategies=grid"], "unknown strategy 'grid'")):
        fv = flags.FlagValues()
        tuner_cli.define_flags(fv)
        fv(["prog", *argv])
        with pytest.raises(ConfigError, match=match):
            tuner_cli.main(fv)
