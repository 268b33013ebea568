"""Child networks: standalone Keras models of one architecture, and weight-sharing supernets."""

from nases_tf.networks.macro import build_macro_model, count_params

__all__ = ["build_macro_model", "count_params"]
