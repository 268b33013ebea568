"""Child networks: standalone Keras models of one architecture, and weight-sharing supernets."""

from nases_tf.networks.macro import build_macro_model, count_params
from nases_tf.networks.macro_supernet import MacroSupernet, make_eval_step, make_train_step
from nases_tf.networks.micro import build_micro_model
from nases_tf.networks.micro_supernet import MicroSupernet
from nases_tf.networks.supernets import build_supernet

__all__ = ["build_macro_model", "build_micro_model", "count_params", "MacroSupernet",
           "MicroSupernet", "build_supernet", "make_train_step", "make_eval_step"]
