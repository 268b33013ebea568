"""NASES as a keras-tuner search algorithm: ``NASESOracle`` and the ``NASES`` tuner.

Like keras-tuner's ``tuners/randomsearch.py``, this module holds one ``Oracle`` (the
algorithm) and one thin ``Tuner`` that only wires it, so NASES drops into any keras-tuner
project in place of ``keras_tuner.RandomSearch``::

    tuner = nases_tf.tuner.NASES(build_model, objective="val_accuracy", max_trials=30)
    tuner.search(x, y, epochs=5, validation_data=(x_val, y_val))

The Oracle shares the embedding code of the CLI search (``nases_tf.embedding``): a
simulator/decoder pair pretrained on ``U[0,1]^m`` (stage 1) and one ``EmbeddingController``
(a Gaussian policy in the embedding space, REINFORCE with a moving-average baseline) driven
trial by trial (stage 2).
"""

import contextlib
import math
import random

import keras
import keras_tuner
import numpy as np
import tensorflow as tf
from keras_tuner.engine import hyperparameters as hp_module
from keras_tuner.engine import oracle as oracle_module
from keras_tuner.engine import trial as trial_module
from keras_tuner.engine import tuner as tuner_module

from nases_tf.embedding.coder import (ArchitectureAutoencoder, CODERS, build_decoder,
                                      build_simulator, default_embedding_dim)
from nases_tf.embedding.controller import EmbeddingController
from nases_tf.errors import ConfigError
from nases_tf.tuner_state import AtomicOracleStateMixin, AtomicTunerStateMixin

# The largest probability handed to ``prob_to_value``: an ``Int`` without ``step`` maps a
# probability of exactly 1.0 to ``max_value + 1``.
_MAX_PROB = 1.0 - 1e-7
# Logit spread of new decoder outputs when the space grows: the logistic of N(0, 1.7^2) is
# close to uniform on (0, 1), so every value of a new hyperparameter stays reachable.
_NEW_OUTPUT_LOGIT_STD = 1.7
# How a chain's state moves (``NASESOracle(state_update=...)``).
STATE_UPDATES = ("decoded", "elitist", "best")


def _native(value):
    """``value`` as a native Python scalar (keras-tuner serializes values to JSON/protobuf)."""
    return value.item() if isinstance(value, np.generic) else value


@contextlib.contextmanager
def _python_random_seeded(seed):
    """Seeds Python's ``random`` (which Keras draws unseeded initializer seeds from) for the
    duration of the block, then restores the caller's state: seeded weights without touching
    the global seeds of the user's program."""
    saved = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(saved)


def _embed(old, shape, fill=0.0):
    """A ``shape`` array holding ``old`` in its leading block and ``fill`` elsewhere."""
    old = np.asarray(old)
    out = np.full(shape, fill, dtype=old.dtype)
    block = tuple(slice(0, min(a, b)) for a, b in zip(old.shape, shape))
    out[block] = old[block]
    return out


def oracle_embedding_dim(num_decisions):
    """The Oracle's default embedding size n for m decisions: the CLI's (about m/3, between
    2 and 32) but at least ``min(m - 1, 8)``. keras-tuner spaces are small, and a 3-dim
    embedding of 8 hyperparameters leaves too many of their values unreachable."""
    return max(default_embedding_dim(num_decisions), min(num_decisions - 1, 8))


def _is_discrete(hp):
    return not (isinstance(hp, hp_module.Float) and hp.step is None)


