"""The keras-tuner entry points under one name: ``nases_tf.tuner.NASES`` and
``nases_tf.tuner.NASESOracle`` (defined in ``nases_tf.oracles.nases``), and the TPE peer
``TPE`` / ``TPEOracle`` (``nases_tf.oracles.tpe``, needs Optuna)."""

from nases_tf import quiet_start

quiet_start.import_tensorflow()  # before keras-tuner brings TensorFlow in with its noise
from nases_tf.oracles.nases import NASES, NASESOracle  # noqa: E402,F401
from nases_tf.oracles.tpe import TPE, TPEOracle  # noqa: E402,F401
