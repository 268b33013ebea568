"""Image datasets held in memory: CIFAR-10 through tensorflow-datasets or an ``.npz`` file,
the fixed search split, and ``DataConfig``, which names a dataset and its contents.

``load_images`` reads CIFAR-10 or any ``.npz`` file of ``x`` uint8 (N, H, W, 3) and ``y``
integer labels. Nothing here imports TensorFlow (tensorflow-datasets is imported when
CIFAR-10 is loaded), so the command line can check a dataset before TensorFlow starts.
"""

import dataclasses
import hashlib
import os

import numpy as np

from nases_tf import settings
from nases_tf.data.npz_images import SPLIT_SEED
from nases_tf.data import npz_images
from nases_tf.errors import DataError


@dataclasses.dataclass
class ImageData:
    """A labelled image dataset held in memory as numpy arrays.

    Attributes:
        train_x, train_y: the training split (uint8 images, int64 labels).
        test_x, test_y: the test split, used once at the end of final training.
        num_classes: number of classes.
        source: where the data came from, for logs and results.
    """

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    num_classes: int
    source: str

    @property
    def image_shape(self):
        """(height, width, channels) of the images."""
        return tuple(self.train_x.shape[1:])

    def search_split(self, train_fraction=0.9):
        """Deterministic (train_x, train_y, val_x, val_y) split of the training data.

        45k/5k on CIFAR-10; the permutation is fixed, independent of any run seed.
        """
        n = len(self.train_x)
        perm = np.random.default_rng(SPLIT_SEED).permutation(n)
        n_train = int(round(n * train_fraction))
        tr, va = perm[:n_train], perm[n_train:]
        return self.train_x[tr], self.train_y[tr], self.train_x[va], self.train_y[va]


def dataset_problem(spec):
    """What is wrong with the dataset name ``spec``, or None: ``cifar10``, or ``npz:PATH``
    of an existing file.

    Args:
        spec: the dataset's name.
    """
    if spec == "cifar10":
        return None
    if not spec.startswith("npz:"):
        return "is not supported, expected 'cifar10' or 'npz:PATH'"
    if not os.path.isfile(spec[4:]):
        return "file not found"
    return None


def dataset_digest(spec):
    """SHA-256 of an ``npz:PATH`` dataset's file (None for a named dataset).

    Args:
        spec: the dataset's name.
    """
    if not spec.startswith("npz:"):
        return None
    digest = hashlib.sha256()
    with open(spec[4:], "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Which dataset a run trains on, and what its file held.

    Attributes:
        dataset: ``cifar10`` (tensorflow-datasets) or ``npz:PATH``.
        data_dir: tensorflow-datasets' data directory (None: its default); where the data
            is stored, not what it is.
        sha256: ``dataset_digest`` of an ``npz`` file (None for a named dataset), so a run
            on a changed file is told apart from one on the old file.
    """

    dataset: str = settings.setting("cifar10")
    data_dir: str = settings.setting(None, optional=True, affects_results=False)
    sha256: str = settings.setting(None, optional=True)

    @classmethod
    def of(cls, dataset, data_dir=None):
        """The config of ``dataset`` with the digest of its file as it is now.

        Args:
            dataset: ``cifar10`` or ``npz:PATH``.
            data_dir: tensorflow-datasets' data directory.
        """
        return cls(dataset, data_dir, dataset_digest(dataset))

    def load(self):
        """The dataset's ``ImageData``."""
        return load_images(self.dataset, self.data_dir)


def load_images(spec, data_dir=None):
    """Loads the dataset ``spec``: ``cifar10`` or ``npz:PATH``.

    Args:
        spec: ``"cifar10"`` (tensorflow-datasets) or ``"npz:PATH"``.
        data_dir: tensorflow-datasets data directory (None: its default).
    """
    if spec == "cifar10":
        return _load_cifar10(data_dir)
    if spec.startswith("npz:"):
        return _load_npz(spec[4:])
    raise DataError(f"dataset {spec!r} is not supported, expected 'cifar10' or 'npz:PATH'")


def _load_cifar10(data_dir):
    import tensorflow_datasets as tfds  # imported lazily: slow, and only this path needs it

    try:
        splits = tfds.load("cifar10", split=["train", "test"], as_supervised=True,
                           data_dir=data_dir)
    except Exception as exc:  # noqa: BLE001 - any download/prepare failure reads the same
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"could not load CIFAR-10 through tensorflow-datasets ({first[:200]}); "
            "download it once with network access, or use an npz:PATH dataset") from None
    (tx, ty), (vx, vy) = (_to_numpy(split) for split in splits)
    return ImageData(tx, ty, vx, vy, 10, "tfds:cifar10")


def _to_numpy(split):
    images, labels = [], []
    for x, y in split.batch(10000).as_numpy_iterator():
        images.append(x)
        labels.append(y)
    return np.concatenate(images).astype(np.uint8), np.concatenate(labels).astype(np.int64)


def _load_npz(path):
    x, y, tx, ty, num_classes = npz_images.read_npz(path)
    return ImageData(x, y, tx, ty, num_classes, f"npz:{path}")


