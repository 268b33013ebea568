"""Stage 2's controller (Alg. 1 lines 3, 8-10): a Gaussian policy in the embedding space.

``g_k`` has the simulator's architecture and starts from its pretrained weights. Given the
current architecture state ``a`` (a unit vector) it gives the mean of
``e ~ N(g_k(a), diag(sigma^2))`` with a learned log-sigma; the frozen decoder maps ``e`` to
``a' = f_theta(e)``, discretized into the child architecture, and ``a'`` becomes the next
state. REINFORCE with an exponential-moving-average baseline and an entropy bonus updates
``g_k`` and sigma from several chains at once. The CLI search and the keras-tuner Oracle
both drive this one class.
"""

import math

import keras
import numpy as np
import tensorflow as tf

_LOG_2PI = math.log(2.0 * math.pi)


class EmbeddingController:
    """REINFORCE controller searching the embedding space of a pretrained coder.

    Args:
        simulator: the pretrained simulator ``s_v`` (copied; the copy is fine-tuned).
        decoder: the pretrained decoder ``f_theta`` (frozen).
        num_chains: architecture chains advanced together; one sample per chain per update.
        learning_rate: Adam learning rate of the policy.
        baseline_decay: decay of the reward moving average.
        entropy_weight: weight ``beta`` of the policy-entropy bonus.
        initial_sigma: initial standard deviation of the Gaussian policy.
        seed: seed of the first chain states and the policy noise.
    """

    def __init__(self, simulator, decoder, num_chains=4, learning_rate=3e-3,
                 baseline_decay=0.9, entropy_weight=1e-3, initial_sigma=0.3, seed=0):
        self.policy = keras.models.clone_model(simulator)
        self.policy.set_weights(simulator.get_weights())
        self.decoder = decoder
        self.decoder.trainable = False
        self.num_decisions = int(simulator.input_shape[-1])
        self.embedding_dim = int(simulator.output_shape[-1])
        self.num_chains = int(num_chains)
        self.baseline_decay = float(baseline_decay)
        self.entropy_weight = float(entropy_weight)
        self.log_sigma = keras.Variable(
            np.full([self.embedding_dim], math.log(initial_sigma), np.float32), name="log_sigma")
        self.baseline = keras.Variable(0.0, trainable=False, name="baseline")
        self.baseline_ready = keras.Variable(0.0, trainable=False, name="baseline_ready")
        self.updates = keras.Variable(0, dtype="int64", trainable=False, name="updates")
        self.rng = tf.random.Generator.from_seed(int(seed))
        self.chains = keras.Variable(
            self.rng.uniform([self.num_chains, self.num_decisions]), trainable=False,
            name="chains")
        self.optimizer = keras.optimizers.Adam(learning_rate)
        self.optimizer.build(self.trainable_variables)
        self._sample_fn = tf.function(self._sample, reduce_retracing=True)
        self._grads_fn = tf.function(self._loss_and_grads, reduce_retracing=True)

    @property
    def trainable_variables(self):
        """Policy weights and log-sigma: what REINFORCE updates."""
        return list(self.policy.trainable_variables) + [self.log_sigma]

    @property
    def sigma(self):
        """Current standard deviations of the policy (numpy, shape (n,))."""
        return np.exp(self.log_sigma.numpy())

    def trackables(self):
        """Objects a ``tf.train.Checkpoint`` must hold to resume this controller exactly."""
        return {"policy": self.policy, "log_sigma": self.log_sigma, "baseline": self.baseline,
                "baseline_ready": self.baseline_ready, "updates": self.updates,
                "rng": self.rng, "chains": self.chains, "optimizer": self.optimizer}

    def _sample(self, states):
        mean = self.policy(states, training=False)
        noise = self.rng.normal(tf.shape(mean))
        embeddings = mean + tf.exp(self.log_sigma) * noise
        return embeddings, self.decoder(embeddings, training=False)

    def sample(self, states=None):
        """Draws one embedding per state and decodes it.

        Args:
            states: unit vectors (k, m); None: the current chain states.

        Returns:
            (embeddings (k, n), decoded unit vectors (k, m)) as numpy arrays.
        """
        states = self.chains if states is None else tf.convert_to_tensor(states, tf.float32)
        embeddings, decoded = self._sample_fn(states)
        return embeddings.numpy(), decoded.numpy()

    def entropy(self):
        """Entropy of the Gaussian policy (nats)."""
        return float(np.sum(self.log_sigma.numpy()) + 0.5 * self.embedding_dim * (1 + _LOG_2PI))

    def _loss_and_grads(self, states, embeddings, advantages):
        with tf.GradientTape() as tape:
            mean = self.policy(states, training=True)
            z = (embeddings - mean) / tf.exp(self.log_sigma)
            log_prob = (-0.5 * tf.reduce_sum(z * z, axis=-1) - tf.reduce_sum(self.log_sigma)
                        - 0.5 * self.embedding_dim * _LOG_2PI)
            entropy = tf.reduce_sum(self.log_sigma) + 0.5 * self.embedding_dim * (1 + _LOG_2PI)
            loss = -tf.reduce_mean(advantages * log_prob) - self.entropy_weight * entropy
        return loss, tape.gradient(loss, self.trainable_variables)

    def update(self, states, embeddings, rewards):
        """One REINFORCE step from samples and their rewards (higher is better).

        Non-finite rewards are dropped before anything is computed; a non-finite loss or
        gradient skips the step. Neither touches the baseline or the weights.

        Args:
            states: the states the embeddings were drawn from (k, m).
            embeddings: the drawn embeddings (k, n).
            rewards: one reward per sample (k,).

        Returns:
            dict with ``loss``, ``baseline``, ``reward_mean``, ``entropy``, ``sigma_mean``,
            ``skipped`` (number of dropped samples) and ``applied`` (bool).
        """
        rewards = np.asarray(rewards, np.float64).reshape(-1)
        valid = np.isfinite(rewards)
        info = {"skipped": int((~valid).sum()), "applied": False, "loss": float("nan"),
                "reward_mean": float(np.mean(rewards[valid])) if valid.any() else float("nan")}
        if valid.any():
            states = np.asarray(states, np.float32)[valid]
            embeddings = np.asarray(embeddings, np.float32)[valid]
            r = rewards[valid]
            if self.baseline_ready.numpy() > 0:
                baseline = float(self.baseline.numpy())
            else:
                baseline = float(r.mean())  # first batch: centre on its own mean
            loss, grads = self._grads_fn(tf.constant(states), tf.constant(embeddings),
                                         tf.constant((r - baseline).astype(np.float32)))
            finite = np.isfinite(float(loss)) and all(
                bool(tf.reduce_all(tf.math.is_finite(g))) for g in grads if g is not None)
            if finite:
                self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
                new = (baseline if self.baseline_ready.numpy() == 0 else
                       self.baseline_decay * baseline + (1 - self.baseline_decay) * r.mean())
                self.baseline.assign(new)
                self.baseline_ready.assign(1.0)
                self.updates.assign_add(1)
                info.update(applied=True, loss=float(loss))
            else:
                info["skipped"] = int(len(rewards))
        info.update(baseline=float(self.baseline.numpy()), entropy=self.entropy(),
                    sigma_mean=float(self.sigma.mean()))
        return info

    def advance(self, new_states, chain_indices=None):
        """Makes ``new_states`` (decoded unit vectors) the states of the given chains (all
        chains when ``chain_indices`` is None)."""
        new_states = np.clip(np.asarray(new_states, np.float32), 0.0, 1.0)
        if chain_indices is None:
            self.chains.assign(new_states)
        else:
            chains = self.chains.numpy()
            chains[np.asarray(chain_indices)] = new_states
            self.chains.assign(chains)

    def _state_variables(self):
        return ([*self.policy.weights, self.log_sigma, self.baseline, self.baseline_ready,
                 self.updates, self.chains, self.rng.state] + list(self.optimizer.variables))

    def get_state(self):
        """Everything needed to resume, as JSON-able lists (weights, optimizer, baseline,
        chain states, random state)."""
        return {"variables": [np.asarray(v.numpy()).tolist() for v in self._state_variables()]}

    def set_state(self, state):
        """Restores what ``get_state`` returned."""
        values = state["variables"]
        variables = self._state_variables()
        if len(values) != len(variables):
            raise ValueError(f"controller state has {len(values)} variables, expected "
                             f"{len(variables)}")
        for var, value in zip(variables, values):
            var.assign(np.asarray(value, dtype=var.dtype.name if hasattr(var.dtype, "name")
                                  else var.dtype).reshape(var.shape))
