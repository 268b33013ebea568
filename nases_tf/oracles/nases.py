"""NASES as a keras-tuner search algorithm: ``NASESOracle`` and the ``NASES`` tuner.

Like keras-tuner's ``tuners/randomsearch.py``: one ``Oracle`` (the algorithm) and one thin
``Tuner`` that only wires it, so NASES drops into any keras-tuner project in place of
``keras_tuner.RandomSearch``::

    tuner = NASES(build_model, objective="val_accuracy", max_trials=30)
    tuner.search(x, y, epochs=5, validation_data=(x_val, y_val))
"""

import math

import keras_tuner
import numpy as np
from keras_tuner.engine import trial as trial_module
from keras_tuner.engine import tuner as tuner_module

from nases_tf.embedding.chains import MODES, Chains
from nases_tf.embedding.proposals import Proposer
from nases_tf.embedding.coder import ArchitectureAutoencoder, build_decoder, build_simulator
from nases_tf.embedding.config import CODERS, DEFAULTS, default_embedding_dim
from nases_tf.embedding.controller import EmbeddingController
from nases_tf.embedding.pretraining import Pretrainer, reconstruction_metrics
from nases_tf.errors import ConfigError
from nases_tf.oracles import growing_space
from nases_tf.oracles.atomic_state import AtomicTunerStateMixin
from nases_tf.oracles.base import SearchOracle
from nases_tf.oracles.unit_codec import UnitCodec, tunable_names

# keras-tuner pretrains stage 1 at the first trial, inside the user's search: the mlp coder
# takes under a second where the paper's lstm takes minutes at 100+ hyperparameters on a CPU.
ORACLE_CODER = "mlp"
# keras-tuner budgets are tens of trials, not thousands: a wider policy explores enough.
ORACLE_INITIAL_SIGMA = 0.6
# How trials are proposed: anchored trust-region proposals, or the controller's chains.
PROPOSALS = ("trust_region",) + MODES


