"""ENAS-style REINFORCE over independent categorical decisions, as a keras-tuner Oracle."""

import math

import numpy as np

from nases_tf.errors import ConfigError
from nases_tf.oracles.base import SearchOracle, fill_active, finite_values


class ReinforceOracle(SearchOracle):
    """ENAS-style REINFORCE over independent categorical decisions (Zoph & Le 2017; Pham et
    al. 2018), with a plain numpy policy.

    Each hyperparameter has a vector of softmax logits (zeros at first: uniform). A trial's
    values are one draw of every active hyperparameter. When a trial completes with a finite
    score, reward ``r`` is the score (negated for objectives to minimize); the baseline
    ``b`` is an exponential moving average of rewards (``b <- decay * b + (1 - decay) * r``,
    started at the first reward), and each decision ``i`` of the trial takes one gradient
    ascent step on ``(r - b) * log p_i(choice) + entropy_weight * H(p_i)``. With
    ``normalize_advantage`` the advantage ``r - b`` is divided by a moving estimate of the
    rewards' standard deviation, which makes ``learning_rate`` independent of the
    objective's scale. Failed trials and NaN scores never update the policy.

    A draw that repeats an already completed trial gives no new information but its reward
    is known, so it updates the policy like a completed trial (without becoming a trial) and
    the oracle draws again; after ``max_collisions`` such repeats it proposes uniformly
    random untried values instead.

    Args:
        learning_rate: Float > 0, the step size on the logits. Defaults to 0.2.
        baseline_decay: Float in [0, 1), the EMA decay of the reward baseline. Defaults to
            0.9.
        entropy_weight: Float >= 0, the weight of the entropy bonus. Defaults to 0.01.
        normalize_advantage: Boolean, whether to scale advantages by the rewards' moving
            standard deviation. Defaults to True.
        max_collisions: Integer, repeated draws tolerated per trial. Defaults to 100.
        **kwargs: `keras_tuner.Oracle`'s own arguments (``objective``, ``max_trials``,
            ``seed``, ``hyperparameters``, ...).
    """

    def __init__(
        self,
        learning_rate=0.2,
        baseline_decay=0.9,
        entropy_weight=0.01,
        normalize_advantage=True,
        max_collisions=100,
        **kwargs,
    ):
        super().__init__(max_collisions=max_collisions, **kwargs)
        if not float(learning_rate) > 0:
            raise ConfigError(f"reinforce learning_rate must be > 0, got {learning_rate}")
        if not 0 <= float(baseline_decay) < 1:
            raise ConfigError(f"reinforce baseline_decay must lie in [0, 1), got {baseline_decay}")
        if not float(entropy_weight) >= 0:
            raise ConfigError(f"reinforce entropy_weight must be >= 0, got {entropy_weight}")
        self.learning_rate = float(learning_rate)
        self.baseline_decay = float(baseline_decay)
        self.entropy_weight = float(entropy_weight)
        self.normalize_advantage = bool(normalize_advantage)
        # Policy state (all native Python for get_state).
        self.logits = {}  # name -> list of float, one per value of the hyperparameter
        self.baseline = None  # EMA of rewards
        self.reward_var = None  # EMA of squared deviations from the baseline
        self.num_updates = 0
        self._learned = 0  # how many entries of self.end_order the policy has seen

    def probabilities(self, name):
        """Current policy probabilities (float64 array) of hyperparameter ``name``.

        Args:
            name: the name of a hyperparameter in the space.
        """
        logits = np.asarray(self._logits_of(name), dtype=np.float64)
        logits = logits - logits.max()
        p = np.exp(logits)
        return p / p.sum()

    def _logits_of(self, name):
        """The logits list of hyperparameter ``name``, created (uniform) on first use."""
        size = len(finite_values(self._hp_by_name()[name]))
        if name not in self.logits or len(self.logits[name]) != size:
            self.logits[name] = [0.0] * size
        return self.logits[name]

    def _hp_by_name(self):
        return {hp.name: hp for hp in self.hyperparameters.space}

    def _sample(self, rng):
        """One draw of the policy (active values only)."""
        def choose(hp, _):
            choices = finite_values(hp)
            return choices[int(rng.choice(len(choices), p=self.probabilities(hp.name)))]
        return fill_active(self.hyperparameters.space, choose)

    def _update(self, values, score):
        """One REINFORCE step on the decisions in ``values`` with objective ``score``."""
        reward = self._reward(score)
        if self.baseline is None:
            self.baseline = reward
            self.reward_var = 0.0
        else:
            deviation = reward - self.baseline
            self.reward_var = (self.baseline_decay * self.reward_var
                               + (1 - self.baseline_decay) * deviation * deviation)
            self.baseline = (self.baseline_decay * self.baseline
                             + (1 - self.baseline_decay) * reward)
        advantage = reward - self.baseline
        if self.normalize_advantage and self.reward_var > 0:
            advantage /= math.sqrt(self.reward_var) + 1e-8
        hps = self._hp_by_name()
        for name, value in values.items():
            hp = hps.get(name)
            if hp is None:
                continue
            choices = finite_values(hp)
            if value not in choices or len(choices) < 2:
                continue
            p = self.probabilities(name)
            grad = -p
            grad[choices.index(value)] += 1.0
            grad *= advantage
            log_p = np.log(np.maximum(p, 1e-12))
            entropy = -float(np.sum(p * log_p))
            grad += self.entropy_weight * (-p * (log_p + entropy))
            self.logits[name] = [float(x) for x in
                                 np.asarray(self.logits[name]) + self.learning_rate * grad]
        self.num_updates += 1

    def _learn_from_finished_trials(self):
        new_ids = self.end_order[self._learned:]
        self._learned = len(self.end_order)
        for trial in self._completed(new_ids):
            self._update(trial.hyperparameters.values, trial.score)

    def _known_scores(self):
        """Hash of values -> score of completed trials."""
        scores = {}
        for trial in self._completed(self.end_order):
            scores[self._compute_values_hash(trial.hyperparameters.values)] = trial.score
        return scores

    def populate_space(self, trial_id):
        """Fill the hyperparameter space with values.

        Args:
            trial_id: A string, the ID for this Trial.

        Returns:
            A dictionary with keys "values" and "status" ("RUNNING", or "STOPPED" when no new
            values could be found).
        """
        self._learn_from_finished_trials()
        rng = self._rng()
        known = None
        for _ in range(self._max_collisions + 1):
            values = self._sample(rng)
            if not self._duplicate(values):
                return self._stop_or_run(values)
            if known is None:
                known = self._known_scores()
            score = known.get(self._compute_values_hash(values))
            if score is not None:
                self._update(values, score)
        return self._stop_or_run(self._uniform_values(rng))

    def get_state(self):
        state = super().get_state()
        state.update({
            "learning_rate": self.learning_rate,
            "baseline_decay": self.baseline_decay,
            "entropy_weight": self.entropy_weight,
            "normalize_advantage": self.normalize_advantage,
            "logits": {name: list(v) for name, v in self.logits.items()},
            "baseline": self.baseline,
            "reward_var": self.reward_var,
            "num_updates": self.num_updates,
            "learned": self._learned,
        })
        return state

    def set_state(self, state):
        super().set_state(state)
        self.learning_rate = state["learning_rate"]
        self.baseline_decay = state["baseline_decay"]
        self.entropy_weight = state["entropy_weight"]
        self.normalize_advantage = state["normalize_advantage"]
        self.logits = {name: list(v) for name, v in state["logits"].items()}
        self.baseline = state["baseline"]
        self.reward_var = state["reward_var"]
        self.num_updates = state["num_updates"]
        self._learned = state["learned"]
