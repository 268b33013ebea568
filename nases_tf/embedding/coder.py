"""Stage 1 (paper 3.2, 4.1; Alg. 1 lines 1-2): the architecture simulator and decoder.

The simulator ``s_v: R^m -> R^n`` and the decoder ``f_theta: R^n -> R^m`` are Keras models
assembled in an autoencoder and trained with a least-squares loss and Adam on samples of the
uniform distribution ``U[0,1]^m`` (input = target). ``lstm`` coders have one LSTM layer each,
one step per decision, as the paper says; ``mlp`` coders are dense, as the authors' code is.
"""

import dataclasses
import os

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from nases_tf import notices
from nases_tf.embedding.config import CODERS, DEFAULTS, EmbeddingConfig
from nases_tf.embedding.pretraining import Pretrainer, reconstruction_metrics
from nases_tf.errors import DataError, SettingError
from nases_tf.spaces import encoding
from nases_tf.storage import checkpoints, fileio

CODER_FILE = "coder.json"
# Renamed settings of coder.json files written before EmbeddingConfig existed.
_OLD_CONFIG_KEYS = {"steps": "pretrain_steps", "learning_rate": "pretrain_learning_rate",
                    "batch_size": "pretrain_batch_size"}


def _seeded(seed):
    """A maker of distinct, seeded initializers: the coder's weights depend on ``seed`` only,
    never on the program's global random state."""
    counter = iter(range(1, 1000))

    def make(kind):
        sub = (int(seed) * 1000 + next(counter)) % 2**31
        return {"glorot": keras.initializers.GlorotUniform,
                "orthogonal": keras.initializers.Orthogonal}[kind](seed=sub)
    return make


def _dense(units, init, **kwargs):
    return keras.layers.Dense(units, kernel_initializer=init("glorot"), **kwargs)


def _lstm(units, init, **kwargs):
    return keras.layers.LSTM(units, kernel_initializer=init("glorot"),
                             recurrent_initializer=init("orthogonal"), **kwargs)


def _check_coder(coder):
    if coder not in CODERS:
        raise SettingError("EmbeddingConfig.coder", coder,
                           f"is unknown, expected one of {', '.join(CODERS)}")


def build_simulator(num_decisions, embedding_dim, coder="lstm", hidden_units=64, seed=0):
    """The architecture simulator ``s_v``: unit vectors (batch, m) -> embeddings (batch, n).

    Args:
        num_decisions: m.
        embedding_dim: n.
        coder: ``lstm`` (one LSTM layer of n units reading one decision per step; the
            embedding is its last output) or ``mlp`` (dense hidden layer, linear embedding).
        hidden_units: width of the mlp's hidden layer.
        seed: seed of the initial weights.
    """
    _check_coder(coder)
    init = _seeded(seed)
    inputs = keras.Input((num_decisions,), name="architecture")
    if coder == "lstm":
        seq = keras.layers.Reshape((num_decisions, 1), name="steps")(inputs)
        emb = _lstm(embedding_dim, init, name="lstm")(seq)
    else:
        hidden = _dense(hidden_units, init, activation="relu", name="hidden")(inputs)
        emb = _dense(embedding_dim, init, name="embedding")(hidden)
    return keras.Model(inputs, emb, name="simulator")


def build_decoder(num_decisions, embedding_dim, coder="lstm", hidden_units=64, seed=0):
    """The architecture decoder ``f_theta``: embeddings (batch, n) -> unit vectors (batch, m).

    The lstm decoder reads the embedding at every one of the m steps, beside the step's
    position t/m, and emits one value in [0, 1] per step (a sigmoid).

    Args:
        num_decisions: m.
        embedding_dim: n.
        coder: ``lstm`` or ``mlp``.
        hidden_units: LSTM units (lstm) or hidden width (mlp).
        seed: seed of the initial weights.
    """
    _check_coder(coder)
    init = _seeded(int(seed) + 7919)
    inputs = keras.Input((embedding_dim,), name="embedding")
    if coder == "lstm":
        repeated = keras.layers.RepeatVector(num_decisions, name="repeat")(inputs)
        positions = np.linspace(0.0, 1.0, num_decisions, dtype="float32").reshape(1, -1, 1)
        with_pos = PositionConcat(positions, name="positions")(repeated)
        seq = _lstm(hidden_units, init, return_sequences=True, name="lstm")(with_pos)
        out = keras.layers.TimeDistributed(_dense(1, init, activation="sigmoid"),
                                           name="per_step")(seq)
        out = keras.layers.Reshape((num_decisions,), name="architecture")(out)
    else:
        hidden = _dense(hidden_units, init, activation="relu", name="hidden")(inputs)
        out = _dense(num_decisions, init, activation="sigmoid", name="architecture")(hidden)
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


