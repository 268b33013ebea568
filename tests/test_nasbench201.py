"""NAS-Bench-201: the space, the table loader, the baseline oracles and the benchmark driver."""

import json
import math
import pathlib

import numpy as np
import pytest

import keras_tuner
from keras_tuner.engine import trial as trial_module

from nases_tf import benchmark_search
from nases_tf.baselines import RegularizedEvolutionOracle, ReinforceOracle
from nases_tf.errors import ArchitectureError, ConfigError, DataError
from nases_tf.nasbench201_table import (NUM_ARCHS, NasBench201Table, arch_codes,
                                        code_to_arch)
from nases_tf.spaces import make_space, space_from_config
from nases_tf.spaces.nasbench201 import OPS, NasBench201Space

DATA_DIR = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"
CSV = DATA_DIR / "nasbench201_cifar10.csv"
BEST = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+"
        "|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
HEADER = ("CIFAR10TestAccuracy200Epochs,CIFAR100TestAccuracy200Epochs,"
          "ImageNetTestAccuracy200Epochs,ArchitectureString,UniqueString")


@pytest.fixture(scope="module")
def table():
    if not CSV.is_file():
        pytest.skip(f"NAS-Bench-201 table not found at {CSV} (../shared/data is not mounted)")
    return NasBench201Table.load(CSV, "cifar10")


def _write_csv(path, header, rows):
    path.write_text(header + "\n" + "".join(row + "\n" for row in rows))
    return path


# --- space --------------------------------------------------------------------------------


def test_space_registered_and_round_trips_every_architecture():
    space = make_space("nasbench201")
    assert isinstance(space, NasBench201Space)
    assert space.config() == {"name": "nasbench201"}
    assert isinstance(space_from_config(space.config()), NasBench201Space)
    assert space.sizes == (5,) * 6 and space.cardinality() == NUM_ARCHS == 15625
    strings = set()
    for code in range(NUM_ARCHS):
        arch = code_to_arch(code)
        assert int(arch_codes(arch)) == code
        text = space.to_string(arch)
        strings.add(text)
        assert space.from_string(text) == arch
        assert space.from_json(space.to_json(arch)) == arch
        assert space.readable(arch) == text
    assert len(strings) == NUM_ARCHS


def test_space_edge_order_matches_table_strings():
    space = NasBench201Space()
    arch = space.from_string(BEST)
    assert arch == (3, 3, 3, 1, 3, 2)
    assert space.to_json(arch)["edges"][3] == "skip_connect"  # edge 3<-0
    assert space.decision_names == ("edge_1_0", "edge_2_0", "edge_2_1", "edge_3_0",
                                    "edge_3_1", "edge_3_2")
    assert json.loads(space.dumps(arch))["architecture"]["string"] == BEST


@pytest.mark.parametrize("bad", [
    "",
    "|nor_conv_3x3~0|",
    "|nor_conv_3x3~0|+|none~0|none~1|",
    "|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none~0|+|none~0|+|none~0|none~1|none~2|",
    "none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|",
])
def test_bad_strings_raise_clear_errors(bad):
    with pytest.raises(ArchitectureError, match="nasbench201"):
        NasBench201Space().from_string(bad)


def test_bad_json_and_vectors_raise():
    space = NasBench201Space()
    with pytest.raises(ArchitectureError, match="unknown op"):
        space.from_json({"edges": ["none"] * 5 + ["sep_conv_3x3"]})
    with pytest.raises(ArchitectureError, match="edges"):
        space.from_json({"ops": []})
    with pytest.raises(ArchitectureError, match="disagrees"):
        space.from_json({"edges": ["none"] * 6, "string": BEST})
    with pytest.raises(ArchitectureError):
        space.to_string((0, 1, 2, 3, 4, 5))
    with pytest.raises(TypeError):
        NasBench201Space(layers=3)


# --- table --------------------------------------------------------------------------------


def test_table_parses_shipped_csv(table):
    assert len(table) == NUM_ARCHS
    arch, best = table.optimum()
    assert best == pytest.approx(94.3733, abs=1e-4)
    assert table.accuracy(BEST) == pytest.approx(94.3733, abs=1e-4)
    assert table.accuracy(arch) == best
    assert table.rank(best) == 0
    assert float(np.median(table.accuracies)) == pytest.approx(90.745, abs=1e-3)
    archs = np.array([code_to_arch(c) for c in range(0, NUM_ARCHS, 97)])
    fast = table.accuracies_of(archs)
    assert fast.tolist() == [table.accuracy(a) for a in archs]
    assert isinstance(table.accuracy(archs[0]), float)


def test_table_other_datasets(table):
    c100 = NasBench201Table.load(CSV, "cifar100")
    img = NasBench201Table.load(CSV, "imagenet16-120")
    assert 70 < c100.optimum()[1] < 80 and 40 < img.optimum()[1] < 50
    assert c100.accuracy(BEST) != table.accuracy(BEST)


