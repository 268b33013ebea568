"""Writes tests/data/saved_{macro,micro}_child.keras and saved_predictions.npz: two small
child networks saved by nases_tf, with their inputs and predictions, so the tests notice
when a change to the layers stops such files from loading.

Run from the repository root: .venv/bin/python tests/data/make_saved_children.py
"""

import pathlib
import zipfile

import keras
import numpy as np

from nases_tf.networks import build_network
from nases_tf.spaces import MacroSpace, MicroSpace

HERE = pathlib.Path(__file__).resolve().parent
# macro: ops sep_conv_3x3, sep_conv_5x5 with the skip 0 -> 1; micro: every op once.
ARCHS = {"macro": (MacroSpace(2), (1, 2, 1)),
         "micro": (MicroSpace(nodes=2, cells_per_stage=1),
                   (0, 1, 1, 0, 2, 2, 0, 3, 0, 0, 1, 4, 2, 1, 0, 3))}


def _deflate(path):
    """Recompresses the .keras zip's members with deflate (their bytes stay the same)."""
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, content in members:
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)


def main():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 16, 16, 3)).astype("float32")
    out = {"x": x}
    for name, (space, arch) in ARCHS.items():
        model = build_network(space, arch, filters=4, input_shape=(16, 16, 3))
        model.compile(keras.optimizers.SGD(0.01),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        # a few steps move the BN moving statistics off their initial values
        model.fit(rng.normal(size=(32, 16, 16, 3)).astype("float32"), np.arange(32) % 10,
                  epochs=2, batch_size=16, verbose=0)
        path = HERE / f"saved_{name}_child.keras"
        model.save(path)
        _deflate(path)
        out[name] = model(x, training=False).numpy()
        out[f"{name}_arch"] = np.asarray(arch)
    np.savez(HERE / "saved_predictions.npz", **out)


if __name__ == "__main__":
    main()
