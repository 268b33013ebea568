"""The NAS-Bench-201 table as a query API: loading, lookups, optimum, rank, datasets, errors."""

import numpy as np
import pytest
from conftest import NB201_CSV, NB201_SEEDS_CSV

from nases_tf.benchmarks.nasbench201 import NUM_ARCHS, NasBench201Table, code_to_arch
from nases_tf.errors import ArchitectureError, ConfigError, DataError

BEST = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+"
        "|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
HEADER = ("CIFAR10TestAccuracy200Epochs,CIFAR100TestAccuracy200Epochs,"
          "ImageNetTestAccuracy200Epochs,ArchitectureString,UniqueString")


def _write_csv(path, header, rows):
    path.write_text(header + "\n" + "".join(row + "\n" for row in rows))
    return path


def test_table_parses_shipped_csv(nb201_table):
    table = nb201_table
    assert len(table) == NUM_ARCHS
    arch, best = table.optimum()
    assert best == pytest.approx(94.3733, abs=1e-4)
    assert table.accuracy(BEST) == pytest.approx(94.3733, abs=1e-4)
    assert table.space.from_string(arch) and table.accuracy(arch) == best  # its string
    codes, _ = table.optimum(codes=True)
    assert len(codes) == 6 and table.space.to_string(codes) == arch
    assert table.rank(best) == 0
    assert float(np.median(table.accuracies)) == pytest.approx(90.745, abs=1e-3)
    archs = np.array([code_to_arch(c) for c in range(0, NUM_ARCHS, 97)])
    fast = table.accuracies_of(archs)
    assert fast.tolist() == [table.accuracy(a) for a in archs]
    assert isinstance(table.accuracy(archs[0]), float)


def test_query_reports_one_architecture(nb201_table):
    result = nb201_table.query(BEST)
    assert result == {"architecture": BEST, "code": result["code"], "dataset": "cifar10",
                      "test_accuracy": nb201_table.accuracy(BEST), "rank": 0}
    assert code_to_arch(result["code"]) == (3, 3, 3, 1, 3, 2)
    assert nb201_table.query((3, 3, 3, 1, 3, 2)) == result
    worst = nb201_table.query((0,) * 6)
    assert worst["architecture"] == "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    assert worst["rank"] == nb201_table.rank(worst["test_accuracy"]) > 15000
    assert BEST in nb201_table and (0,) * 6 in nb201_table
    assert (0, 0, 0, 0, 0, 5) not in nb201_table and "|x~0|" not in nb201_table


def test_table_other_datasets(nb201_table):
    c100 = NasBench201Table.load(NB201_CSV, "cifar100")
    img = NasBench201Table.load(NB201_CSV, "imagenet16-120")
    assert 70 < c100.optimum()[1] < 80 and 40 < img.optimum()[1] < 50
    assert c100.accuracy(BEST) != nb201_table.accuracy(BEST)
    assert c100.query(BEST)["dataset"] == "cifar100"


def test_per_seed_table_holds_validation_runs_and_the_seed_mean_test(nb201_table):
    table = NasBench201Table.load(NB201_SEEDS_CSV, "cifar10")
    assert table.has_validation_runs and not nb201_table.has_validation_runs
    assert len(table) == NUM_ARCHS
    # the seed-mean test column is the test-only table's
    assert np.allclose(table.accuracies, nb201_table.accuracies, atol=1e-4)
    assert table.optimum()[1] == pytest.approx(94.3733, abs=1e-4)
    runs = table.validation_runs(BEST)
    assert set(runs) <= {777, 888, 999} and len(runs) >= 2
    assert all(88 < v < 93 for v in runs.values())  # validation, not test, accuracies
    counts = np.sum(~np.isnan(table.validation), axis=1)
    assert set(counts) == {2, 3} and int(np.sum(counts == 3)) == 8169
    assert table.query(BEST)["validation_runs"] == runs
    c100 = NasBench201Table.load(NB201_SEEDS_CSV, "cifar100")
    assert 70 < c100.optimum()[1] < 80 and c100.validation_runs(BEST) != runs
    with pytest.raises(ConfigError, match="test accuracies only"):
        nb201_table.validation_runs(BEST)


def test_per_seed_table_errors(tmp_path):
    header = "ArchitectureString,cifar10_valid_s777,cifar10_valid_s888,cifar10_valid_s999," \
             "cifar10_test_mean"
    ok = _write_csv(tmp_path / "ok.csv", header, [f"{BEST},90.1,90.3,,94.0"])
    table = NasBench201Table.load(ok)
    assert table.validation_runs(BEST) == {777: 90.1, 888: 90.3}
    no_runs = _write_csv(tmp_path / "none.csv", header, [f"{BEST},,,,94.0"])
    with pytest.raises(DataError, match="no seed has a validation accuracy"):
        NasBench201Table.load(no_runs)
    missing = _write_csv(tmp_path / "missing.csv", header.replace("_s999", "_sX"),
                         [f"{BEST},90.1,90.3,,94.0"])
    with pytest.raises(DataError, match="no column 'cifar10_valid_s999'"):
        NasBench201Table.load(missing)
    bad = _write_csv(tmp_path / "bad.csv", header, [f"{BEST},90.1,x,,94.0"])
    with pytest.raises(DataError, match="line 2: cifar10_valid_s888 is 'x', not a number"):
        NasBench201Table.load(bad)


def test_table_errors(tmp_path, nb201_table):
    with pytest.raises(DataError, match="does not exist"):
        NasBench201Table.load(tmp_path / "missing.csv")
    with pytest.raises(ConfigError, match="dataset 'svhn' is unknown"):
        NasBench201Table.load(NB201_CSV, "svhn")
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
    with pytest.raises(ArchitectureError, match="not in the NAS-Bench-201 table"):
        small.query((0,) * 6)
    assert (0,) * 6 not in small
