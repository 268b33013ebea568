"""Datasets: in-memory image datasets and their checks (``images``, ``npz_images``, no
TensorFlow) and the tf.data input pipeline (``pipeline``)."""

from nases_tf.data.images import DataConfig, ImageData, load_images

__all__ = ["DataConfig", "ImageData", "load_images"]
