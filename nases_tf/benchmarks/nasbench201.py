"""NAS-Bench-201's published accuracy tables as a query API, loaded from CSV.

Two CSV layouts are read, one row per architecture, keyed by ``ArchitectureString``:

- the *test-only* table (``nasbench201_cifar10.csv``, exported from the NATS-Bench API):
  columns ``CIFAR10TestAccuracy200Epochs``, ``CIFAR100TestAccuracy200Epochs``,
  ``ImageNetTestAccuracy200Epochs``: 200-epoch *test* accuracies averaged over training
  seeds. A search rewarded with them is told the truth without noise.
- the *per-seed* table (``nasbench201_200ep_seeds.csv``): ``{prefix}_valid_s{777,888,999}``,
  the 200-epoch *validation* accuracy of each training seed (empty where a seed was not
  run), and ``{prefix}_test_mean``, the seed-mean test accuracy, with ``prefix`` one of
  ``cifar10``, ``cifar100``, ``imagenet16``. It also holds what a real search sees: one
  training run's validation accuracy.

Typical use::

    table = NasBench201Table.load("nasbench201_200ep_seeds.csv", "cifar100")
    table.query("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|none~2|")
    table.optimum()
    table.validation_runs((3, 3, 3, 1, 3, 2))  # one value per training seed

Lookups index dense numpy arrays by the architecture's base-5 code, so a batch of
architectures costs one fancy-indexing operation.
"""

import csv
import math
import os

import numpy as np

from nases_tf.errors import ArchitectureError, ConfigError, DataError
from nases_tf.spaces.nasbench201 import EDGES, OPS, NasBench201Space

# --dataset name -> (test-only table column, per-seed table column prefix).
DATASET_COLUMNS = {
    "cifar10": ("CIFAR10TestAccuracy200Epochs", "cifar10"),
    "cifar100": ("CIFAR100TestAccuracy200Epochs", "cifar100"),
    "imagenet16-120": ("ImageNetTestAccuracy200Epochs", "imagenet16"),
}
ARCH_COLUMN = "ArchitectureString"
# The training seeds of the per-seed table, in column order.
TRAINING_SEEDS = (777, 888, 999)
NUM_ARCHS = len(OPS) ** len(EDGES)
# Weights of the base-5 code: the first edge is the most significant digit.
_PLACES = len(OPS) ** np.arange(len(EDGES) - 1, -1, -1, dtype=np.int64)


def arch_codes(archs):
    """Base-5 codes (int64 array) of architectures.

    Args:
        archs: int array-like of shape ``(6,)`` or ``(batch, 6)``, values in ``[0, 5)``.

    Returns:
        An int64 array of shape ``()`` or ``(batch,)`` with values in ``[0, 15625)``.
    """
    archs = np.asarray(archs, dtype=np.int64)
    if archs.shape[-1:] != (len(EDGES),):
        raise ArchitectureError(
            f"nasbench201 architectures need {len(EDGES)} decisions, got shape {archs.shape}")
    if archs.size and (archs.min() < 0 or archs.max() >= len(OPS)):
        raise ArchitectureError(
            f"nasbench201 decisions must lie in [0, {len(OPS)}), got values from "
            f"{archs.min()} to {archs.max()}")
    return archs @ _PLACES