class NASESOracle(SearchOracle):
    """NASES: neural architecture search in an embedding space, as a keras-tuner Oracle.

    Each tunable hyperparameter owns one slot of a unit vector (``oracles.unit_codec``:
    keras-tuner's own ``prob_to_value``/``value_to_prob``; only active hyperparameters of a
    conditional space take values; values are native Python types).

    ``proposals="trust_region"`` (default): anchored, local, never-repeating proposals
    (``embedding.proposals.Proposer``): after ``initial_points`` random trials, the unseen
    points of trust regions around the ``anchors`` best trials so far (one edit of a
    choice, a step of an ordered or continuous value; the region grows and shrinks as
    TuRBO's does, and restarts elsewhere when used up), ranked by a reward predictor
    fitted to the completed trials (a Gaussian process with a noise term; expected
    improvement). A score is one noisy measurement (one training run), so "best" means the
    highest posterior mean of the predictor among the completed trials, not the luckiest
    score: it anchors the regions, and ``get_best_trials`` (hence the Tuner's
    ``get_best_hyperparameters`` and ``get_best_models``) returns trials in that order.
    With ``embedding_weight`` or ``policy_weight`` the stage-1 simulator's embedding joins
    the predictor's features and the REINFORCE policy scores the candidates; both are off
    by default, as they did not beat their ablation.

    ``proposals="decoded"|"elitist"|"best"``: the paper's search read literally: a
    simulator/decoder pair pretrained on ``U[0,1]^m`` (stage 1, ``embedding.pretraining``)
    and one ``EmbeddingController`` with ``samples_per_update`` chains
    (``embedding.chains``) proposing round robin, with a REINFORCE step every
    ``samples_per_update`` completed trials (reward: the score, negated when minimized).

    Failed trials and NaN scores never reach the learned parts; a trial sent for retry keeps
    its proposal until it ends. Values tried before are never proposed again (after
    ``max_collisions`` repeats unseen random values are used), except as a trust region's
    *confirmation*: when the scores are noisy, every ``confirm_every``-th trial trains one
    of the few best trials' values again, and their scores are pooled. When the repeated
    trainings show a noise larger than the differences between the better trials, the
    search races: every second trial trains one of the three best values again (up to five
    trainings), and ``get_best_trials`` orders trials by the empirical-Bayes means of their
    values' scores (``embedding.predictor.shrunk_means``). The Oracle returns
    STOPPED once the space is exhausted. Hyperparameters that appear during the search get
    new slots with everything learned carried over (``oracles.growing_space``).
    ``get_state`` holds the whole search state as JSON, so ``overwrite=False`` resumes
    exactly; under keras-tuner's chief/worker distribution the Oracle lives on the chief.

    Args:
        objective: A string, `keras_tuner.Objective` instance, or a list of
            `keras_tuner.Objective`s and strings, as for `keras_tuner.Oracle`. Its
            direction decides the sign of the reward.
        max_trials: Integer, the total number of trials to test at most; the oracle may
            stop before if the space is exhausted. Defaults to 10.
        seed: Optional integer, the random seed (also of the coder's initialization, the
            pretraining samples and the policy noise).
        hyperparameters: Optional `HyperParameters` instance, to override or register
            hyperparameters in advance.
        **kwargs: the other arguments of every `keras_tuner.Oracle`:
            ``allow_new_entries``, ``tune_new_entries``, ``max_retries_per_trial``,
            ``max_consecutive_failed_trials``.
        embedding_dim: Integer n, the size of the embedding space; defaults to
            ``default_embedding_dim(m)``, fixed at the first trial.
        coder: ``"mlp"`` (default) or ``"lstm"`` (the paper's), the simulator/decoder.
        hidden_units: Width of the coder's hidden layer (mlp) or decoder LSTM units.
        pretrain_steps: Adam steps of stage 1 (batches of uniform samples).
        pretrain_learning_rate: Adam learning rate of stage 1.
        controller_learning_rate: Adam learning rate of the policy.
        samples_per_update: Chains, and completed trials per REINFORCE step.
        baseline_decay: Decay of the reward moving average.
        entropy_weight: Weight of the policy-entropy bonus.
        initial_sigma: Initial standard deviation of the Gaussian policy.
        max_collisions: Repeated proposals tolerated for one trial before falling back
            to random values.
        proposals: ``"trust_region"`` (default) or a chain mode of ``embedding.chains``:
            ``"decoded"`` (the paper's chain), ``"elitist"`` or ``"best"``.
        learning: Boolean, default True. False switches every learned part off (the
            predictor's ranking and posterior, the policy, REINFORCE steps) and leaves the
            way proposals are made as it is: the ablation that the learned parts are
            measured against. Without learning, "best" is the best score, as in
            keras-tuner's other oracles.
        initial_points: random trials before the trust region is used.
        predictor: the trust region's reward predictor: ``"auto"`` (a Gaussian process),
            ``"gp"``, ``"linear"`` (Bayesian linear regression) or None (random ranking,
            best by score).
        anchors: how many of the best trials anchor a trust region of candidates.
        decode_unseen: Boolean, default True. The chains' decoded sample, when its values
            were tried already, becomes the nearest untried values (one or two changed
            choices) instead of being drawn again.
        embedding_weight: weight of the stage-1 embedding among the predictor's features.
        policy_weight: weight of the REINFORCE policy's score in the ranking.
        pick_caution: how cautious the returned trial is: ``get_best_trials`` ranks the
            completed trials by a Gaussian process of the scores' posterior mean minus
            this many posterior standard deviations (0: the mean itself).
        confirm_every: with the trust region learning and noisy scores (the pick model
            fits a noise variance of at least a tenth of the scores' variance), every this
            many trials after the initial ones, one trial repeats the values of one of the
            three trials the pick ranks highest (at most three trainings of the same
            values), and every second trial while the search races (at most five
            trainings); 0 never repeats values.
    """

    def __init__(
        self,
        objective=None,
        max_trials=10,
        seed=None,
        hyperparameters=None,
        *,
        embedding_dim=None,
        coder=ORACLE_CODER,
        hidden_units=DEFAULTS.hidden_units,
        pretrain_steps=DEFAULTS.pretrain_steps,
        pretrain_learning_rate=DEFAULTS.pretrain_learning_rate,
        controller_learning_rate=DEFAULTS.controller_learning_rate,
        samples_per_update=DEFAULTS.samples_per_update,
        baseline_decay=DEFAULTS.baseline_decay,
        entropy_weight=DEFAULTS.entropy_weight,
        initial_sigma=ORACLE_INITIAL_SIGMA,
        max_collisions=20,
        proposals="trust_region",
        learning=True,
        initial_points=10,
        predictor="auto",
        anchors=3,
        decode_unseen=True,
        embedding_weight=0.0,
        policy_weight=0.0,
        pick_caution=1.0,
        confirm_every=3,
        **kwargs,
    ):
        super().__init__(objective=objective, max_trials=max_trials, seed=seed,
                         hyperparameters=hyperparameters, max_collisions=max_collisions,
                         **kwargs)
        if coder not in CODERS:
            raise ConfigError(f"coder={coder!r} is unknown, expected one of {', '.join(CODERS)}")
        if embedding_dim is not None and int(embedding_dim) < 1:
            raise ConfigError(f"embedding_dim={embedding_dim} must be positive")
        if int(samples_per_update) < 1:
            raise ConfigError(f"samples_per_update={samples_per_update} must be at least 1")
        if not initial_sigma > 0:
            raise ConfigError(f"initial_sigma={initial_sigma} must be positive")
        if proposals not in PROPOSALS:
            raise ConfigError(f"proposals={proposals!r} is unknown, expected one of "
                              f"{', '.join(PROPOSALS)}")
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
        self.proposals = proposals
        self.learning = bool(learning)
        self.initial_points = int(initial_points)
        self.predictor = predictor
        self.anchors = int(anchors)
        self.decode_unseen = bool(decode_unseen)
        self.embedding_weight = float(embedding_weight)
        self.policy_weight = float(policy_weight)
        if not float(pick_caution) >= 0:
            raise ConfigError(f"pick_caution={pick_caution} must be a number >= 0")
        self.pick_caution = float(pick_caution)
        if int(confirm_every) < 0:
            raise ConfigError(f"confirm_every={confirm_every} must be an integer >= 0")
        self.confirm_every = int(confirm_every)
        self._reset_search_state()

    def _reset_search_state(self):
        self._codec = UnitCodec([])  # one slot per tunable hyperparameter name ever seen
        self._embedding_dim = None
        self._simulator = self._decoder = self._controller = self._chains = None
        self._coder_lists = None  # JSON lists of the frozen coder's weights, made once
        self._records = {}  # trial_id -> {"chain", "state", "embedding", "candidate"[, "reward"]}
        self._trial_points = {}  # trial_id -> the proposer's point of an ended trial
        self._pending = []  # trial ids completed with a finite reward, awaiting an update
        self._next_chain = 0
        self._proposer = None  # trust_region: the Proposer over the current slots
        self.coder_metrics = {}
        self.last_update = None

    @property
    def decision_names(self):
        """The hyperparameter names behind the slots of the unit vector, in order."""
        return list(self._codec.names)

    @property
    def controller(self):
        """The ``EmbeddingController`` (None until the first trial is populated)."""
        return self._controller

    @property
    def _trust_region(self):
        return self.proposals == "trust_region"

    @property
    def _uses_coder(self):
        """Whether stage 1 runs: for the chains, or for the trust region's embedding."""
        return not self._trust_region or bool(self.embedding_weight or self.policy_weight)

    # -- stage 1 and the controller -----------------------------------------------------

    def _new_models(self, num_decisions, embedding_dim):
        seed = (int(self.seed) * 1000003 + num_decisions) % 2**31
        return (build_simulator(num_decisions, embedding_dim, self.coder, self.hidden_units,
                                seed=seed),
                build_decoder(num_decisions, embedding_dim, self.coder, self.hidden_units,
                              seed=seed))

    def _new_controller(self, simulator, decoder):
        controller = EmbeddingController(
            simulator, decoder, num_chains=self.samples_per_update,
            learning_rate=self.controller_learning_rate, baseline_decay=self.baseline_decay,
            entropy_weight=self.entropy_weight, initial_sigma=self.initial_sigma,
            seed=int(self.seed) % 2**31 + len(self._codec.names))
        self._chains = Chains(controller, "decoded" if self._trust_region else self.proposals)
        return controller

    def _pretrain(self, simulator, decoder):
        """Stage 1 on ``U[0,1]^m``; returns held-out reconstruction metrics."""
        m = len(self._codec.names)
        autoencoder = ArchitectureAutoencoder(simulator, decoder)
        sizes = self._codec.sizes(self.hyperparameters.space)
        held_out = self._rng().random((512, m), dtype=np.float32)
        untrained = reconstruction_metrics(autoencoder, held_out, sizes)
        Pretrainer(autoencoder, m, self.pretrain_learning_rate, DEFAULTS.pretrain_batch_size,
                   int(self.seed) % 2**31 * 1009 + m).train(0, self.pretrain_steps)
        metrics = reconstruction_metrics(autoencoder, held_out, sizes)
        metrics.update(untrained_mse=untrained["mse"], steps=self.pretrain_steps,
                       untrained_decision_accuracy=untrained["decision_accuracy"])
        return metrics

    def _build(self, names):
        """Stage 1 from scratch for decisions ``names``, and a fresh controller."""
        self._codec = UnitCodec(names)
        m = len(names)
        self._embedding_dim = self.embedding_dim or default_embedding_dim(m)
        self._simulator, self._decoder = self._new_models(m, self._embedding_dim)
        self._coder_lists = None
        self.coder_metrics = self._pretrain(self._simulator, self._decoder)
        self._controller = self._new_controller(self._simulator, self._decoder)
        # samples drawn from an older coder are dropped; trust-region points are kept
        self._records = {k: r for k, r in self._records.items() if "point" in r}
        self._pending, self._next_chain = [], 0

    def _grow(self, names):
        """Rebuilds the models for the longer decision list ``names`` (a prefix of which is
        the current one), carrying every weight over."""
        old_m = len(self._codec.names)
        self._codec = UnitCodec(names)
        simulator, decoder = self._new_models(len(names), self._embedding_dim)
        growing_space.carry_weights(self._simulator.get_weights(), simulator)
        growing_space.carry_weights(self._decoder.get_weights(), decoder)
        if self.coder == "mlp":
            growing_space.calibrate_new_outputs(simulator, decoder, old_m, self._rng())
        old_controller, old_chains = self._controller, self._chains
        controller = self._new_controller(simulator, decoder)
        growing_space.carry_controller(old_controller, controller, self._rng())
        self._chains.set_state(old_chains.get_state())
        self._simulator, self._decoder, self._controller = simulator, decoder, controller
        self._coder_lists = None

    def _sync_decisions(self):
        """Builds the proposal machinery at the first trial; adapts it when new tunable
        hyperparameters have joined the space since."""
        names = tunable_names(self.hyperparameters.space)
        built = self._proposer if self._trust_region else self._controller
        if built is None:
            if names:
                if self._uses_coder:
                    self._build(names)
                self._codec = UnitCodec(names)
                if self._trust_region:
                    self._proposer = self._new_proposer()
            return
        new = [name for name in names if name not in self._codec.index]
        if not new:
            if self._trust_region and \
                    self._proposer.sizes != self._codec.sizes(self.hyperparameters.space):
                self._renew_proposer()  # a Choice's values changed on resume
            return
        names = self._codec.names + new
        if self._uses_coder:
            if int(self._controller.updates.numpy()) == 0:
                self._build(names)  # nothing learned yet: a fresh stage 1
            else:
                self._grow(names)
        self._codec = UnitCodec(names)
        if self._trust_region:
            self._renew_proposer()

    def _renew_proposer(self):
        """A proposer for the current slots and sizes, carrying the points seen so far."""
        old = self._proposer.get_state()
        old["points"] = [self._codec.pad(p) for p in old["points"]]
        self._proposer = self._new_proposer()
        self._proposer.set_state(old)

    def _new_proposer(self):
        """A ``Proposer`` over the current slots (state not included)."""
        space = self.hyperparameters.space
        embed = None
        if self.embedding_weight or self.policy_weight:
            embed = lambda units: np.asarray(self._simulator(units, training=False))  # noqa: E731
        return Proposer(
            self._codec.sizes(space), learning=self.learning,
            initial_points=self.initial_points, predictor=self.predictor,
            anchors=self.anchors, active=self._codec.active(space),
            ordinal=self._codec.ordinal(space), embed=embed,
            embedding_weight=self.embedding_weight, policy_weight=self.policy_weight,
            pick_caution=self.pick_caution, confirm_every=self.confirm_every,
            seed=[int(self.seed) % 2**63, len(self._codec.names)])

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
        if not self._codec.names:  # nothing to tune (no or only Fixed hyperparameters)
            return self._stop_or_run(self._random_values())
        if self._trust_region:
            self._observe_unseen_trials()
            return self._populate_from_trust_region(trial_id)
        space = self.hyperparameters.space
        chain = self._next_chain
        self._next_chain = (chain + 1) % self._controller.num_chains
        proposal = self._chains.propose(
            chain, lambda unit: not self._duplicate(self._codec.to_values(space, unit)),
            self._max_collisions, self._codec.sizes(space) if self.decode_unseen else None)
        if proposal is not None:
            state, embedding, decoded = proposal
            values = self._codec.to_values(space, decoded)
            self._records[trial_id] = {
                "chain": chain, "state": state.tolist(), "embedding": embedding.tolist(),
                "candidate": self._codec.to_unit(space, values, decoded).tolist()}
            return self._stop_or_run(values)
        values = self._random_values()
        if values is not None:
            unit = self._codec.to_unit(space, values, self._chains.states()[chain])
            if self._chains.moves_on_reward:  # not learned from, but the chain may move there
                self._records[trial_id] = {"chain": chain, "candidate": unit.tolist()}
            else:
                self._controller.advance(unit[None], [chain])
        return self._stop_or_run(values)

    def _observe_unseen_trials(self):
        # Trials that ended without the proposer hearing of them (their oracle state was
        # lost and rebuilt from the trial files) are registered at their values, so that
        # the search and get_best_trials build on them.
        space = self.hyperparameters.space
        for trial in self._completed(self.end_order):
            if trial.trial_id not in self._trial_points and trial.trial_id not in self._records:
                point = self._codec.to_unit(space, trial.hyperparameters.values,
                                            [0.5] * len(self._codec.names))
                point = [float(v) for v in point]
                self._proposer.register(point)
                self._proposer.observe(point, self._reward(trial.score))
                self._trial_points[trial.trial_id] = point

    def _populate_from_trust_region(self, trial_id):
        space = self.hyperparameters.space
        for _ in range(self._max_collisions + 1):
            point = self._proposer.propose()
            if point is None:  # every point of a finite space was proposed
                return self._stop_or_run(None)
            values = self._codec.to_values(space, point)
            if self._proposer.evaluations(point) > 1 or not self._duplicate(values):
                self._records[trial_id] = {"point": point}
                return self._stop_or_run(values)
            self._proposer.observe(point, None)  # another point with the same values
        values = self._random_values()
        if values is not None:
            point = self._codec.to_unit(space, values, [0.5] * len(self._codec.names))
            self._proposer.register(point)
            self._records[trial_id] = {"point": [float(v) for v in point]}
        return self._stop_or_run(values)

    def _absorb(self, trial):
        """Files an ended trial's sample: pending (finite score) or dropped (failed)."""
        record = self._records.get(trial.trial_id)
        if record is None or trial.trial_id in self._pending:
            return
        if "point" in record:
            if trial.status in (trial_module.TrialStatus.COMPLETED,
                                trial_module.TrialStatus.FAILED):
                score = trial.score if trial.status == trial_module.TrialStatus.COMPLETED \
                    else None
                finite = score is not None and math.isfinite(float(score))
                self._proposer.observe(self._codec.pad(record["point"]),
                                       self._reward(score) if finite else None)
                self._trial_points[trial.trial_id] = record["point"]
                del self._records[trial.trial_id]
            return
        if trial.status == trial_module.TrialStatus.COMPLETED:
            if trial.score is not None and math.isfinite(float(trial.score)):
                record["reward"] = self._reward(trial.score)
                self._chains.observe(record["chain"], self._codec.pad(record["candidate"]),
                                     record["reward"])
                if "embedding" in record:
                    self._pending.append(trial.trial_id)
                else:
                    del self._records[trial.trial_id]
            else:
                del self._records[trial.trial_id]
        elif trial.status == trial_module.TrialStatus.FAILED:
            del self._records[trial.trial_id]
        # INVALID: sent for retry; the sample waits for the rerun's result.

    def _maybe_update(self):
        if self._controller is None or len(self._pending) < self.samples_per_update:
            return
        ids, self._pending = self._pending, []
        records = [self._records.pop(i) for i in ids]
        if not self.learning:
            return
        self.last_update = self._controller.update(
            np.array([self._codec.pad(r["state"]) for r in records], np.float32),
            np.array([r["embedding"] for r in records], np.float32),
            np.array([r["reward"] for r in records], np.float64))
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

    def get_best_trials(self, num_trials=1):
        """Returns the best `Trial`s: with the trust region learning, the completed trials
        in the order of the proposer's ``pick_scores`` at their points (a denoised and
        cautious estimate of each trial's score: a Gaussian process's posterior mean minus
        ``pick_caution`` standard deviations), then the others; otherwise by score, as
        every keras-tuner Oracle.

        Args:
            num_trials: Optional number of trials to return. Defaults to 1.
        """
        completed = self._completed(self.start_order)
        if not (self._trust_region and completed and self._proposer is not None):
            return super().get_best_trials(num_trials)
        completed = [t for t in completed if t.trial_id in self._trial_points]
        mean = self._proposer.pick_scores(
            [self._codec.pad(self._trial_points[t.trial_id]) for t in completed]) \
            if completed else None
        if mean is None:
            return super().get_best_trials(num_trials)
        order = sorted(range(len(completed)), key=lambda i: (-mean[i], i))
        best = [completed[i] for i in order]
        if len(best) < num_trials:
            ranked = {t.trial_id for t in best}
            best += [t for t in super().get_best_trials(len(self.trials))
                     if t.trial_id not in ranked]
        return best[:num_trials]

    def _awaiting(self):
        return list(self._records)

    def get_state(self):
        state = super().get_state()
        nases = {"names": self._codec.names, "records": self._records,
                 "trial_points": self._trial_points,
                 "proposer": None if self._proposer is None else self._proposer.get_state(),
                 "pending": self._pending, "next_chain": self._next_chain,
                 "coder_metrics": self.coder_metrics, "last_update": self.last_update}
        if self._controller is not None:
            if self._coder_lists is None:
                self._coder_lists = {
                    "simulator": [w.tolist() for w in self._simulator.get_weights()],
                    "decoder": [w.tolist() for w in self._decoder.get_weights()]}
            nases.update(embedding_dim=self._embedding_dim, **self._coder_lists,
                         controller=self._controller.get_state(),
                         chains=self._chains.get_state())
        state["nases"] = nases
        return state

    def set_state(self, state):
        super().set_state(state)
        self._reset_search_state()
        nases = state.get("nases") or {}
        self._codec = UnitCodec(nases.get("names", []))
        self._records = dict(nases.get("records", {}))
        self._trial_points = dict(nases.get("trial_points", {}))
        self._pending = list(nases.get("pending", []))
        self._next_chain = int(nases.get("next_chain", 0))
        self.coder_metrics = nases.get("coder_metrics", {})
        self.last_update = nases.get("last_update")
        if "controller" in nases:
            self._embedding_dim = int(nases["embedding_dim"])
            self._simulator, self._decoder = self._new_models(len(self._codec.names),
                                                              self._embedding_dim)
            self._simulator.set_weights([np.asarray(w, np.float32) for w in nases["simulator"]])
            self._decoder.set_weights([np.asarray(w, np.float32) for w in nases["decoder"]])
            self._controller = self._new_controller(self._simulator, self._decoder)
            self._controller.set_state(nases["controller"])
            self._chains.set_state(nases.get("chains", {}))
        if nases.get("proposer") is not None:
            self._proposer = self._new_proposer()
            self._proposer.set_state(nases["proposer"])


