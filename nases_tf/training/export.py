"""The deployable form of a trained classifier: raw uint8 images in, the standardization with
the training statistics inside the model, and a SavedModel export for TF Serving / TFLite.

Both are made of stock Keras pieces around the trained network, so the SavedModel serves
without nases_tf installed.
"""

import keras
import numpy as np

from nases_tf.storage import fileio


def with_standardization(model, mean, std, name=None):
    """A model taking raw uint8 images that standardizes them as training did, then runs
    ``model``; its outputs are ``model``'s (logits).

    The standardization ``(x / 255 - mean) / std`` of ``data.standardize`` is a stock
    ``keras.layers.Normalization`` on the 0..255 scale, in float32 whatever the dtype policy.

    Args:
        model: the trained Keras model, taking standardized float images.
        mean: per-channel training mean on the 0..1 scale (``data.channel_stats``).
        std: per-channel training standard deviation on the 0..1 scale.
        name: the new model's name (None: ``model``'s).
    """
    mean, std = np.asarray(mean, np.float64), np.asarray(std, np.float64)
    images = keras.Input(shape=model.input_shape[1:], dtype="uint8", name="images")
    standardized = keras.layers.Normalization(
        mean=(255.0 * mean).tolist(), variance=((255.0 * std) ** 2).tolist(),
        dtype="float32", name="standardize")(images)
    return keras.Model(images, model(standardized), name=name or model.name)


def export_probabilities(model, path):
    """Exports ``model`` as a SavedModel whose serving signature returns class
    probabilities (the softmax of its logits), written atomically to the directory ``path``.

    Load it with ``tf.saved_model.load(path)`` and call ``.serve(images)``, or serve it with
    TF Serving; ``tf.lite.TFLiteConverter.from_saved_model(path)`` converts it.

    Args:
        model: a Keras model giving logits (e.g. from ``with_standardization``).
        path: the SavedModel directory.
    """
    probabilities = keras.layers.Softmax(dtype="float32", name="probabilities")(model.output)
    serving = keras.Model(model.input, probabilities, name=model.name)
    fileio.write_directory(path, lambda tmp: serving.export(tmp, verbose=False))
