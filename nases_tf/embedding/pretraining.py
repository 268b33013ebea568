"""Stage 1's training (paper 4.1; Alg. 1 lines 1-2): the autoencoder on ``U[0,1]^m``.

The one pretraining routine of nases_tf: the CLI's ``Coder`` and the keras-tuner
``NASESOracle`` both train their simulator/decoder pair with ``Pretrainer``.
"""

import keras
import numpy as np
import tensorflow as tf

from nases_tf.spaces import encoding


def reconstruction_metrics(autoencoder, x, sizes):
    """Held-out reconstruction quality of an autoencoder.

    Args:
        autoencoder: maps unit vectors (k, m) to reconstructions (k, m).
        x: held-out unit vectors (k, m).
        sizes: choices per decision (m,); 0 marks a continuous slot, left out of the
            decision accuracy.

    Returns:
        dict: ``mse``, and ``decision_accuracy`` (share of discrete decisions whose
        reconstruction decodes to the input's choice; NaN without discrete slots).
    """
    x = np.asarray(x, np.float32)
    recon = np.asarray(autoencoder(x, training=False))
    sizes = np.asarray(sizes, np.int64)
    discrete = sizes > 0
    accuracy = float("nan")
    if discrete.any():
        a = encoding.decode_unit(x[:, discrete], sizes[discrete])
        b = encoding.decode_unit(recon[:, discrete], sizes[discrete])
        accuracy = float(np.mean(a == b))
    return {"mse": float(np.mean((recon - x) ** 2)), "decision_accuracy": accuracy}


class Pretrainer:
    """Least-squares training of an autoencoder on stateless uniform samples.

    Step ``t`` trains on ``U[0,1]^m`` samples drawn from the seed ``(seed, t)``, so training
    resumed at any step gives the same weights as an uninterrupted run.

    Args:
        autoencoder: the simulator and decoder assembled (unit vectors -> unit vectors).
        num_decisions: m.
        learning_rate: Adam learning rate.
        batch_size: uniform samples per step.
        seed: integer seed of the samples.
    """

    def __init__(self, autoencoder, num_decisions, learning_rate, batch_size, seed):
        self.autoencoder = autoencoder
        self.optimizer = keras.optimizers.Adam(learning_rate)
        self.optimizer.build(autoencoder.trainable_variables)
        self._shape = [int(batch_size), int(num_decisions)]
        self._seed = int(seed) % 2**63
        self._run = tf.function(self._steps)

    def _steps(self, start, stop):
        variables = self.autoencoder.trainable_variables
        loss = tf.constant(0.0)
        for step in tf.range(start, stop):
            x = tf.random.stateless_uniform(self._shape, tf.stack([tf.constant(self._seed,
                                                                               tf.int64), step]))
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(self.autoencoder(x, training=True) - x))
            self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    def train(self, start, stop):
        """Runs steps ``start .. stop - 1`` in one graph call; returns the last step's MSE.

        Args:
            start: first step number (int).
            stop: one past the last step number (int).
        """
        if stop <= start:
            return float("nan")
        return float(self._run(tf.constant(start, tf.int64), tf.constant(stop, tf.int64)))