# The arguments NASES passes through to NASESOracle.
ORACLE_ARGUMENTS = (
    "hyperparameters", "allow_new_entries", "tune_new_entries", "max_retries_per_trial",
    "max_consecutive_failed_trials", "embedding_dim", "coder", "hidden_units",
    "pretrain_steps", "pretrain_learning_rate", "controller_learning_rate",
    "samples_per_update", "baseline_decay", "entropy_weight", "initial_sigma",
    "max_collisions", "proposals", "learning", "initial_points", "predictor",
    "anchors", "decode_unseen", "embedding_weight", "policy_weight", "pick_caution",
    "confirm_every")


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
        **kwargs: `NASESOracle` arguments (``hyperparameters``, ``allow_new_entries``,
            ``tune_new_entries``, ``max_retries_per_trial``,
            ``max_consecutive_failed_trials``, and NASES's ``embedding_dim``, ``coder``,
            ``samples_per_update``, ``proposals``, ...; see its docstring), and keyword
            arguments of every `Tuner` (``directory``, ``project_name``, ``overwrite``,
            ``executions_per_trial``, ...).
    """

    def __init__(self, hypermodel=None, objective=None, max_trials=10, seed=None, **kwargs):
        self.seed = seed
        oracle_kwargs = {name: kwargs.pop(name) for name in ORACLE_ARGUMENTS if name in kwargs}
        oracle = NASESOracle(objective=objective, max_trials=max_trials, seed=seed,
                             **oracle_kwargs)
        super().__init__(oracle, hypermodel, **kwargs)