def code_to_arch(code):
    """The architecture (tuple of 6 ints) with base-5 code ``code``.

    Args:
        code: an int in ``[0, 15625)``.
    """
    code = int(code)
    if not 0 <= code < NUM_ARCHS:
        raise ArchitectureError(f"nasbench201 code {code} is outside [0, {NUM_ARCHS})")
    return tuple(int(code // p % len(OPS)) for p in _PLACES)


def _number(text, path, line, column, empty=False):
    """A CSV field as a float; an empty field is NaN when ``empty`` is allowed."""
    if empty and not text.strip():
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise DataError(f"NAS-Bench-201 table {path} line {line}: {column} is {text!r}, not "
                        "a number") from None


class NasBench201Table:
    """Accuracies of the NAS-Bench-201 architectures on one dataset.

    Build it with ``NasBench201Table.load(path, dataset)``.

    Args:
        accuracies: float64 array of shape ``(15625,)`` indexed by base-5 architecture code:
            the seed-mean 200-epoch test accuracy (the truth a search is judged by), NaN
            where the table has no entry.
        dataset: the dataset name, one of ``DATASET_COLUMNS``.
        path: where the table was read from (for messages), or None.
        validation: float64 array ``(15625, len(TRAINING_SEEDS))`` of per-seed 200-epoch
            validation accuracies (NaN where a seed was not run), or None for a test-only
            table.
    """

    def __init__(self, accuracies, dataset, path=None, validation=None):
        accuracies = np.asarray(accuracies, dtype=np.float64)
        if accuracies.shape != (NUM_ARCHS,):
            raise DataError(
                f"NAS-Bench-201 accuracy array has shape {accuracies.shape}, expected "
                f"({NUM_ARCHS},)")
        if np.all(np.isnan(accuracies)):
            raise DataError(f"NAS-Bench-201 table {path or ''} holds no accuracies".strip())
        if validation is not None:
            validation = np.asarray(validation, dtype=np.float64)
            if validation.shape != (NUM_ARCHS, len(TRAINING_SEEDS)):
                raise DataError(
                    f"NAS-Bench-201 validation array has shape {validation.shape}, expected "
                    f"({NUM_ARCHS}, {len(TRAINING_SEEDS)})")
        self.accuracies = accuracies
        self.validation = validation
        self.dataset = dataset
        self.path = path
        self.space = NasBench201Space()
        best = int(np.nanargmax(accuracies))
        self._optimum_code = best

    @property
    def has_validation_runs(self):
        """Whether the table holds per-seed validation accuracies (the per-seed layout)."""
        return self.validation is not None

    @classmethod
    def load(cls, path, dataset="cifar10"):
        """Reads the CSV table at ``path`` (either layout) and keeps the columns of
        ``dataset``.

        Args:
            path: path of the CSV file: the test-only table or the per-seed table (see the
                module docstring).
            dataset: one of ``cifar10``, ``cifar100``, ``imagenet16-120``.

        Returns:
            A ``NasBench201Table``; ``validation`` is set for the per-seed layout.

        Raises:
            ConfigError: for an unknown dataset.
            DataError: for a missing or unreadable file, a missing column, a bad row, or a
                duplicated architecture.
        """
        if dataset not in DATASET_COLUMNS:
            raise ConfigError(
                f"NAS-Bench-201 dataset {dataset!r} is unknown, expected one of "
                f"{', '.join(DATASET_COLUMNS)}")
        test_only_column, prefix = DATASET_COLUMNS[dataset]
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise DataError(
                f"NAS-Bench-201 table {path} does not exist (pass the CSV exported from the "
                "NATS-Bench API, e.g. ../shared/data/nasbench201_200ep_seeds.csv)")
        space = NasBench201Space()
        accuracies = np.full(NUM_ARCHS, np.nan)
        validation = None
        try:
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.reader(f)
                header = next(reader, None)
                if header is None:
                    raise DataError(f"NAS-Bench-201 table {path} is empty")
                header = [name.strip() for name in header]
                per_seed = f"{prefix}_test_mean" in header
                column = f"{prefix}_test_mean" if per_seed else test_only_column
                seed_columns = [f"{prefix}_valid_s{seed}" for seed in TRAINING_SEEDS] \
                    if per_seed else []
                for needed in (ARCH_COLUMN, column, *seed_columns):
                    if needed not in header:
                        raise DataError(
                            f"NAS-Bench-201 table {path} has no column {needed!r} (columns: "
                            f"{', '.join(header)})")
                arch_col, acc_col = header.index(ARCH_COLUMN), header.index(column)
                seed_cols = [header.index(name) for name in seed_columns]
                if per_seed:
                    validation = np.full((NUM_ARCHS, len(TRAINING_SEEDS)), np.nan)
                for line, row in enumerate(reader, start=2):
                    if not row:
                        continue
                    if len(row) != len(header):
                        raise DataError(
                            f"NAS-Bench-201 table {path} line {line} has {len(row)} fields, "
                            f"expected {len(header)}")
                    try:
                        arch = space.from_string(row[arch_col])
                    except ArchitectureError as e:
                        raise DataError(f"NAS-Bench-201 table {path} line {line}: {e}") from None
                    code = int(arch_codes(arch))
                    if not math.isnan(accuracies[code]):
                        raise DataError(
                            f"NAS-Bench-201 table {path} line {line}: architecture "
                            f"{row[arch_col]} appears twice")
                    value = _number(row[acc_col], path, line, column)
                    if math.isnan(value):
                        raise DataError(
                            f"NAS-Bench-201 table {path} line {line}: {column} is NaN")
                    accuracies[code] = value
                    if per_seed:
                        runs = [_number(row[i], path, line, header[i], empty=True)
                                for i in seed_cols]
                        if all(math.isnan(v) for v in runs):
                            raise DataError(
                                f"NAS-Bench-201 table {path} line {line}: no seed has a "
                                f"validation accuracy ({', '.join(seed_columns)})")
                        validation[code] = runs
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            raise DataError(f"NAS-Bench-201 table {path} cannot be read: {e}") from None
        return cls(accuracies, dataset, path, validation)

    def __len__(self):
        return int(np.sum(~np.isnan(self.accuracies)))

    def _validate(self, arch):
        """``arch`` (6 ints or a NAS-Bench-201 string) as a tuple of 6 ints in ``[0, 5)``."""
        if isinstance(arch, str):
            return self.space.from_string(arch)
        return self.space.validate(arch)

    def accuracy(self, arch):
        """Test accuracy (percent, a Python float) of one architecture.

        Args:
            arch: sequence of 6 ints in ``[0, 5)`` or a NAS-Bench-201 architecture string.

        Raises:
            ArchitectureError: if ``arch`` is not a valid architecture or is not in the table.
        """
        arch = self._validate(arch)
        value = self.accuracies[int(arch_codes(arch))]
        if math.isnan(value):
            raise ArchitectureError(
                f"architecture {self.space.to_string(arch)} is not in the NAS-Bench-201 table "
                f"{self.path or ''}".rstrip())
        return float(value)

    def validation_runs(self, arch):
        """The per-seed 200-epoch validation accuracies of one architecture: what one
        training run of it shows a search.

        Args:
            arch: an architecture, as for ``accuracy``.

        Returns:
            A dict training seed -> validation accuracy (percent) for the seeds that were
            run.

        Raises:
            ConfigError: if the table is the test-only layout.
            ArchitectureError: as ``accuracy``.
        """
        if self.validation is None:
            raise ConfigError(
                f"NAS-Bench-201 table {self.path or ''} has test accuracies only; per-seed "
                "validation accuracies are in the per-seed table (nasbench201_200ep_seeds.csv)")
        arch = self._validate(arch)
        self.accuracy(arch)
        runs = self.validation[int(arch_codes(arch))]
        return {seed: float(v) for seed, v in zip(TRAINING_SEEDS, runs) if not math.isnan(v)}

    def accuracies_of(self, archs):
        """Vectorised lookup: accuracies (float64 array ``(batch,)``) of many architectures.

        Args:
            archs: int array-like of shape ``(batch, 6)``.

        Raises:
            ArchitectureError: if a row is out of range or not in the table.
        """
        values = self.accuracies[arch_codes(archs)]
        if np.any(np.isnan(values)):
            missing = np.asarray(archs)[np.isnan(values)][0]
            raise ArchitectureError(
                f"architecture {self.space.to_string(missing)} is not in the NAS-Bench-201 "
                "table")
        return values

    def query(self, arch):
        """Everything the table says about one architecture.

        Args:
            arch: an architecture, as for ``accuracy``.

        Returns:
            ``{"architecture": string, "code": base-5 code, "dataset": dataset name,
            "test_accuracy": percent (seed mean), "rank": entries strictly better (0 = the
            best)}``, plus ``"validation_runs"`` (``validation_runs``) for a per-seed table.

        Raises:
            ArchitectureError: as ``accuracy``.
        """
        arch = self._validate(arch)
        accuracy = self.accuracy(arch)
        result = {"architecture": self.space.to_string(arch), "code": int(arch_codes(arch)),
                  "dataset": self.dataset, "test_accuracy": accuracy,
                  "rank": self.rank(accuracy)}
        if self.validation is not None:
            result["validation_runs"] = self.validation_runs(arch)
        return result

    def __contains__(self, arch):
        """Whether the table has an entry for ``arch`` (6 ints or a string; False if invalid)."""
        try:
            self.accuracy(arch)
        except ArchitectureError:
            return False
        return True

    def optimum(self, codes=False):
        """``(architecture, accuracy)`` of the best entry of the table: the architecture as
        its NAS-Bench-201 string, or with ``codes`` as its tuple of 6 op indices.

        Args:
            codes: return the op indices instead of the string.
        """
        arch = code_to_arch(self._optimum_code)
        return (arch if codes else self.space.to_string(arch),
                float(self.accuracies[self._optimum_code]))

    def rank(self, accuracy):
        """How many table entries are strictly better than ``accuracy`` (0 = the best).

        Args:
            accuracy: a float, percent.
        """
        return int(np.sum(self.accuracies[~np.isnan(self.accuracies)] > accuracy))