def test_table_errors(tmp_path, table):
    with pytest.raises(DataError, match="does not exist"):
        NasBench201Table.load(tmp_path / "missing.csv")
    with pytest.raises(ConfigError, match="dataset 'svhn' is unknown"):
        NasBench201Table.load(CSV, "svhn")
    row = f"94.0,70.0,45.0,{BEST},x"
    no_col = _write_csv(tmp_path / "no_col.csv", HEADER.replace("CIFAR100", "CIFARX"), [row])
    with pytest.raises(DataError, match="no column 'CIFAR100TestAccuracy200Epochs'"):
        NasBench201Table.load(no_col, "cifar100")
    bad_arch = _write_csv(tmp_path / "bad_arch.csv", HEADER, ["1,2,3,|x~0|,y"])
    with pytest.raises(DataError, match="line 2"):
        NasBench201Table.load(bad_arch)
    bad_num = _write_csv(tmp_path / "bad_num.csv", HEADER, [f"abc,70.0,45.0,{BEST},x"])
    with pytest.raises(DataError, match="not a number"):
        NasBench201Table.load(bad_num)
    twice = _write_csv(tmp_path / "twice.csv", HEADER, [row, row])
    with pytest.raises(DataError, match="twice"):
        NasBench201Table.load(twice)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty"):
        NasBench201Table.load(empty)
    small = NasBench201Table.load(_write_csv(tmp_path / "small.csv", HEADER, [row]))
    assert small.accuracy(BEST) == 94.0 and len(small) == 1
    with pytest.raises(ArchitectureError, match="not in the NAS-Bench-201 table"):
        small.accuracy((0,) * 6)
    with pytest.raises(ArchitectureError, match="not in the NAS-Bench-201 table"):
        small.accuracies_of([(0,) * 6])


# --- oracles and driver -----------------------------------------------------------------


@pytest.mark.parametrize("name,budget", [("random", 40), ("evolution", 40),
                                         ("reinforce", 40), ("bayesian", 20)])
def test_strategies_query_unique_architectures_and_are_seeded(table, name, budget):
    first = benchmark_search.run_strategy(name, table, budget, seed=3)
    assert len(first.archs) == budget
    assert len(set(first.archs)) == budget
    assert first.proposals == budget + first.duplicates
    assert first.accuracies == [table.accuracy(a) for a in first.archs]
    curve = first.best_so_far(budget)
    assert np.all(np.diff(curve) >= 0) and curve[-1] == max(first.accuracies)
    if name == "bayesian":
        return  # about 1 s a trial; one run is enough
    again = benchmark_search.run_strategy(name, table, budget, seed=3)
    assert again.archs == first.archs
    other = benchmark_search.run_strategy(name, table, budget, seed=4)
    assert other.archs != first.archs


def _oracle(cls, **kwargs):
    oracle = cls(objective=benchmark_search.objective(), max_trials=50, seed=7,
                 hyperparameters=benchmark_search.make_hyperparameters(), **kwargs)
    oracle.verbose = 0
    return oracle


def _finish(oracle, trial, score=None, status=trial_module.TrialStatus.COMPLETED):
    if score is not None:
        oracle.update_trial(trial.trial_id, {"accuracy": score})
    trial.status = status
    oracle.end_trial(trial)


def test_evolution_mutates_one_decision_of_a_population_member(tmp_path, table):
    oracle = _oracle(RegularizedEvolutionOracle, population_size=5, sample_size=2)
    oracle._set_project_dir(str(tmp_path), "evo")
    space = NasBench201Space()
    seen = []
    for i in range(25):
        trial = oracle.create_trial("t")
        values = trial.hyperparameters.values
        arch = space.from_json({"edges": [values[n] for n in space.decision_names]})
        if i >= 5:
            population = [tuple(space.from_json({"edges": [t.hyperparameters.values[n] for n
                                                           in space.decision_names]}))
                          for t in oracle.population()]
            assert len(population) == 5
            assert any(sum(a != b for a, b in zip(arch, p)) == 1 for p in population)
        assert arch not in seen
        seen.append(arch)
        _finish(oracle, trial, table.accuracy(arch))
    # Aging: the population is the five most recent completions.
    assert [t.trial_id for t in oracle.population()] == oracle.end_order[-5:]
    json.dumps(oracle.get_state())  # native Python values only
    clone = _oracle(RegularizedEvolutionOracle)
    clone._set_project_dir(str(tmp_path), "evo")
    clone.reload()
    assert (clone.population_size, clone.sample_size) == (5, 2)
    assert [t.trial_id for t in clone.population()] == oracle.end_order[-5:]


