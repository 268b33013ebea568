"""The deployable final model: raw uint8 images in, the training standardization inside the
model, and a SavedModel export that serves class probabilities without nases_tf."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from nases_tf import data
from nases_tf.data import pipeline
from nases_tf.spaces import MacroSpace
from nases_tf.storage import fileio
from nases_tf.training import export
from nases_tf.training.config import FinalConfig, RuntimeConfig
from nases_tf.training.final import train_final

# Runs in a fresh interpreter that cannot import nases_tf (the venv may hold an editable
# install of it, so isolation alone is not enough): loads the export and serves the images.
SERVE_WITHOUT_NASES_TF = textwrap.dedent("""
    import sys
    sys.modules["nases_tf"] = None  # any import of nases_tf now raises ImportError
    try:
        import nases_tf  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("nases_tf is importable")
    import numpy as np
    import tensorflow as tf
    images = np.load(sys.argv[2])["x"]
    served = tf.saved_model.load(sys.argv[1])
    np.save(sys.argv[3], served.serve(tf.constant(images)).numpy())
""")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, natural_npz):
    """A macro network trained for one epoch on the shipped photos by ``train_final``:
    (output directory, images, training mean, training std). The tests that read it share
    an xdist group, so one worker trains it."""
    images = data.load_images(f"npz:{natural_npz}")
    out = tmp_path_factory.mktemp("run")
    keras.utils.set_random_seed(0)
    space = MacroSpace(3)
    config = FinalConfig(epochs=1, batch_size=64, filters=8)
    train_final(space, space.sample(np.random.default_rng(0)), images, str(out), config,
                RuntimeConfig(verbose=0))
    mean, std = pipeline.channel_stats(images.train_x)
    return out / "final", images, mean, std


@pytest.mark.xdist_group("export_trained")
def test_final_model_takes_raw_images_and_standardizes_them_itself(trained):
    final, images, mean, std = trained
    model = fileio.load_keras_model(str(final / "model.keras"), "final model")
    assert model.input.dtype == "uint8" and tuple(model.input.shape) == (None, 32, 32, 3)
    assert type(model.get_layer("standardize")) is keras.layers.Normalization
    raw = images.test_x[:64]
    network = model.get_layer("macro_child")
    want = network(pipeline.standardize(raw, mean, std), training=False).numpy()
    got = model(raw, training=False).numpy()
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)
    # trained, not random: better than chance (0.1) on the held-out photos
    accuracy = np.mean(np.argmax(model.predict(images.test_x, verbose=0), -1) == images.test_y)
    assert accuracy > 0.15


@pytest.mark.xdist_group("export_trained")
def test_export_is_written_whole_and_replaces_an_older_one(trained, tmp_path):
    final, _, _, _ = trained
    assert (final / "saved_model" / "saved_model.pb").is_file()
    model = keras.models.load_model(final / "model.keras")
    target = tmp_path / "export"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    export.export_probabilities(model, str(target))
    assert (target / "saved_model.pb").is_file() and not (target / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


@pytest.mark.slow
@pytest.mark.xdist_group("export_trained")
def test_saved_model_serves_probabilities_without_nases_tf(trained, tmp_path, natural_npz):
    final, _, _, _ = trained
    served = tmp_path / "served.npy"
    done = subprocess.run(
        [sys.executable, "-I", "-c", SERVE_WITHOUT_NASES_TF, str(final / "saved_model"),
         natural_npz, str(served)], cwd=tmp_path, capture_output=True, text=True,
        check=False, env={"TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    images = np.load(natural_npz)["x"]
    probabilities = np.load(served)
    model = keras.models.load_model(final / "model.keras")
    want = keras.ops.convert_to_numpy(keras.ops.softmax(model.predict(images, verbose=0)))
    assert probabilities.shape == (len(images), 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(probabilities, want, atol=1e-5)
