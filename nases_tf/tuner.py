"""The keras-tuner entry points under their first name: ``nases_tf.tuner.NASES`` and
``nases_tf.tuner.NASESOracle`` (defined in ``nases_tf.oracles.nases``)."""

from nases_tf.oracles.nases import NASES, NASESOracle

__all__ = ["NASES", "NASESOracle"]
