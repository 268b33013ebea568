"""Child networks: standalone Keras models of one architecture, and weight-sharing supernets."""

from nases_tf.networks.macro import build_macro_model
from nases_tf.networks.macro_supernet import MacroSupernet
from nases_tf.networks.micro import build_micro_model
from nases_tf.networks.micro_supernet import MicroSupernet
from nases_tf.networks.registry import (build_network, build_supernet, count_params,
                                        has_supernet, register_network, register_supernet)
from nases_tf.networks.steps import make_eval_step, make_train_step
from nases_tf.networks.supernet import Supernet

__all__ = ["build_macro_model", "build_micro_model", "build_network", "build_supernet",
           "count_params", "has_supernet", "register_network", "register_supernet",
           "Supernet", "MacroSupernet", "MicroSupernet", "make_train_step", "make_eval_step"]
