"""Former home of the network layers, now ``nases_tf.networks.layers``: importing this module
still registers them with Keras (``import nases_tf.ops`` before ``keras.models.load_model``)
and its names still import from here."""

from nases_tf.networks.layers import (WEIGHT_DECAY, ClassifierHead,  # noqa: F401
                                      FactorizedReduction, MacroOp, ReLUConvBN, Stem)
