"""The keras-tuner entry points under one name: ``nases_tf.tuner.NASES`` and
``nases_tf.tuner.NASESOracle`` (defined in ``nases_tf.oracles.nases``), and the TPE peer
``TPE`` / ``TPEOracle`` (``nases_tf.oracles.tpe``, needs Optuna)."""

from nases_tf.oracles.nases import NASES, NASESOracle  # noqa: F401
from nases_tf.oracles.tpe import TPE, TPEOracle  # noqa: F401