class NASESOracle(AtomicOracleStateMixin, oracle_module.Oracle):
    """NASES: neural architecture search in an embedding space, as a keras-tuner Oracle.

    **Decisions.** Each tunable hyperparameter of the space (every type but ``Fixed``) owns
    one slot of a vector ``a`` in ``[0, 1]^m``; slot values map to hyperparameter values
    through the hyperparameter's own ``prob_to_value`` (and back through ``value_to_prob``),
    so ``Choice``, ``Int`` and ``Float`` with ``step`` or ``log``/``reverse_log`` sampling,
    ``Boolean`` and ``Fixed`` all follow keras-tuner's unit encoding. A trial's values are
    those of the hyperparameters that are *active* given the values before them (conditional
    scopes), as keras-tuner's ``RandomSearchOracle`` fills them; the slots of inactive
    hyperparameters are ignored. Values handed out are native Python types.

    **Stage 1.** At the first trial a simulator ``s: R^m -> R^n`` and a decoder
    ``f: R^n -> R^m`` (``nases_tf.embedding.coder``) are pretrained as an autoencoder on
    ``U[0,1]^m`` for ``pretrain_steps`` Adam steps. The default coder is ``mlp`` (the
    authors' code), not the paper's ``lstm``: on 2 CPU cores 500 LSTM steps take about 3 s
    at m=8, 13 s at m=30 and 86 s at m=120 (a 15-layer macro space), against under 1 s for
    the mlp at any of these sizes. ``coder="lstm"`` remains available.

    **Stage 2.** One ``EmbeddingController`` with ``samples_per_update`` chains, started
    from the simulator's weights, proposes trials exactly as the CLI search does: each new
    trial takes the next chain (round robin), draws ``e ~ N(g(a), sigma^2)`` from the
    chain's state ``a``, decodes ``a' = f(e)`` into values, and ``a'`` becomes the chain's
    next state. The Oracle keeps ``(a, e)`` keyed by trial id. Once ``samples_per_update``
    trials have completed with a finite score, one REINFORCE step uses them, with reward
    ``score`` when the objective is maximized and ``-score`` when it is minimized. Failed
    and invalid trials (NaN scores included: keras-tuner marks those invalid) never enter
    the update or the baseline; a trial sent for retry keeps its sample until it ends.

    **Repeated values.** A decoded proposal that was tried before (keras-tuner's
    ``_tried_so_far``) is not run: the chain walks on (its state becomes the proposal) and
    draws again, up to ``max_collisions`` times; then the Oracle falls back to keras-tuner's
    ``_random_values`` (unseen uniform values, not used for learning, but they move the
    chain), and when those keep colliding too the space is taken as exhausted and the Oracle
    returns ``STOPPED``, as ``RandomSearchOracle`` does. No trial runs twice and nothing spins.

    **A growing space.** Hyperparameters that appear during the search (a new conditional
    branch, or names such as ``f"units_{i}"`` created in a loop) get new slots appended at
    the end; a slot is never removed or reordered, one per name ever seen. If the
    controller has not been updated yet, stage 1 simply reruns for the new size (samples
    drawn from the old coder are dropped). Otherwise the models are rebuilt for the new
    size and every weight is carried over: with the mlp coder the policy's input rows for
    new slots start at zero and the decoder gets new output columns (random projections of
    its hidden layer, scaled so that every value of a new hyperparameter is reachable), so
    the proposals for the existing hyperparameters are unchanged for every embedding and
    state; the policy, sigma, baseline, optimizer state and chains carry on, and the chains
    draw the new slots uniformly. The lstm coder's weights
    do not depend on m and carry over as they are (only its decoder's position channel is
    respaced). Samples drawn before the growth are padded with 0.5 in the new slots.

    **State.** ``get_state`` adds to keras-tuner's state, as JSON: the decision names, the
    simulator, decoder and controller weights, the controller's optimizer, baseline, sigma,
    random state and chain states, the per-trial samples and the pending rewards. A tuner
    rebuilt with ``overwrite=False`` resumes with the same controller, retries the trials
    that were running, and may be given a larger ``max_trials``.

    **Distribution.** Under keras-tuner's chief/worker setup (``KERASTUNER_TUNER_ID``,
    ``KERASTUNER_ORACLE_IP``, ``KERASTUNER_ORACLE_PORT``) the Oracle lives on the chief and
    the workers reach it over gRPC; ``end_trial`` is ``synchronized``.

    Args:
        objective: A string, `keras_tuner.Objective` instance, or a list of
            `keras_tuner.Objective`s and strings, as for `keras_tuner.Oracle`. Its
            direction decides the sign of the reward.
        max_trials: Integer, the total number of trials (model configurations) to test
            at most. The oracle may stop before if the space is exhausted. Defaults to 10.
        seed: Optional integer, the random seed (coder and controller initialization,
            pretraining samples, policy noise, fallback draws).
        hyperparameters: Optional `HyperParameters` instance. Can be used to override
            (or register in advance) hyperparameters in the search space.
        allow_new_entries: Boolean, whether the hypermodel is allowed to request
            hyperparameter entries not listed in `hyperparameters`. Defaults to True.
        tune_new_entries: Boolean, whether hyperparameter entries requested by the
            hypermodel but not in `hyperparameters` are added to the search space.
            Defaults to True.
        max_retries_per_trial: Integer. Defaults to 0. The maximum number of times to
            retry a `Trial` if the trial crashed or the results are invalid.
        max_consecutive_failed_trials: Integer. Defaults to 3. The maximum number of
            consecutive failed `Trial`s before the search stops.
        embedding_dim: Integer n, the size of the embedding space. Defaults to
            ``oracle_embedding_dim(m)`` (about m/3 as in the CLI, but at least
            ``min(m - 1, 8)``), fixed at the first trial.
        coder: ``"mlp"`` (default) or ``"lstm"``, the simulator/decoder architecture.
        hidden_units: Width of the coder's hidden layer (mlp) or decoder LSTM units.
        pretrain_steps: Adam steps of stage 1 (batches of 128 uniform samples).
        pretrain_learning_rate: Adam learning rate of stage 1.
        controller_learning_rate: Adam learning rate of the policy.
        samples_per_update: Chains, and completed trials per REINFORCE step.
        baseline_decay: Decay of the reward moving average.
        entropy_weight: Weight of the policy-entropy bonus.
        initial_sigma: Initial standard deviation of the Gaussian policy. The default,
            0.6, is about the spread of the pretrained embeddings (the CLI's 0.3 explores
            too little for keras-tuner's budgets of tens of trials).
        max_collisions: Repeated proposals tolerated for one trial before falling back
            to random values.
        state_update: How a chain's state moves. ``"decoded"``: the decoded sample
            ``a' = f(e)`` becomes the next state at once (the paper's chains). A learned
            shift of the policy then accumulates step after step, and chains drift into
            corners of ``[0, 1]^m`` where the decoder saturates and stop exploring.
            ``"elitist"`` (default): a chain moves to a trial's architecture, re-encoded at
            the centres of its values' intervals (so states cannot saturate), only once the
            trial's reward is at least that of the chain's current state; otherwise it
            stays, and the policy learns which moves from a good state improve it (a learned
            local search in the embedding space; the repeated-proposal walk does not move
            it either). ``"best"``: as elitist, but every chain moves to the best
            architecture seen by any chain. On NAS-Bench-201 (CIFAR-10, 100 queries,
            held-out seeds 1000-1019, other settings default) the mean best accuracy was
            93.42 for ``"decoded"``, 93.64 for ``"elitist"`` and 93.73 for ``"best"``.
    """

    def __init__(
        self,
        objective=None,
        max_trials=10,
        seed=None,
        hyperparameters=None,
        allow_new_entries=True,
        tune_new_entries=True,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
        embedding_dim=None,
        coder="mlp",
        hidden_units=64,
        pretrain_steps=1000,
        pretrain_learning_rate=3e-3,
        controller_learning_rate=3e-3,
        samples_per_update=4,
        baseline_decay=0.9,
        entropy_weight=1e-3,
        initial_sigma=0.6,
        max_collisions=20,
        state_update="elitist",
    ):
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries,
            seed=seed,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
        if coder not in CODERS:
            raise ConfigError(f"coder={coder!r} is unknown, expected one of {', '.join(CODERS)}")
        if embedding_dim is not None and int(embedding_dim) < 1:
            raise ConfigError(f"embedding_dim={embedding_dim} must be positive")
        if int(samples_per_update) < 1:
            raise ConfigError(f"samples_per_update={samples_per_update} must be at least 1")
        if not initial_sigma > 0:
            raise ConfigError(f"initial_sigma={initial_sigma} must be positive")
        if state_update not in STATE_UPDATES:
            raise ConfigError(f"state_update={state_update!r} is unknown, expected one of "
                              f"{', '.join(STATE_UPDATES)}")
        self.embedding_dim = None if embedding_dim is None else int(embedding_dim)
        self.coder = coder
        self.hidden_units = int(hidden_units)
        self.pretrain_steps = int(pretrain_steps)
        self.pretrain_learning_rate = float(pretrain_learning_rate)
        self.controller_learning_rate = float(controller_learning_rate)
        self.samples_per_update = int(samples_per_update)
        self.baseline_decay = float(baseline_decay)
        self.entropy_weight = float(entropy_weight)
        self.initial_sigma = float(initial_sigma)
        self._max_collisions = int(max_collisions)
        self.state_update = state_update
        self._reset_search_state()

    def _reset_search_state(self):
        self._names = []  # one slot per tunable hyperparameter name ever seen, in order
        self._embedding_dim = None
        self._simulator = self._decoder = self._controller = None
        self._coder_lists = None  # JSON lists of the coder's weights, made once per coder
        self._records = {}  # trial_id -> {"chain", "state", "embedding"[, "reward"]}
        self._pending = []  # trial ids completed with a finite reward, awaiting an update
        self._next_chain = 0
        self._chain_rewards = {}  # elitist: chain index (str) -> reward of its state
        self._draws = 0  # numpy generators drawn so far (seeded by (seed, draws))
        self.coder_metrics = {}
        self.last_update = None

    # -- public views -------------------------------------------------------------------

    @property
    def decision_names(self):
        """The hyperparameter names behind the slots of the unit vector, in order."""
        return list(self._names)

    @property
    def controller(self):
        """The ``EmbeddingController`` (None until the first trial is populated)."""
        return self._controller

    # -- decisions <-> values -----------------------------------------------------------

    def _tunable_names(self):
        names = []
        for hp in self.hyperparameters.space:
            if not isinstance(hp, hp_module.Fixed) and hp.name not in names:
                names.append(hp.name)
        return names

    def _rng(self):
        rng = np.random.default_rng([int(self.seed) % 2**63, 1 + self._draws])
        self._draws += 1
        return rng

    def _vector_to_values(self, unit):
        """Active values of the space for unit vector ``unit`` (one entry per slot)."""
        index = {name: i for i, name in enumerate(self._names)}
        hps = hp_module.HyperParameters()
        for hp in self.hyperparameters.space:
            hps.merge([hp])
            if not hps.is_active(hp):
                continue
            if hp.name in index:
                prob = min(max(float(unit[index[hp.name]]), 0.0), _MAX_PROB)
                value = hp.prob_to_value(prob)
                if isinstance(hp, hp_module.Int):
                    value = int(min(max(value, hp.min_value), hp.max_value))
                elif isinstance(hp, hp_module.Float):
                    value = float(min(max(value, hp.min_value), hp.max_value))
            else:
                value = hp.default
            hps.values[hp.name] = _native(value)
        return hps.values

    def _values_to_vector(self, values, base):
        """Unit vector of ``values``; slots without an active value keep ``base``'s."""
        unit = np.array(base, np.float32)
        index = {name: i for i, name in enumerate(self._names)}
        hps = hp_module.HyperParameters()
        hps.values = dict(values)
        for hp in self.hyperparameters.space:
            hps.merge([hp])
            if hp.name in index and hp.name in values and hps.is_active(hp):
                unit[index[hp.name]] = min(max(hp.value_to_prob(values[hp.name]), 0.0), 1.0)
        return unit

    # -- stage 1 and the controller -----------------------------------------------------

    def _new_models(self, num_decisions, embedding_dim):
        with _python_random_seeded((int(self.seed) * 1000003 + num_decisions) % 2**32):
            simulator = build_simulator(num_decisions, embedding_dim, self.coder,
                                        self.hidden_units)
            decoder = build_decoder(num_decisions, embedding_dim, self.coder,
                                    self.hidden_units)
        return simulator, decoder

    def _new_controller(self, simulator, decoder):
        return EmbeddingController(
            simulator, decoder, num_chains=self.samples_per_update,
            learning_rate=self.controller_learning_rate, baseline_decay=self.baseline_decay,
            entropy_weight=self.entropy_weight, initial_sigma=self.initial_sigma,
            seed=int(self.seed) % 2**31 + len(self._names))

    def _pretrain(self, simulator, decoder):
        """Stage 1: least squares on ``U[0,1]^m``; returns held-out reconstruction metrics."""
        m = len(self._names)
        autoencoder = ArchitectureAutoencoder(simulator, decoder)
        optimizer = keras.optimizers.Adam(self.pretrain_learning_rate)
        variables = autoencoder.trainable_variables
        optimizer.build(variables)
        seed = tf.constant(int(self.seed) % 2**31 * 1009 + m, tf.int64)

        @tf.function
        def train(steps):
            for step in tf.range(steps, dtype=tf.int64):
                x = tf.random.stateless_uniform([128, m], tf.stack([seed, step]))
                with tf.GradientTape() as tape:
                    loss = tf.reduce_mean(tf.square(autoencoder(x, training=True) - x))
                optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

        held_out = self._rng().random((512, m), dtype=np.float32)
        untrained = self._reconstruction_metrics(autoencoder, held_out)
        if self.pretrain_steps > 0:
            train(tf.constant(self.pretrain_steps, tf.int64))
        metrics = self._reconstruction_metrics(autoencoder, held_out)
        metrics["untrained_mse"] = untrained["mse"]
        metrics["untrained_decision_accuracy"] = untrained["decision_accuracy"]
        metrics["steps"] = self.pretrain_steps
        return metrics

    def _reconstruction_metrics(self, autoencoder, x):
        """MSE, and the share of discrete hyperparameters whose decoded value is kept."""
        recon = np.asarray(autoencoder(x, training=False))
        hps = {}
        for hp in self.hyperparameters.space:
            hps.setdefault(hp.name, hp)
        same = []
        for i, name in enumerate(self._names):
            hp = hps.get(name)
            if hp is None or not _is_discrete(hp):
                continue
            for a, b in zip(x[:128, i], recon[:128, i]):
                same.append(hp.prob_to_value(min(float(a), _MAX_PROB))
                            == hp.prob_to_value(min(max(float(b), 0.0), _MAX_PROB)))
        return {"mse": float(np.mean((recon - x) ** 2)),
                "decision_accuracy": float(np.mean(same)) if same else float("nan")}

    def _build(self, names):
        """Stage 1 from scratch for decisions ``names``, and a fresh controller."""
        self._names = list(names)
        m = len(self._names)
        self._embedding_dim = self.embedding_dim or oracle_embedding_dim(m)
        self._simulator, self._decoder = self._new_models(m, self._embedding_dim)
        self._coder_lists = None
        self.coder_metrics = self._pretrain(self._simulator, self._decoder)
        self._controller = self._new_controller(self._simulator, self._decoder)
        self._records, self._pending, self._next_chain = {}, [], 0
        self._chain_rewards = {}

    def _grow(self, names):
        """Rebuilds the models for the longer decision list ``names`` (a prefix of which is
        the current one), carrying every weight over (see the class docstring)."""
        old_m = len(self._names)
        self._names = list(names)
        m = len(self._names)
        old_sim, old_dec = self._simulator.get_weights(), self._decoder.get_weights()
        old_controller = self._controller.get_state()["variables"]
        old_chains = self._controller.chains.numpy()
        simulator, decoder = self._new_models(m, self._embedding_dim)
        simulator.set_weights([_embed(o, np.shape(n)) for o, n in
                               zip(old_sim, simulator.get_weights())])
        decoder.set_weights([_embed(o, np.shape(n)) for o, n in
                             zip(old_dec, decoder.get_weights())])
        if self.coder == "mlp":
            self._calibrate_new_outputs(simulator, decoder, old_m)
        controller = self._new_controller(simulator, decoder)
        new_vars = controller.get_state()["variables"]
        controller.set_state({"variables": [_embed(o, np.shape(n)) for o, n in
                                            zip(old_controller, new_vars)]})
        chains = self._rng().random((len(old_chains), m), dtype=np.float32)
        chains[:, :old_m] = old_chains
        controller.chains.assign(chains)
        self._simulator, self._decoder, self._controller = simulator, decoder, controller
        self._coder_lists = None

    def _calibrate_new_outputs(self, simulator, decoder, old_m):
        """Gives the mlp decoder's outputs ``old_m:`` random directions of its hidden layer,
        scaled so their values spread over (0, 1) on typical embeddings."""
        m = len(self._names)
        rng = self._rng()
        embeddings = simulator(rng.random((512, m), dtype=np.float32), training=False)
        hidden = np.asarray(decoder.get_layer("hidden")(embeddings))
        out = decoder.get_layer("architecture")
        kernel, bias = (np.array(w) for w in out.get_weights())
        for j in range(old_m, m):
            direction = rng.normal(size=kernel.shape[0]).astype(np.float32)
            logits = hidden @ direction
            scale = _NEW_OUTPUT_LOGIT_STD / (float(logits.std()) + 1e-6)
            kernel[:, j] = direction * scale
            bias[j] = -float(logits.mean()) * scale
        out.set_weights([kernel, bias])

    def _sync_decisions(self):
        """Builds the coder and controller at the first trial; adapts them when new tunable
        hyperparameters have joined the space since."""
        names = self._tunable_names()
        if self._controller is None:
            if names:
                self._build(names)
            return
        new = [name for name in names if name not in self._names]
        if not new:
            return
        if int(self._controller.updates.numpy()) == 0:
            self._build(self._names + new)  # nothing learned yet: a fresh stage 1
        else:
            self._grow(self._names + new)

    def _padded(self, state):
        state = list(state)
        return state + [0.5] * (len(self._names) - len(state))

    # -- the keras-tuner contract -------------------------------------------------------

    def populate_space(self, trial_id):
        """Fill the hyperparameter space with values decoded from the controller's sample.

        Args:
            trial_id: A string, the ID for this Trial.

        Returns:
            A dictionary with keys "values" and "status": "RUNNING" with new values, or
            "STOPPED" (values None) once the reachable space is exhausted.
        """
        self._sync_decisions()
        if self._controller is None:  # nothing to tune (no or only Fixed hyperparameters)
            return self._stop_or_run(self._random_values())
        chain = self._next_chain
        self._next_chain = (chain + 1) % self._controller.num_chains
        elitist = self.state_update != "decoded"
        for _ in range(self._max_collisions + 1):
            state = self._controller.chains.numpy()[chain]
            embedding, decoded = self._controller.sample(state[None])
            values = self._vector_to_values(decoded[0])
            if not elitist:
                self._controller.advance(decoded, [chain])
            if not self._duplicate(values):
                self._records[trial_id] = {"chain": chain, "state": state.tolist(),
                                           "embedding": embedding[0].tolist()}
                if elitist:
                    self._records[trial_id]["candidate"] = self._values_to_vector(
                        values, decoded[0]).tolist()
                return self._stop_or_run(values)
        values = self._random_values()
        if values is not None:
            state = self._controller.chains.numpy()[chain]
            unit = self._values_to_vector(values, state)
            if elitist:  # not learned from, but the chain may move there if it is better
                self._records[trial_id] = {"chain": chain, "candidate": unit.tolist()}
            else:
                self._controller.advance(unit[None], [chain])
        return self._stop_or_run(values)

    @staticmethod
    def _stop_or_run(values):
        if values is None:
            return {"status": trial_module.TrialStatus.STOPPED, "values": None}
        return {"status": trial_module.TrialStatus.RUNNING, "values": values}

    def _reward(self, score):
        return float(score) if self.objective.direction == "max" else -float(score)

    def _absorb(self, trial):
        """Files an ended trial's sample: pending (finite score) or dropped (failed)."""
        record = self._records.get(trial.trial_id)
        if record is None or trial.trial_id in self._pending:
            return
        if trial.status == trial_module.TrialStatus.COMPLETED:
            if trial.score is not None and math.isfinite(float(trial.score)):
                record["reward"] = self._reward(trial.score)
                self._maybe_move(record)
                if "embedding" in record:
                    self._pending.append(trial.trial_id)
                else:
                    del self._records[trial.trial_id]
            else:
                del self._records[trial.trial_id]
        elif trial.status == trial_module.TrialStatus.FAILED:
            del self._records[trial.trial_id]
        # INVALID: sent for retry; the sample waits for the rerun's result.

    def _maybe_move(self, record):
        """Elitist chains: the chain moves to the trial's architecture (re-encoded at the
        centres of its values' intervals) when its reward is at least the chain's current
        one; otherwise the chain stays where it is."""
        if "candidate" not in record or self._controller is None:
            return
        key = "best" if self.state_update == "best" else str(record["chain"])
        if record["reward"] >= self._chain_rewards.get(key, -math.inf):
            self._chain_rewards[key] = record["reward"]
            chains = (None if self.state_update == "best" else [record["chain"]])
            n = self._controller.num_chains if chains is None else 1
            self._controller.advance(np.array([self._padded(record["candidate"])] * n,
                                              np.float32), chains)

    def _maybe_update(self):
        if self._controller is None or len(self._pending) < self.samples_per_update:
            return
        ids, self._pending = self._pending, []
        records = [self._records.pop(i) for i in ids]
        rewards = np.array([r["reward"] for r in records], np.float64)
        self.last_update = self._controller.update(
            np.array([self._padded(r["state"]) for r in records], np.float32),
            np.array([r["embedding"] for r in records], np.float32),
            rewards)
        self.last_update["trials"] = ids

    @keras_tuner.synchronized
    def end_trial(self, trial):
        """Ends the trial as keras-tuner does, then feeds a completed trial's score to the
        controller (a REINFORCE step every ``samples_per_update`` completed trials).

        Args:
            trial: The Trial to be ended, as for `keras_tuner.Oracle.end_trial`.
        """
        super().end_trial(trial)
        self._absorb(self.trials[trial.trial_id])
        self._maybe_update()
        self.save()

    def reload(self):
        """Reloads trials and state; files trials that ended after the last save."""
        super().reload()
        for trial_id in list(self._records):
            trial = self.trials.get(trial_id)
            if trial is not None and trial_id in self.end_order:
                self._absorb(trial)

    def get_state(self):
        state = super().get_state()
        nases = {"names": self._names, "records": self._records, "pending": self._pending,
                 "next_chain": self._next_chain, "draws": self._draws,
                 "chain_rewards": self._chain_rewards,
                 "coder_metrics": self.coder_metrics, "last_update": self.last_update}
        if self._controller is not None:
            if self._coder_lists is None:  # the coder is frozen: convert it once
                self._coder_lists = {
                    "simulator": [w.tolist() for w in self._simulator.get_weights()],
                    "decoder": [w.tolist() for w in self._decoder.get_weights()]}
            nases.update(embedding_dim=self._embedding_dim, **self._coder_lists,
                         controller=self._controller.get_state())
        state["nases"] = nases
        return state

    def set_state(self, state):
        super().set_state(state)
        self._reset_search_state()
        nases = state.get("nases") or {}
        self._names = list(nases.get("names", []))
        self._records = dict(nases.get("records", {}))
        self._pending = list(nases.get("pending", []))
        self._next_chain = int(nases.get("next_chain", 0))
        self._chain_rewards = dict(nases.get("chain_rewards", {}))
        self._draws = int(nases.get("draws", 0))
        self.coder_metrics = nases.get("coder_metrics", {})
        self.last_update = nases.get("last_update")
        if "controller" in nases:
            self._embedding_dim = int(nases["embedding_dim"])
            m = len(self._names)
            self._simulator, self._decoder = self._new_models(m, self._embedding_dim)
            self._simulator.set_weights([np.asarray(w, np.float32) for w in nases["simulator"]])
            self._decoder.set_weights([np.asarray(w, np.float32) for w in nases["decoder"]])
            self._controller = self._new_controller(self._simulator, self._decoder)
            self._controller.set_state(nases["controller"])


