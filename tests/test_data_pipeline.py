"""Data loading, splits and the tf.data augmentation pipeline."""

import numpy as np
import pytest
import tensorflow as tf

from nases_tf import data
from nases_tf.data import pipeline
from nases_tf.errors import DataError, SettingError


def test_natural_npz_loads_with_deterministic_splits(natural_npz):
    images = data.load_images(f"npz:{natural_npz}")
    assert images.num_classes == 10
    assert images.train_x.dtype == np.uint8 and images.image_shape == (32, 32, 3)
    assert len(images.train_x) + len(images.test_x) == 1834
    tx, ty, vx, vy = images.search_split()
    assert len(tx) == round(0.9 * len(images.train_x)) and len(tx) + len(vx) == len(images.train_x)
    again = data.load_images(f"npz:{natural_npz}").search_split()
    np.testing.assert_array_equal(vy, again[3])
    # the splits are disjoint: no validation image is in the search-training part
    train_keys = {img.tobytes() for img in tx}
    assert not any(img.tobytes() in train_keys for img in vx[:50])


def _checkerboard_batch(n=16, size=32):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, size, size, 3)).astype("float32")


def test_augment_keeps_shape_and_crops_a_window_of_the_padded_image():
    x = _checkerboard_batch()
    out = pipeline.augment(tf.constant(x), tf.constant([1, 2]), pad=4).numpy()
    assert out.shape == x.shape
    padded = np.pad(x, [(0, 0), (4, 4), (4, 4), (0, 0)])
    flips = 0
    for img, src in zip(out, padded):
        matches = [(dy, dx, f) for dy in range(9) for dx in range(9) for f in (0, 1)
                   if np.array_equal(img, (src[dy:dy + 32, dx:dx + 32][:, ::-1] if f
                                           else src[dy:dy + 32, dx:dx + 32]))]
        assert matches, "each output is a (possibly flipped) 32x32 window of the 40x40 pad"
        flips += matches[0][2]
    assert 0 < flips < len(x)  # horizontal flips happen, not always
    same = pipeline.augment(tf.constant(x), tf.constant([1, 2]), pad=4).numpy()
    np.testing.assert_array_equal(out, same)  # stateless: the seed fixes the result


def test_cutout_zeroes_at_most_a_square():
    x = np.ones((32, 32, 32, 3), "float32")
    out = pipeline.augment(tf.constant(x), tf.constant([5, 6]), pad=0, cutout=16).numpy()
    zeroed = (out[..., 0] == 0).sum(axis=(1, 2))
    assert zeroed.max() == 16 * 16 and zeroed.min() > 0
    assert np.all(zeroed <= 256)


def test_standardization_uses_training_statistics(natural_npz):
    images = data.load_images(f"npz:{natural_npz}")
    tx, ty, vx, vy = images.search_split()
    mean, std = pipeline.channel_stats(tx)
    batches = np.concatenate([b.numpy() for b, _ in pipeline.eval_batches(tx, ty, 256, mean, std)])
    np.testing.assert_allclose(batches.reshape(-1, 3).mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(batches.reshape(-1, 3).std(0), 1, atol=1e-3)
    val = next(iter(pipeline.eval_batches(vx, vy, 8, mean, std)))[0].numpy()
    np.testing.assert_allclose(val, (vx[:8] / 255.0 - mean) / std, atol=1e-5)


def test_train_batches_are_keyed_by_seed_and_epoch(natural_npz):
    images = data.load_images(f"npz:{natural_npz}")
    tx, ty, _, _ = images.search_split()
    mean, std = pipeline.channel_stats(tx)
    full = list(pipeline.train_batches(tx, ty, 128, seed=3, mean=mean, std=std, first_epoch=0,
                                   last_epoch=2))
    steps = len(tx) // 128
    assert len(full) == 2 * steps
    resumed = list(pipeline.train_batches(tx, ty, 128, seed=3, mean=mean, std=std,
                                      first_epoch=1, last_epoch=2))
    for (a, la), (b, lb) in zip(full[steps:], resumed):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(la.numpy(), lb.numpy())
    other = next(iter(pipeline.train_batches(tx, ty, 128, seed=4, mean=mean, std=std,
                                         last_epoch=1)))
    assert not np.array_equal(other[1].numpy(), full[0][1].numpy())
    epoch_labels = np.concatenate([l.numpy() for _, l in full[:steps]])
    assert len(set(epoch_labels.tolist())) == 10


@pytest.mark.parametrize("arrays,message", [
    ({"x": np.zeros((4, 32, 32, 3), np.float32), "y": np.zeros(4, np.int64)}, "'x' must be uint8"),
    ({"x": np.zeros((4, 32, 32), np.uint8), "y": np.zeros(4, np.int64)}, r"shape \(N, H, W, 3\)"),
    ({"x": np.zeros((4, 32, 32, 3), np.uint8), "y": np.zeros(3, np.int64)}, "'y' must be integer labels"),
    ({"x": np.zeros((4, 32, 32, 3), np.uint8), "y": np.array([0, 1, -1, 2])}, "negative label"),
    ({"x": np.zeros((4, 32, 32, 3), np.uint8)}, "missing array 'y'"),
])
def test_bad_npz_files_give_one_line_errors(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=message) as info:
        data.load_images(f"npz:{path}")
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_file_unknown_spec_and_too_few_examples(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        data.load_images(f"npz:{tmp_path}/nope.npz")
    with pytest.raises(DataError, match="expected 'cifar10' or 'npz:PATH'"):
        data.load_images("mnist")
    with pytest.raises(SettingError, match="batch_size=128 is more than the 10 examples"):
        pipeline.train_batches(np.zeros((10, 32, 32, 3), np.uint8), np.zeros(10), 128, 0,
                           np.zeros(3, np.float32), np.ones(3, np.float32))


def test_cifar10_through_tfds_mock_data():
    import tensorflow_datasets as tfds
    with tfds.testing.mock_data(num_examples=24):
        images = data.load_images("cifar10")
    assert images.source == "tfds:cifar10" and images.num_classes == 10
    assert images.train_x.shape == (24, 32, 32, 3) and images.train_x.dtype == np.uint8
    assert images.test_x.shape[1:] == (32, 32, 3) and images.train_y.dtype == np.int64
    tx, _, vx, _ = images.search_split()
    assert (len(tx), len(vx)) == (22, 2)


def test_cifar10_download_failure_names_the_override(monkeypatch):
    import tensorflow_datasets as tfds

    def offline(*args, **kwargs):
        raise ConnectionError("Max retries exceeded with url: cifar-10-binary.tar.gz")

    monkeypatch.setattr(tfds, "load", offline)
    with pytest.raises(DataError, match=r"could not load CIFAR-10.*use an npz:PATH dataset") as info:
        data.load_images("cifar10")
    assert "\n" not in str(info.value)