class Coder:
    """A trained (or training) simulator/decoder pair for one search space: the CLI's stage 1.

    Args:
        space: the search space.
        config: an ``EmbeddingConfig`` (coder kind, sizes, pretraining settings).
        seed: seed of the initial weights and the pretraining samples.
        log_every: pretraining steps between metric logs and checkpoints.
    """

    def __init__(self, space, config=DEFAULTS, seed=0, log_every=200):
        _check_coder(config.coder)
        self.space, self.config, self.seed = space, config, int(seed)
        self.log_every = int(log_every)
        m = space.num_decisions
        self.embedding_dim = config.dim_for(m)
        self.simulator = build_simulator(m, self.embedding_dim, config.coder,
                                         config.hidden_units, seed=self.seed)
        self.decoder = build_decoder(m, self.embedding_dim, config.coder,
                                     config.hidden_units, seed=self.seed)
        self.autoencoder = ArchitectureAutoencoder(self.simulator, self.decoder)
        self.metrics = {}

    def description(self):
        """JSON-able identity of this coder: space, sizes, coder kind."""
        return {"space": self.space.config(), "num_decisions": self.space.num_decisions,
                "embedding_dim": self.embedding_dim, "coder": self.config.coder,
                "hidden_units": self.config.hidden_units}

    def held_out(self, count=1024):
        """Fixed held-out uniform samples (seeded apart from the training samples)."""
        rng = np.random.default_rng([self.seed, 7])
        return rng.random((count, self.space.num_decisions), dtype=np.float32)

    def evaluate(self, held_out=None, random_embeddings=None):
        """Reconstruction and reach of the coder.

        Args:
            held_out: uniform unit vectors to reconstruct (default ``held_out()``).
            random_embeddings: how many random embeddings to decode (drawn from a Gaussian
                fitted to the simulator's embeddings of the held-out samples); default
                10,000, or four times the number of architectures of a small space.

        Returns:
            dict: ``mse`` and ``decision_accuracy`` on the held-out samples;
            ``exact_reconstruction``, the share of held-out architectures (encoded at their
            intervals' centres) that come back with every decision intact;
            ``distinct_architectures`` decoded from the random embeddings and
            ``reachable_fraction``, that count over the space's size (a lower bound of the
            share of the space the decoder can reach).
        """
        x = self.held_out() if held_out is None else held_out
        sizes = self.space.sizes
        metrics = reconstruction_metrics(self.autoencoder, x, sizes)
        centres = encoding.encode_choices(encoding.decode_unit(x, sizes), sizes)
        back = self.space.decode_batch(np.asarray(self.autoencoder(centres, training=False)))
        metrics["exact_reconstruction"] = float(np.mean(
            np.all(back == self.space.decode_batch(centres), axis=1)))
        cardinality = self.space.cardinality()
        if random_embeddings is None:
            random_embeddings = int(min(100_000, max(10_000, 4 * cardinality)))
        emb = np.asarray(self.simulator(x, training=False))
        rng = np.random.default_rng([self.seed, 11])
        random = rng.normal(emb.mean(0), emb.std(0) + 1e-6,
                            size=(random_embeddings, emb.shape[1])).astype(np.float32)
        decoded = self.space.decode_batch(self.decoder.predict(random, batch_size=4096,
                                                               verbose=0))
        distinct = int(len(np.unique(decoded, axis=0)))
        metrics.update(distinct_architectures=distinct, random_embeddings=int(random_embeddings),
                       reachable_fraction=float(distinct / cardinality))
        return metrics

    def pretrain(self, directory, tensorboard_dir=None, verbose=1):
        """Trains the autoencoder on U[0,1]^m, resuming from ``directory`` if a checkpoint is
        there; logs MSE and decision accuracy; returns the final metrics.

        Args:
            directory: where the stage's checkpoints go.
            tensorboard_dir: where its TensorBoard scalars go (None: no summaries).
            verbose: progress bar verbosity.
        """
        cfg = self.config
        trainer = Pretrainer(self.autoencoder, self.space.num_decisions,
                             cfg.pretrain_learning_rate, cfg.pretrain_batch_size, self.seed)
        step_var = tf.Variable(0, dtype=tf.int64, trainable=False)
        ckpt = checkpoints.RunCheckpoint(os.path.join(directory, "checkpoints"),
                                    autoencoder=self.autoencoder, optimizer=trainer.optimizer,
                                    step=step_var)
        ckpt.restore()
        step = int(step_var.numpy())
        if step:
            notices.say("resuming stage 1 at step %d of %d", step + 1, cfg.pretrain_steps)
        writer = tf.summary.create_file_writer(tensorboard_dir) if tensorboard_dir else None
        untrained = self.evaluate(random_embeddings=1000) if step == 0 else None
        if untrained:
            logging.info("untrained coder: decision accuracy %.3f, mse %.4f",
                         untrained["decision_accuracy"], untrained["mse"])
        bar = keras.utils.Progbar(cfg.pretrain_steps, verbose=verbose, stateful_metrics=["mse"])
        bar.update(step)
        while step < cfg.pretrain_steps:
            stop = min(cfg.pretrain_steps, (step // self.log_every + 1) * self.log_every)
            loss = trainer.train(step, stop)
            step = stop
            step_var.assign(step)
            bar.update(step, [("mse", loss)])
            metrics = self.evaluate(random_embeddings=1000)
            logging.info("pretrain step %d: mse %.4f, decision accuracy %.3f", step,
                         metrics["mse"], metrics["decision_accuracy"])
            if writer:
                with writer.as_default(step=step):
                    tf.summary.scalar("pretrain/train_mse", loss)
                    tf.summary.scalar("pretrain/heldout_mse", metrics["mse"])
                    tf.summary.scalar("pretrain/decision_accuracy", metrics["decision_accuracy"])
            ckpt.save({"step": step})
        self.metrics = self.evaluate()
        if untrained:
            self.metrics["untrained_decision_accuracy"] = untrained["decision_accuracy"]
        logging.info("stage 1: exact reconstruction %.3f, %d distinct architectures from %d "
                     "random embeddings (reachable fraction >= %.3g)",
                     self.metrics["exact_reconstruction"], self.metrics["distinct_architectures"],
                     self.metrics["random_embeddings"], self.metrics["reachable_fraction"])
        if writer:
            with writer.as_default(step=cfg.pretrain_steps):
                tf.summary.scalar("pretrain/distinct_architectures",
                                  self.metrics["distinct_architectures"])
                tf.summary.scalar("pretrain/exact_reconstruction",
                                  self.metrics["exact_reconstruction"])
            writer.flush()
        return self.metrics

    def save(self, directory):
        """Writes ``simulator.keras``, ``decoder.keras`` and ``coder.json`` to ``directory``."""
        fileio.save_keras_model(self.simulator, os.path.join(directory, "simulator.keras"))
        fileio.save_keras_model(self.decoder, os.path.join(directory, "decoder.keras"))
        fileio.write_json(os.path.join(directory, CODER_FILE),
                          {**self.description(), "config": dataclasses.asdict(self.config),
                           "seed": self.seed, "metrics": self.metrics})

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
            raise DataError(f"coder {directory} has embedding_dim={info['embedding_dim']}, "
                            f"this run asks for {embedding_dim}")
        if coder and info["coder"] != coder:
            raise DataError(f"coder {directory} is coder={info['coder']!r}, this run asks "
                            f"for {coder!r}")
        saved = dict(info["config"])
        seed = int(info.get("seed", saved.pop("seed", 0)))
        fields = {f.name for f in dataclasses.fields(EmbeddingConfig)}
        config = EmbeddingConfig(**{_OLD_CONFIG_KEYS.get(k, k): v for k, v in saved.items()
                                    if _OLD_CONFIG_KEYS.get(k, k) in fields})
        self = cls.__new__(cls)
        self.space, self.config, self.seed, self.log_every = space, config, seed, 200
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


def load_or_pretrain(space, directory, config, seed, tensorboard_dir=None, verbose=1):
    """Stage 1 of a run: the coder saved in ``directory`` (checked to fit ``space`` and
    ``config``), or one trained with ``config`` and ``seed`` and saved there.

    Returns ``(coder, metrics)``: ``metrics`` are the pretraining's final metrics, None
    when the coder was loaded.

    Args:
        space: the search space.
        directory: where the coder is saved (a run's ``autoencoder/``).
        config: an ``EmbeddingConfig``.
        seed: seed of a newly trained coder.
        tensorboard_dir: where pretraining's TensorBoard scalars go (None: none).
        verbose: progress bar verbosity of pretraining.
    """
    if Coder.exists(directory):
        coder = Coder.load(directory, space, config.embedding_dim, config.coder)
        logging.info("using the stage-1 coder in %s", directory)
        return coder, None
    coder = Coder(space, config, seed=seed)
    metrics = coder.pretrain(directory, tensorboard_dir, verbose=verbose)
    coder.save(directory)
    return coder, metrics
