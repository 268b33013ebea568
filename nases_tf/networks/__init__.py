"""Child networks: standalone Keras models of one architecture, and weight-sharing supernets."""

from nases_tf.networks.macro import build_macro_model, count_params
from nases_tf.networks.macro_supernet import MacroSupernet, make_eval_step, make_train_step

__all__ = ["build_macro_model", "count_params", "MacroSupernet", "make_train_step",
           "make_eval_step"]