class NASES(AtomicTunerStateMixin, tuner_module.Tuner):
    """NASES tuner: keras-tuner's `Tuner` driven by a `NASESOracle`.

    Args:
        hypermodel: Instance of `HyperModel` class (or callable that takes
            hyperparameters and returns a Model instance). It is optional when
            `Tuner.run_trial()` is overridden and does not use `self.hypermodel`.
        objective: A string, `keras_tuner.Objective` instance, or a list of
            `keras_tuner.Objective`s and strings, as for `keras_tuner.RandomSearch`.
        max_trials: Integer, the total number of trials (model configurations) to test
            at most. Defaults to 10.
        seed: Optional integer, the random seed.
        hyperparameters: Optional `HyperParameters` instance. Can be used to override
            (or register in advance) hyperparameters in the search space.
        tune_new_entries: Boolean, whether hyperparameter entries that are requested by
            the hypermodel but that were not specified in `hyperparameters` should be
            added to the search space. Defaults to True.
        allow_new_entries: Boolean, whether the hypermodel is allowed to request
            hyperparameter entries not listed in `hyperparameters`. Defaults to True.
        max_retries_per_trial: Integer. Defaults to 0. The maximum number of times to
            retry a `Trial` if the trial crashed or the results are invalid.
        max_consecutive_failed_trials: Integer. Defaults to 3. The maximum number of
            consecutive failed `Trial`s before the search stops.
        embedding_dim, coder, hidden_units, pretrain_steps, pretrain_learning_rate,
        controller_learning_rate, samples_per_update, baseline_decay, entropy_weight,
        initial_sigma, max_collisions, state_update: NASES settings, passed to
            `NASESOracle`.
        **kwargs: Keyword arguments relevant to all `Tuner` subclasses (``directory``,
            ``project_name``, ``overwrite``, ``executions_per_trial``, ...).
    """

    def __init__(
        self,
        hypermodel=None,
        objective=None,
        max_trials=10,
        seed=None,
        hyperparameters=None,
        tune_new_entries=True,
        allow_new_entries=True,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
        embedding_dim=None,
        coder="mlp",
        hidden_units=64,
        pretrain_steps=1000,
        pretrain_learning_rate=3e-3,
        controller_learning_rate=3e-3,
        samples_per_update=4,
        baseline_decay=0.9,
        entropy_weight=1e-3,
        initial_sigma=0.6,
        max_collisions=20,
        state_update="elitist",
        **kwargs,
    ):
        self.seed = seed
        oracle = NASESOracle(
            objective=objective,
            max_trials=max_trials,
            seed=seed,
            hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
            embedding_dim=embedding_dim,
            coder=coder,
            hidden_units=hidden_units,
            pretrain_steps=pretrain_steps,
            pretrain_learning_rate=pretrain_learning_rate,
            controller_learning_rate=controller_learning_rate,
            samples_per_update=samples_per_update,
            baseline_decay=baseline_decay,
            entropy_weight=entropy_weight,
            initial_sigma=initial_sigma,
            max_collisions=max_collisions,
            state_update=state_update,
        )
        super().__init__(oracle, hypermodel, **kwargs)