def test_reinforce_ignores_failures_and_nan_and_learns_direction(tmp_path):
    oracle = _oracle(ReinforceOracle, learning_rate=0.5)
    oracle._set_project_dir(str(tmp_path), "rl")
    trial = oracle.create_trial("t")
    _finish(oracle, trial, status=trial_module.TrialStatus.FAILED)
    trial = oracle.create_trial("t")
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        _finish(oracle, trial, score=float("nan"))
    assert oracle.get_trial(trial.trial_id).status == trial_module.TrialStatus.FAILED
    oracle.create_trial("t")  # reads the finished trials
    assert oracle.num_updates == 0 and oracle.baseline is None
    assert all(v == [0.0] * len(OPS) for v in oracle.logits.values())

    # Reward 1 whenever edge_1_0 is nor_conv_3x3: its probability must grow.
    oracle = _oracle(ReinforceOracle, learning_rate=0.5)
    oracle._set_project_dir(str(tmp_path), "rl2")
    for _ in range(40):
        trial = oracle.create_trial("t")
        _finish(oracle, trial, float(trial.hyperparameters.values["edge_1_0"] == "nor_conv_3x3"))
    oracle.create_trial("t")
    assert oracle.probabilities("edge_1_0")[OPS.index("nor_conv_3x3")] > 0.5
    json.dumps(oracle.get_state())  # native Python values only
    clone = _oracle(ReinforceOracle)
    clone._set_project_dir(str(tmp_path), "rl2")
    clone.reload()  # keras-tuner's resume path: trial files + oracle.json
    assert clone.logits == oracle.logits and clone.num_updates == oracle.num_updates
    assert clone.learning_rate == 0.5 and clone.baseline == oracle.baseline

    # The same rewards as a loss to minimize push the other way.
    oracle = ReinforceOracle(objective=keras_tuner.Objective("loss", "min"), max_trials=50,
                             seed=7, learning_rate=0.5,
                             hyperparameters=benchmark_search.make_hyperparameters())
    oracle.verbose = 0
    oracle._set_project_dir(str(tmp_path), "rl3")
    for _ in range(40):
        trial = oracle.create_trial("t")
        oracle.update_trial(trial.trial_id, {
            "loss": float(trial.hyperparameters.values["edge_1_0"] == "nor_conv_3x3")})
        trial.status = trial_module.TrialStatus.COMPLETED
        oracle.end_trial(trial)
    oracle.create_trial("t")
    assert oracle.probabilities("edge_1_0")[OPS.index("nor_conv_3x3")] < 0.2


def test_oracles_reject_bad_settings():
    with pytest.raises(ConfigError, match="sample_size"):
        _oracle(RegularizedEvolutionOracle, population_size=4, sample_size=5)
    with pytest.raises(ConfigError, match="learning_rate"):
        _oracle(ReinforceOracle, learning_rate=0.0)
    hps = keras_tuner.HyperParameters()
    hps.Float("lr", 0.1, 1.0)
    oracle = RegularizedEvolutionOracle(objective=benchmark_search.objective(),
                                        hyperparameters=hps, seed=1)
    with pytest.raises(ConfigError, match="Float without step"):
        oracle.populate_space("0")


def test_parse_strategies_and_seeds():
    assert benchmark_search.parse_strategies("random, bayesian:5") == [
        ("random", None), ("bayesian", 5)]
    with pytest.raises(ConfigError, match="unknown strategy 'grid'"):
        benchmark_search.parse_strategies("random,grid")
    with pytest.raises(ConfigError, match="seed count"):
        benchmark_search.parse_strategies("bayesian:0")
    seeds = {benchmark_search.oracle_seed(s) for s in range(100)}
    assert len(seeds) == 100 and min(seeds) >= 1 and max(seeds) < 2**31


def test_benchmark_main_writes_report(tmp_path, table, capsys):
    from absl import flags

    fv = flags.FlagValues()
    benchmark_search.define_flags(fv)
    out = tmp_path / "report.json"
    fv([
        "prog", f"--table={CSV}", "--strategies=random,evolution,reinforce:1", "--budget=30",
        "--seeds=2", f"--output_json={out}", f"--plot={tmp_path / 'curves.png'}",
        "--population=10", "--tournament=3",
    ])
    benchmark_search.main(fv)
    printed = capsys.readouterr().out
    assert "without noise" in printed and "best@25" in printed and "best@30" in printed
    report = json.loads(out.read_text())
    assert report["dataset"] == "cifar10"
    assert report["optimum"] == pytest.approx(94.3733, abs=1e-4)
    assert set(report["strategies"]) == {"random", "evolution", "reinforce"}
    assert report["strategies"]["reinforce"]["seeds"] == 1
    for entry in report["strategies"].values():
        assert set(entry["budgets"]) == {"25", "30"}
        assert entry["budgets"]["30"]["mean"] >= entry["budgets"]["25"]["mean"]
        assert entry["seconds"] > 0 and not math.isnan(entry["budgets"]["30"]["std"])
    try:
        import matplotlib  # noqa: F401
        assert (tmp_path / "curves.png").stat().st_size > 1000
    except ImportError:
        assert "matplotlib is not installed" in printed
