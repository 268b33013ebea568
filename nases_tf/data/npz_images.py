"""Reading and checking an ``.npz`` image dataset with numpy alone (no TensorFlow), so the
command line can refuse a bad file before any work starts.

The file holds ``x`` uint8 (N, H, W, 3) and ``y`` integer labels, and optionally both
``x_test`` and ``y_test``; without them a fixed sixth of ``x`` is held out as the test split.
"""

import os

import numpy as np

from nases_tf.errors import DataError

SPLIT_SEED = 20190909  # fixed: the search split never depends on the run seed
NPZ_TEST_FRACTION = 1 / 6  # CIFAR-10's 10k of 60k, for .npz files without a test split


def _check_arrays(path, x, y, key_x, key_y):
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] != 3:
        raise DataError(f"{path}: '{key_x}' must be uint8 of shape (N, H, W, 3), got "
                        f"{x.dtype} {x.shape}")
    if not len(x) or min(x.shape[1:3]) < 1:
        raise DataError(f"{path}: '{key_x}' holds no images ({x.shape})")
    if not np.issubdtype(y.dtype, np.integer) or y.ndim != 1 or len(y) != len(x):
        raise DataError(f"{path}: '{key_y}' must be integer labels of shape ({len(x)},), got "
                        f"{y.dtype} {y.shape}")
    if y.min() < 0:
        raise DataError(f"{path}: '{key_y}' has negative label {int(y.min())}")


def check_labels(path, train_y, test_y):
    """Raises DataError unless the training labels are exactly 0..K-1 with K >= 2 (each
    class has training examples) and every test label is one of them.

    The checks cost time and memory in the number of labels, never in their values, so a
    stray huge label is refused at once.

    Args:
        path: the dataset file, for messages.
        train_y, test_y: integer label arrays.
    """
    present = np.unique(train_y)
    num_classes = int(present[-1]) + 1
    if len(present) != num_classes:
        first_missing = int(np.flatnonzero(present != np.arange(len(present)))[0])
        raise DataError(
            f"{path}: training labels must be 0..K-1 with examples of each class; the "
            f"largest is {num_classes - 1} but {num_classes - len(present)} of the classes "
            f"below it have no training example (e.g. {first_missing})")
    if num_classes < 2:
        raise DataError(f"{path}: the training labels hold {num_classes} class; a classifier "
                        "needs at least 2")
    unseen = np.setdiff1d(np.unique(test_y), present)
    if len(unseen):
        raise DataError(f"{path}: test label {int(unseen[0])} never occurs in the training "
                        f"labels ({len(unseen)} such labels)")
    return num_classes


def read_npz(path):
    """Loads and checks an ``.npz`` dataset.

    Returns ``(train_x, train_y, test_x, test_y, num_classes)`` with int64 labels.

    Args:
        path: the ``.npz`` file.
    """
    if not os.path.isfile(path):
        raise DataError(f"{path}: file not found")
    try:
        with np.load(path) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as exc:  # noqa: BLE001 - numpy raises many kinds for one bad file
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    for key in ("x", "y"):
        if key not in arrays:
            raise DataError(f"{path}: missing array '{key}' (expected 'x' uint8 (N,H,W,3) "
                            "and 'y' int labels)")
    x, y = arrays["x"], arrays["y"]
    _check_arrays(path, x, y, "x", "y")
    if ("x_test" in arrays) != ("y_test" in arrays):
        have, lack = ("x_test", "y_test") if "x_test" in arrays else ("y_test", "x_test")
        raise DataError(f"{path}: has '{have}' but no '{lack}' (give both, or neither to "
                        "hold out part of 'x')")
    if "x_test" in arrays:
        tx, ty = arrays["x_test"], arrays["y_test"]
        _check_arrays(path, tx, ty, "x_test", "y_test")
        if tx.shape[1:] != x.shape[1:]:
            raise DataError(f"{path}: 'x_test' images are {tx.shape[1:]}, 'x' images are "
                            f"{x.shape[1:]}")
    else:
        perm = np.random.default_rng(SPLIT_SEED + 1).permutation(len(x))
        n_test = int(round(len(x) * NPZ_TEST_FRACTION))
        x, y, tx, ty = x[perm[n_test:]], y[perm[n_test:]], x[perm[:n_test]], y[perm[:n_test]]
    num_classes = check_labels(path, y, ty)
    return x, y.astype(np.int64), tx, ty.astype(np.int64), num_classes
