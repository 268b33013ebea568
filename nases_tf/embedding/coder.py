"""Stage 1 (paper 3.2, 4.1; Alg. 1 lines 1-2): the architecture simulator and decoder.

The simulator ``s_v: R^m -> R^n`` and the decoder ``f_theta: R^n -> R^m`` are Keras models
assembled in an autoencoder and trained with a least-squares loss and Adam on samples of the
uniform distribution ``U[0,1]^m`` (input = target). ``lstm`` coders have one LSTM layer each,
one step per decision, as the paper says; ``mlp`` coders are dense, as the authors' code is.
"""

import dataclasses
import math
import os

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from nases_tf import encoding, fileio
from nases_tf.errors import ConfigError, DataError

CODERS = ("lstm", "mlp")
CODER_FILE = "coder.json"


def default_embedding_dim(num_decisions):
    """The embedding size ``n`` used when none is given: about m/3, between 2 and 32."""
    return int(max(2, min(32, round(num_decisions / 3))))


def build_simulator(num_decisions, embedding_dim, coder="lstm", hidden_units=64):
    """The architecture simulator ``s_v``: unit vectors (batch, m) -> embeddings (batch, n).

    Args:
        num_decisions: m.
        embedding_dim: n.
        coder: ``lstm`` (one LSTM layer of n units reading one decision per step; the
            embedding is its last output) or ``mlp`` (dense hidden layer, linear embedding).
        hidden_units: width of the mlp's hidden layer.
    """
    inputs = keras.Input((num_decisions,), name="architecture")
    if coder == "lstm":
        seq = keras.layers.Reshape((num_decisions, 1), name="steps")(inputs)
        emb = keras.layers.LSTM(embedding_dim, name="lstm")(seq)
    elif coder == "mlp":
        hidden = keras.layers.Dense(hidden_units, activation="relu", name="hidden")(inputs)
        emb = keras.layers.Dense(embedding_dim, name="embedding")(hidden)
    else:
        raise ConfigError(f"--coder={coder!r} is unknown, expected one of {', '.join(CODERS)}")
    return keras.Model(inputs, emb, name="simulator")


def build_decoder(num_decisions, embedding_dim, coder="lstm", hidden_units=64):
    """The architecture decoder ``f_theta``: embeddings (batch, n) -> unit vectors (batch, m).

    The lstm decoder reads the embedding at every one of the m steps, beside the step's
    position t/m, and emits one value in [0, 1] per step (a sigmoid).

    Args:
        num_decisions: m.
        embedding_dim: n.
        coder: ``lstm`` or ``mlp``.
        hidden_units: LSTM units (lstm) or hidden width (mlp).
    """
    inputs = keras.Input((embedding_dim,), name="embedding")
    if coder == "lstm":
        repeated = keras.layers.RepeatVector(num_decisions, name="repeat")(inputs)
        positions = np.linspace(0.0, 1.0, num_decisions, dtype="float32").reshape(1, -1, 1)
        with_pos = PositionConcat(positions, name="positions")(repeated)
        seq = keras.layers.LSTM(hidden_units, return_sequences=True, name="lstm")(with_pos)
        out = keras.layers.TimeDistributed(keras.layers.Dense(1, activation="sigmoid"),
                                           name="per_step")(seq)
        out = keras.layers.Reshape((num_decisions,), name="architecture")(out)
    elif coder == "mlp":
        hidden = keras.layers.Dense(hidden_units, activation="relu", name="hidden")(inputs)
        out = keras.layers.Dense(num_decisions, activation="sigmoid", name="architecture")(hidden)
    else:
        raise ConfigError(f"--coder={coder!r} is unknown, expected one of {', '.join(CODERS)}")
    return keras.Model(inputs, out, name="decoder")


@keras.saving.register_keras_serializable(package="nases_tf")
class PositionConcat(keras.layers.Layer):
    """Appends a fixed per-step position channel to a (batch, steps, features) sequence.

    Args:
        positions: array (1, steps, 1) of the position values.
    """

    def __init__(self, positions, **kwargs):
        super().__init__(**kwargs)
        self.positions = np.asarray(positions, dtype="float32").reshape(1, -1, 1)

    def call(self, x):
        pos = tf.cast(tf.constant(self.positions), x.dtype)
        return tf.concat([x, tf.tile(pos, [tf.shape(x)[0], 1, 1])], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "positions": self.positions.reshape(-1).tolist()}


