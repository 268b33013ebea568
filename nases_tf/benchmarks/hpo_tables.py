"""Tabular hyperparameter-optimization benchmarks: every configuration of a real model trained
with several seeds, as a keras-tuner search space and a table of answers.

A table is a CSV with one row per configuration: one column per hyperparameter (its value)
and one column per training seed (the metric that seed's training reached). The search
space declares each hyperparameter as a user would, a ``Choice`` of the values the table
holds (numbers in increasing order, so keras-tuner treats them as ordered; words in table
order). ``TABLES`` names the two that ship in ``../shared/data/hpo/``:

- ``fcnet_protein``: FCNet (Klein & Hutter 2019), a 2-layer MLP on the protein-structure
  regression set, 9 hyperparameters, validation MSE after 100 epochs for 4 seeds (lower is
  better);
- ``mlp_australian``: HPOBench's scikit-learn MLP on OpenML's ``australian``, 5
  hyperparameters, balanced accuracy for 5 seeds (higher is better).
"""

import csv
import dataclasses
import math
import os

import keras_tuner
import numpy as np

from nases_tf.errors import ConfigError, DataError


@dataclasses.dataclass(frozen=True)
class TableSpec:
    """How to read one tabular benchmark's CSV.

    Args:
        file: the CSV's file name inside the ``hpo/`` data folder.
        hyperparameters: the hyperparameter columns, in search-space order.
        seed_columns: the per-seed metric columns.
        metric: the objective's name.
        direction: ``min`` or ``max``.
    """

    file: str
    hyperparameters: tuple
    seed_columns: tuple
    metric: str
    direction: str


TABLES = {
    "fcnet_protein": TableSpec(
        "fcnet_protein_structure.csv",
        ("activation_fn_1", "activation_fn_2", "batch_size", "dropout_1", "dropout_2",
         "init_lr", "lr_schedule", "n_units_1", "n_units_2"),
        tuple(f"valid_mse_e100_seed{i}" for i in range(4)), "valid_mse", "min"),
    "mlp_australian": TableSpec(
        "hpobench_mlp_australian.csv",
        ("alpha", "batch_size", "depth", "learning_rate_init", "width"),
        tuple(f"bal_acc_seed{i}" for i in range(5)), "bal_acc", "max"),
}


def _parse(text):
    """A table value as an int, a float or the word itself."""
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _choice_values(values):
    """A column's distinct values as a ``Choice`` takes them: numbers sorted (all floats if
    any is, as keras-tuner wants one type), words sorted."""
    if all(isinstance(v, (int, float)) for v in values):
        if any(isinstance(v, float) for v in values):
            values = {float(v) for v in values}
        return sorted(values)
    return sorted(values, key=str)


class TabularBenchmark:
    """One tabular benchmark: its search space, the per-seed metric of every configuration,
    and the seed mean a search is judged by.

    Build it with ``TabularBenchmark.load(name, folder)``.

    Args:
        name: the benchmark's name (a key of ``TABLES``, or any label).
        spec: its ``TableSpec``.
        choices: dict hyperparameter -> list of its values, in declaration order.
        rows: dict tuple of values (in ``spec.hyperparameters`` order) -> row index.
        runs: float array ``(rows, seeds)`` of the per-seed metric (NaN where missing).
        path: where it was read from (for messages).
    """

    def __init__(self, name, spec, choices, rows, runs, path=None):
        self.name, self.spec, self.choices = name, spec, choices
        self.rows, self.runs, self.path = rows, np.asarray(runs, dtype=np.float64), path
        with np.errstate(all="ignore"):
            self.truth = np.nanmean(self.runs, axis=1)
        best = np.nanargmin(self.truth) if spec.direction == "min" else np.nanargmax(self.truth)
        self.optimum = float(self.truth[best])

    @classmethod
    def load(cls, name, folder):
        """Reads benchmark ``name`` of ``TABLES`` from ``folder``.

        Args:
            name: a key of ``TABLES``.
            folder: the folder holding the CSV files (e.g. ``../shared/data/hpo``).

        Raises:
            ConfigError: for an unknown name.
            DataError: for a missing or malformed file.
        """
        if name not in TABLES:
            raise ConfigError(f"HPO table {name!r} is unknown, expected one of "
                              f"{', '.join(TABLES)}")
        spec = TABLES[name]
        path = os.path.join(os.fspath(folder), spec.file)
        if not os.path.isfile(path):
            raise DataError(f"HPO table {path} does not exist (the hpo/ folder of "
                            "../shared/data holds it)")
        rows, runs, values = {}, [], {h: set() for h in spec.hyperparameters}
        try:
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                missing = [c for c in spec.hyperparameters + spec.seed_columns
                           if c not in (reader.fieldnames or [])]
                if missing:
                    raise DataError(f"HPO table {path} has no column {missing[0]!r}")
                for line, row in enumerate(reader, start=2):
                    key = tuple(_parse(row[h]) for h in spec.hyperparameters)
                    if key in rows:
                        raise DataError(f"HPO table {path} line {line}: configuration "
                                        "appears twice")
                    try:
                        runs.append([float(row[c]) if row[c].strip() else math.nan
                                     for c in spec.seed_columns])
                    except ValueError:
                        raise DataError(f"HPO table {path} line {line}: a seed column is "
                                        "not a number") from None
                    if all(math.isnan(v) for v in runs[-1]):
                        raise DataError(f"HPO table {path} line {line}: no seed has a value")
                    rows[key] = len(rows)
                    for h, v in zip(spec.hyperparameters, key):
                        values[h].add(v)
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            raise DataError(f"HPO table {path} cannot be read: {e}") from None
        if not rows:
            raise DataError(f"HPO table {path} is empty")
        choices = {h: _choice_values(v) for h, v in values.items()}
        return cls(name, spec, choices, rows, np.array(runs), path)

    def hyperparameters(self):
        """A keras-tuner ``HyperParameters`` with one ``Choice`` of the table's values per
        hyperparameter, as a user would declare them."""
        hps = keras_tuner.HyperParameters()
        for name in self.spec.hyperparameters:
            hps.Choice(name, self.choices[name])
        return hps

    def objective(self):
        """The keras-tuner ``Objective`` of the table's metric and direction."""
        return keras_tuner.Objective(self.spec.metric, direction=self.spec.direction)

    def index(self, values):
        """The row of a trial's values (dict name -> value).

        Raises:
            ConfigError: for values the table does not hold.
        """
        key = tuple(values[h] for h in self.spec.hyperparameters)
        try:
            return self.rows[key]
        except KeyError:
            raise ConfigError(f"{self.name} has no configuration {values}") from None

    def regret(self, value):
        """How far the seed-mean ``value`` is from the table's optimum (>= 0)."""
        return value - self.optimum if self.spec.direction == "min" else self.optimum - value
