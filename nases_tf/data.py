"""Image datasets and the tf.data input pipeline (loading, splits, augmentation).

``load_images`` reads CIFAR-10 through tensorflow-datasets or any ``.npz`` file of ``x``
uint8 (N, H, W, 3) and ``y`` integer labels. ``train_batches`` and ``eval_batches`` build the
pipelines: batches are gathered, standardized with training statistics and augmented
(pad to 40x40 + random 32x32 crop, horizontal flip, optional cutout) as whole tensors, with
stateless randomness keyed by (seed, epoch, step) so a resumed run sees the same batches.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from nases_tf import npz_images
from nases_tf.errors import DataError
from nases_tf.npz_images import SPLIT_SEED


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


def load_images(spec, data_dir=None):
    """Loads the dataset named by ``--dataset``: ``cifar10`` or ``npz:PATH``.

    Args:
        spec: ``"cifar10"`` (tensorflow-datasets) or ``"npz:PATH"``.
        data_dir: tensorflow-datasets data directory (None: its default).
    """
    if spec == "cifar10":
        return _load_cifar10(data_dir)
    if spec.startswith("npz:"):
        return _load_npz(spec[4:])
    raise DataError(f"--dataset={spec!r} is not supported, expected 'cifar10' or 'npz:PATH'")


def _load_cifar10(data_dir):
    import tensorflow_datasets as tfds  # imported lazily: slow, and only this path needs it

    try:
        splits = tfds.load("cifar10", split=["train", "test"], as_supervised=True,
                           data_dir=data_dir)
    except Exception as exc:  # noqa: BLE001 - any download/prepare failure reads the same
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"could not load CIFAR-10 through tensorflow-datasets ({first[:200]}); "
            "download it once with network access, or pass --dataset=npz:PATH "
            "(make demo DATASET=npz:PATH)") from None
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


def channel_stats(images):
    """Per-channel mean and standard deviation (float32, shape (3,)) of uint8 images."""
    flat = images.reshape(-1, images.shape[-1]).astype(np.float64) / 255.0
    return flat.mean(axis=0).astype(np.float32), flat.std(axis=0).astype(np.float32) + 1e-6


def standardize(images, mean, std):
    """uint8 images -> float32 with per-channel ``mean`` removed and divided by ``std``."""
    return (tf.cast(images, tf.float32) / 255.0 - mean) / std


def augment(images, seed, pad=4, cutout=0):
    """Random crop after zero padding, random horizontal flip and optional cutout, per image.

    Whole-batch tensor ops; ``seed`` is a stateless seed (shape (2,) int) so the same seed
    gives the same augmentation.

    Args:
        images: float tensor (B, H, W, C), already standardized (padding is zero = the mean).
        seed: stateless random seed, int32/int64 tensor of shape (2,).
        pad: pixels of padding on each side before cropping back to (H, W).
        cutout: side of the zeroed square (0: no cutout).
    """
    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    seeds = tf.random.experimental.stateless_split(seed, 4)
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    dy = tf.random.stateless_uniform([b], seeds[0], 0, 2 * pad + 1, dtype=tf.int32)
    dx = tf.random.stateless_uniform([b], seeds[1], 0, 2 * pad + 1, dtype=tf.int32)
    rows = dy[:, None] + tf.range(h)[None, :]
    cols = dx[:, None] + tf.range(w)[None, :]
    out = tf.gather(padded, rows, axis=1, batch_dims=1)
    out = tf.gather(out, cols, axis=2, batch_dims=1)
    flip = tf.random.stateless_uniform([b], seeds[2]) < 0.5
    out = tf.where(flip[:, None, None, None], tf.reverse(out, axis=[2]), out)
    if cutout:
        cy = tf.random.stateless_uniform([b], seeds[3], 0, h, dtype=tf.int32)[:, None, None]
        cx = tf.random.stateless_uniform([b], seeds[2][::-1], 0, w,
                                         dtype=tf.int32)[:, None, None]
        ys, xs = tf.range(h)[None, :, None], tf.range(w)[None, None, :]
        lo, hi = -(cutout // 2), cutout - cutout // 2
        inside = (ys - cy >= lo) & (ys - cy < hi) & (xs - cx >= lo) & (xs - cx < hi)
        out = out * tf.cast(~inside, out.dtype)[..., None]
    return out


def check_batchable(x, batch_size, what):
    """Raises DataError unless ``x`` holds at least one full batch."""
    if len(x) < batch_size:
        raise DataError(f"{what} has {len(x)} examples, fewer than one batch of "
                        f"--batch_size={batch_size}")


def train_batches(x, y, batch_size, seed, mean, std, first_epoch=0, last_epoch=None,
                  cutout=0, pad=4):
    """Shuffled, augmented training batches for epochs ``first_epoch .. last_epoch - 1``.

    Each epoch is a fresh permutation keyed by (seed, epoch) and yields ``len(x) //
    batch_size`` full batches of (standardized float32 images, int64 labels). With
    ``last_epoch=None`` it repeats forever.

    Args:
        x, y: uint8 images and integer labels (numpy).
        batch_size: examples per batch (the remainder of an epoch is dropped).
        seed: run seed.
        mean, std: per-channel training statistics (``channel_stats``).
        first_epoch, last_epoch: the epoch range to produce.
        cutout: cutout square side, 0 for none.
        pad: crop padding.
    """
    check_batchable(x, batch_size, "training split")
    n = len(x)
    steps = n // batch_size
    images = tf.constant(x)
    labels = tf.constant(np.asarray(y, np.int64))
    mean, std = tf.constant(mean), tf.constant(std)
    seed = int(seed)

    def epoch_batches(epoch):
        perm = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
        idx = tf.reshape(perm[:steps * batch_size], [steps, batch_size])
        steps_ds = tf.data.Dataset.range(steps)
        return tf.data.Dataset.zip((tf.data.Dataset.from_tensor_slices(idx), steps_ds)).map(
            lambda i, s: (i, tf.stack([epoch * 100003 + s, tf.constant(seed, tf.int64)])))

    def load(idx, aug_seed):
        batch = standardize(tf.gather(images, idx), mean, std)
        return augment(batch, aug_seed, pad=pad, cutout=cutout), tf.gather(labels, idx)

    epochs = (tf.data.Dataset.range(first_epoch, last_epoch) if last_epoch is not None
              else tf.data.Dataset.range(first_epoch, 2 ** 62))
    ds = epochs.flat_map(epoch_batches)
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def eval_batches(x, y, batch_size, mean, std):
    """Standardized, unaugmented (images, labels) batches of the whole of ``x``, in order."""
    ds = tf.data.Dataset.from_tensor_slices((x, np.asarray(y, np.int64))).batch(batch_size)
    ds = ds.map(lambda i, l: (standardize(i, mean, std), l),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
