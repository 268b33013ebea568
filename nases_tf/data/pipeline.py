"""The tf.data input pipeline: standardization with training statistics and augmentation.

``train_batches`` and ``eval_batches`` build the pipelines: batches are gathered,
standardized and augmented (pad to 40x40 + random 32x32 crop, horizontal flip, optional
cutout) as whole tensors, with stateless randomness keyed by (seed, epoch, step) so a
resumed run sees the same batches.
"""

import numpy as np
import tensorflow as tf

from nases_tf.errors import SettingError


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


def check_batchable(x, batch_size, what, setting="batch_size"):
    """Raises SettingError unless ``x`` holds at least one full batch.

    Args:
        x: the examples.
        batch_size: the batch size.
        what: what ``x`` is, for the message (e.g. ``search training split``).
        setting: the config field that holds ``batch_size``, for the message.
    """
    if len(x) < batch_size:
        raise SettingError(setting, batch_size, f"is more than the {len(x)} examples of "
                                                f"the {what}")


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