@keras.saving.register_keras_serializable(package="nases_tf")
class ArchitectureAutoencoder(keras.Model):
    """The simulator and decoder assembled in one autoencoder: unit vector -> same.

    Args:
        simulator: the ``s_v`` model.
        decoder: the ``f_theta`` model.
    """

    def __init__(self, simulator, decoder, **kwargs):
        super().__init__(**kwargs)
        self.simulator, self.decoder = simulator, decoder

    def call(self, x, training=None):
        return self.decoder(self.simulator(x, training=training), training=training)

    def get_config(self):
        return {**super().get_config(),
                "simulator": keras.saving.serialize_keras_object(self.simulator),
                "decoder": keras.saving.serialize_keras_object(self.decoder)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        simulator = keras.saving.deserialize_keras_object(config.pop("simulator"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(simulator, decoder, **config)


@dataclasses.dataclass
class CoderConfig:
    """Settings of stage 1.

    Attributes:
        coder: ``lstm`` (paper) or ``mlp`` (authors' code).
        embedding_dim: n (None: ``default_embedding_dim(m)``).
        steps: Adam steps.
        learning_rate: Adam learning rate (the paper: 1e-5).
        batch_size: uniform samples per step.
        hidden_units: decoder LSTM units / mlp hidden width.
        seed: seed of initialization and samples.
        log_every: steps between metric logs.
    """

    coder: str = "lstm"
    embedding_dim: int = None
    steps: int = 1000
    learning_rate: float = 3e-3
    batch_size: int = 128
    hidden_units: int = 64
    seed: int = 0
    log_every: int = 200


def decision_accuracy(space_sizes, targets, reconstructions):
    """Share of decisions whose reconstruction decodes to the target's choice."""
    a = encoding.decode_unit(targets, space_sizes)
    b = encoding.decode_unit(reconstructions, space_sizes)
    return float(np.mean(a == b))


class Coder:
    """A trained (or training) simulator/decoder pair for one search space.

    Args:
        space: the search space.
        config: a ``CoderConfig``.
    """

    def __init__(self, space, config):
        self.space, self.config = space, config
        m = space.num_decisions
        self.embedding_dim = config.embedding_dim or default_embedding_dim(m)
        if not 1 <= self.embedding_dim:
            raise ConfigError(f"--embedding_dim={self.embedding_dim} must be positive")
        keras.utils.set_random_seed(config.seed)
        self.simulator = build_simulator(m, self.embedding_dim, config.coder, config.hidden_units)
        self.decoder = build_decoder(m, self.embedding_dim, config.coder, config.hidden_units)
        self.autoencoder = ArchitectureAutoencoder(self.simulator, self.decoder)
        self.metrics = {}

    def description(self):
        """JSON-able identity of this coder: space, sizes, coder kind."""
        return {"space": self.space.config(), "num_decisions": self.space.num_decisions,
                "embedding_dim": self.embedding_dim, "coder": self.config.coder,
                "hidden_units": self.config.hidden_units}

    def held_out(self, count=1024):
        """Fixed held-out uniform samples (seeded apart from the training samples)."""
        rng = np.random.default_rng([self.config.seed, 7])
        return rng.random((count, self.space.num_decisions), dtype=np.float32)

    def evaluate(self, held_out=None, random_embeddings=10000):
        """Reconstruction MSE and decision accuracy on held-out uniform samples, and how many
        distinct architectures decoding ``random_embeddings`` random embeddings yields (drawn
        from a Gaussian fitted to the simulator's embeddings of the held-out samples)."""
        x = self.held_out() if held_out is None else held_out
        emb = self.simulator.predict(x, batch_size=1024, verbose=0)
        recon = self.decoder.predict(emb, batch_size=1024, verbose=0)
        rng = np.random.default_rng([self.config.seed, 11])
        random = rng.normal(emb.mean(0), emb.std(0) + 1e-6,
                            size=(random_embeddings, emb.shape[1])).astype(np.float32)
        decoded = self.space.decode_batch(self.decoder.predict(random, batch_size=2048,
                                                               verbose=0))
        return {"mse": float(np.mean((recon - x) ** 2)),
                "decision_accuracy": decision_accuracy(self.space.sizes, x, recon),
                "distinct_architectures": int(len(np.unique(decoded, axis=0))),
                "random_embeddings": int(random_embeddings)}

    def pretrain(self, directory, tensorboard_dir=None, verbose=1):
        """Trains the autoencoder on U[0,1]^m, resuming from ``directory`` if a checkpoint is
        there; logs MSE and decision accuracy; returns the final metrics."""
        cfg = self.config
        optimizer = keras.optimizers.Adam(cfg.learning_rate)
        optimizer.build(self.autoencoder.trainable_variables)
        step_var = tf.Variable(0, dtype=tf.int64, trainable=False)
        ckpt = fileio.RunCheckpoint(os.path.join(directory, "checkpoints"),
                                           autoencoder=self.autoencoder, optimizer=optimizer,
                                           step=step_var)
        ckpt.restore()
        m = self.space.num_decisions
        seed = tf.constant([cfg.seed, 0], tf.int64)

        @tf.function
        def train_step(step):
            x = tf.random.stateless_uniform([cfg.batch_size, m], seed + [0, step])
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(self.autoencoder(x, training=True) - x))
            variables = self.autoencoder.trainable_variables
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
            return loss

        writer = tf.summary.create_file_writer(tensorboard_dir) if tensorboard_dir else None
        untrained = self.evaluate(random_embeddings=1000) if int(step_var.numpy()) == 0 else None
        if untrained:
            logging.info("untrained coder: decision accuracy %.3f, mse %.4f",
                         untrained["decision_accuracy"], untrained["mse"])
        bar = keras.utils.Progbar(cfg.steps, verbose=verbose, stateful_metrics=["mse"])
        bar.update(int(step_var.numpy()))
        while int(step_var.numpy()) < cfg.steps:
            loss = float(train_step(step_var))
            step_var.assign_add(1)
            step = int(step_var.numpy())
            bar.update(step, [("mse", loss)])
            if step % cfg.log_every == 0 or step == cfg.steps:
                metrics = self.evaluate(random_embeddings=1000)
                logging.info("pretrain step %d: mse %.4f, decision accuracy %.3f", step,
                             metrics["mse"], metrics["decision_accuracy"])
                if writer:
                    with writer.as_default(step=step):
                        tf.summary.scalar("pretrain/train_mse", loss)
                        tf.summary.scalar("pretrain/heldout_mse", metrics["mse"])
                        tf.summary.scalar("pretrain/decision_accuracy",
                                          metrics["decision_accuracy"])
                ckpt.save({"step": step})
        self.metrics = self.evaluate()
        if untrained:
            self.metrics["untrained_decision_accuracy"] = untrained["decision_accuracy"]
        if writer:
            with writer.as_default(step=cfg.steps):
                tf.summary.scalar("pretrain/distinct_architectures",
                                  self.metrics["distinct_architectures"])
            writer.flush()
        return self.metrics

    def save(self, directory):
        """Writes ``simulator.keras``, ``decoder.keras`` and ``coder.json`` to ``directory``."""
        fileio.save_keras_model(self.simulator, os.path.join(directory, "simulator.keras"))
        fileio.save_keras_model(self.decoder, os.path.join(directory, "decoder.keras"))
        fileio.write_json(os.path.join(directory, CODER_FILE),
                                 {**self.description(), "config": dataclasses.asdict(self.config),
                                  "metrics": self.metrics})

    @classmethod
    def load(cls, directory, space, embedding_dim=None, coder=None):
        """Loads a saved coder, refusing one made for another space, size or coder kind.

        Args:
            directory: where ``save`` wrote it.
            space: the search space this run uses.
            embedding_dim: the n this run asks for (None: accept the saved one).
            coder: the coder kind this run asks for (None: accept the saved one).
        """
        info = fileio.read_json(os.path.join(directory, CODER_FILE), "coder", required=(
            "space", "num_decisions", "embedding_dim", "coder", "config"))
        space.check_config(info["space"], f"coder {directory}")
        if info["num_decisions"] != space.num_decisions:
            raise DataError(f"coder {directory} has {info['num_decisions']} decisions, this "
                            f"space has {space.num_decisions}")
        if embedding_dim and info["embedding_dim"] != embedding_dim:
            raise DataError(f"coder {directory} has --embedding_dim={info['embedding_dim']}, "
                            f"this run asks for {embedding_dim}")
        if coder and info["coder"] != coder:
            raise DataError(f"coder {directory} is --coder={info['coder']}, this run asks "
                            f"for {coder}")
        config = CoderConfig(**info["config"])
        self = cls.__new__(cls)
        self.space, self.config = space, config
        self.embedding_dim = info["embedding_dim"]
        self.simulator = fileio.load_keras_model(os.path.join(directory, "simulator.keras"),
                                                 "coder simulator")
        self.decoder = fileio.load_keras_model(os.path.join(directory, "decoder.keras"),
                                               "coder decoder")
        self.autoencoder = ArchitectureAutoencoder(self.simulator, self.decoder)
        self.metrics = info.get("metrics", {})
        return self

    @staticmethod
    def exists(directory):
        """Whether a saved coder is in ``directory``."""
        return os.path.isfile(os.path.join(directory, CODER_FILE))


def uniform_entropy_bits(space):
    """log2 of the number of architectures: the information a unit vector carries."""
    return sum(math.log2(k) for k in space.sizes)
