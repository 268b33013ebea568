"""Baseline search strategies as keras-tuner Oracles: regularized evolution and REINFORCE.

Both work on any keras-tuner ``HyperParameters`` space whose hyperparameters have a finite
set of values (``Choice``, ``Boolean``, ``Fixed``, ``Int``, ``Float`` with a ``step``), with
conditional scopes. Like keras-tuner's own oracles they keep everything they need in
``get_state`` (native Python values only), draw all randomness from ``self.seed``, and never
propose a set of values that was tried before (``self._tried_so_far``).

They read the outcome of trials lazily, from ``self.end_order``, at the next
``populate_space`` call, so they need no ``end_trial`` override and survive ``reload``.
"""

import math

import numpy as np
from keras_tuner.engine import hyperparameters as hp_module
from keras_tuner.engine import oracle as oracle_module
from keras_tuner.engine import trial as trial_module

from nases_tf.errors import ConfigError


def _choices(hp):
    """The finite list of values of keras-tuner hyperparameter ``hp``.

    Args:
        hp: a keras-tuner ``HyperParameter``.

    Raises:
        ConfigError: if ``hp`` has no finite set of values (a ``Float`` without ``step``).
    """
    if isinstance(hp, hp_module.Float) and hp.step is None:
        raise ConfigError(
            f"hyperparameter {hp.name!r} is a Float without step; these oracles search finite "
            "spaces: use Choice, or give the Float a step")
    values = list(hp.values)
    if not values:
        raise ConfigError(f"hyperparameter {hp.name!r} has no values to choose from")
    return values


def _native(value):
    """``value`` as a native Python scalar (keras-tuner serializes values to JSON)."""
    return value.item() if isinstance(value, np.generic) else value


class _DiscreteOracle(oracle_module.Oracle):
    """Shared plumbing: seeded draws, active values, duplicate checks, reading trial results.

    Args:
        max_collisions: how many duplicate proposals ``populate_space`` tolerates before it
            falls back to (and then gives up on) uniform random values.
        **kwargs: passed to ``keras_tuner.Oracle``.
    """

    def __init__(self, max_collisions=100, **kwargs):
        super().__init__(**kwargs)
        self._max_collisions = int(max_collisions)

    def _rng(self):
        """A fresh ``numpy.random.Generator`` for one call, derived from seed and seed state."""
        rng = np.random.default_rng([int(self.seed) % 2**63, int(self._seed_state) % 2**63])
        self._seed_state += 1
        return rng

    def _complete_values(self, partial, rng):
        """Active values of the space: those of ``partial``, random draws for the rest.

        Args:
            partial: dict name -> value; entries for inactive or unknown names are dropped.
            rng: a ``numpy.random.Generator``.
        """
        hps = hp_module.HyperParameters()
        for hp in self.hyperparameters.space:
            hps.merge([hp])
            if not hps.is_active(hp):
                continue
            choices = _choices(hp)
            value = partial.get(hp.name, None)
            if hp.name not in partial or value not in choices:
                value = choices[int(rng.integers(len(choices)))]
            hps.values[hp.name] = _native(value)
        return hps.values

    def _uniform_values(self, rng):
        """New uniformly random active values, or None after ``max_collisions`` duplicates.

        Args:
            rng: a ``numpy.random.Generator``.
        """
        for _ in range(self._max_collisions + 1):
            values = self._complete_values({}, rng)
            if not self._duplicate(values):
                return values
        return None

    def _completed(self, trial_ids):
        """The trials among ``trial_ids`` that completed with a finite score, in order."""
        out = []
        for trial_id in trial_ids:
            trial = self.trials.get(trial_id)
            if (trial is not None and trial.status == trial_module.TrialStatus.COMPLETED
                    and trial.score is not None and math.isfinite(trial.score)):
                out.append(trial)
        return out

    def _reward(self, score):
        """``score`` turned into a quantity to maximize, whatever the objective's direction."""
        return float(score) if self.objective.direction == "max" else -float(score)

    def _stop_or_run(self, values):
        if values is None:
            return {"status": trial_module.TrialStatus.STOPPED, "values": None}
        return {"status": trial_module.TrialStatus.RUNNING, "values": values}


class RegularizedEvolutionOracle(_DiscreteOracle):
    """Regularized (aging) evolution, Real et al. 2019, "Regularized Evolution for Image
    Classifier Architecture Search".

    The first ``population_size`` trials are uniformly random. After that, each trial is a
    mutation of a tournament winner: ``sample_size`` members of the population are drawn
    without replacement, the one with the best score is the parent, and the child differs
    from it in exactly one hyperparameter (drawn uniformly among those with more than one
    value), set to a different value drawn uniformly. The population is the
    ``population_size`` most recently completed trials, so each completion retires the
    oldest member (aging), whatever its score. Failed trials and NaN scores never join.
    Children that were tried before are redrawn (new tournament, new mutation).

    Args:
        objective: A string, `keras_tuner.Objective` instance, or a list of them, as for
            `keras_tuner.Oracle`.
        max_trials: Integer, the total number of trials to run at most. Defaults to 10.
        population_size: Integer >= 1, the population size P. Defaults to 20.
        sample_size: Integer in [1, population_size], the tournament size S. Defaults to 10.
        seed: Optional integer, the random seed.
        hyperparameters: Optional `HyperParameters` instance, the search space.
        allow_new_entries: Boolean, whether the hypermodel may request hyperparameters not
            listed in `hyperparameters`. Defaults to True.
        tune_new_entries: Boolean, whether such new entries are searched (else their
            default is used). Defaults to True.
        max_retries_per_trial: Integer, retries of a trial that crashed. Defaults to 0.
        max_consecutive_failed_trials: Integer, consecutive failures that stop the search.
            Defaults to 3.
        max_collisions: Integer, duplicate children tolerated per trial before falling back
            to uniform random values. Defaults to 100.
    """

    def __init__(
        self,
        objective=None,
        max_trials=10,
        population_size=20,
        sample_size=10,
        seed=None,
        hyperparameters=None,
        allow_new_entries=True,
        tune_new_entries=True,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
        max_collisions=100,
    ):
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            hyperparameters=hyperparameters,
            allow_new_entries=allow_new_entries,
            tune_new_entries=tune_new_entries,
            seed=seed,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
            max_collisions=max_collisions,
        )
        if int(population_size) < 1:
            raise ConfigError(f"evolution population_size must be >= 1, got {population_size}")
        if not 1 <= int(sample_size) <= int(population_size):
            raise ConfigError(
                f"evolution sample_size (tournament) must lie in [1, population_size="
                f"{population_size}], got {sample_size}")
        self.population_size = int(population_size)
        self.sample_size = int(sample_size)

    def population(self):
        """The current population: the last ``population_size`` completed trials, oldest
        first."""
        return self._completed(self.end_order)[-self.population_size:]

    def populate_space(self, trial_id):
        """Fill the hyperparameter space with values.

        Args:
            trial_id: A string, the ID for this Trial.

        Returns:
            A dictionary with keys "values" and "status" ("RUNNING", or "STOPPED" when no new
            values could be found).
        """
        rng = self._rng()
        population = self.population()
        if len(self.trials) < self.population_size or not population:
            return self._stop_or_run(self._uniform_values(rng))
        for _ in range(self._max_collisions + 1):
            child = self._mutate(self._tournament(population, rng), rng)
            if child is not None and not self._duplicate(child):
                return self._stop_or_run(child)
        return self._stop_or_run(self._uniform_values(rng))

    def _tournament(self, population, rng):
        """The best of ``sample_size`` members drawn without replacement (earliest on ties)."""
        size = min(self.sample_size, len(population))
        picks = sorted(int(i) for i in rng.choice(len(population), size=size, replace=False))
        best = picks[0]
        for i in picks[1:]:
            if self._reward(population[i].score) > self._reward(population[best].score):
                best = i
        return population[best]

    def _mutate(self, parent, rng):
        """Parent's values with one mutable active hyperparameter changed, or None."""
        values = dict(parent.hyperparameters.values)
        values = self._complete_values(values, rng)
        mutable = []
        hps = hp_module.HyperParameters()
        for hp in self.hyperparameters.space:
            hps.merge([hp])
            if hps.is_active(hp) and hp.name in values and len(_choices(hp)) > 1:
                mutable.append(hp)
        if not mutable:
            return None
        hp = mutable[int(rng.integers(len(mutable)))]
        others = [v for v in _choices(hp) if v != values[hp.name]]
        values[hp.name] = _native(others[int(rng.integers(len(others)))])
        # A changed parent value can (de)activate conditional hyperparameters.
        return self._complete_values(values, rng)

    def get_state(self):
        state = super().get_state()
        state.update({"population_size": self.population_size,
                      "sample_size": self.sample_size})
        return state

    def set_state(self, state):
        super().set_state(state)
        self.population_size = state["population_size"]
        self.sample_size = state["sample_size"]


class ReinforceOracle(_DiscreteOracle):
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
        objective: A string, `keras_tuner.Objective` instance, or a list of them, as for
            `keras_tuner.Oracle`.
        max_trials: Integer, the total number of trials to run at most. Defaults to 10.
        learning_rate: Float > 0, the step size on the logits. Defaults to 0.2.
        baseline_decay: Float in [0, 1), the EMA decay of the reward baseline. Defaults to
            0.9.
        entropy_weight: Float >= 0, the weight of the entropy bonus. Defaults to 0.01.
        normalize_advantage: Boolean, whether to scale advantages by the rewards' moving
            standard deviation. Defaults to True.
        seed: Optional integer, the random seed.
        hyperparameters: Optional `HyperParameters` instance, the search space.
        allow_new_entries: Boolean, whether the hypermodel may request hyperparameters not
            listed in `hyperparameters`. Defaults to True.
        tune_new_entries: Boolean, whether such new entries are searched. Defaults to True.
        max_retries_per_trial: Integer, retries of a trial that crashed. Defaults to 0.
        max_consecutive_failed_trials: Integer, consecutive failures that stop the search.
            Defaults to 3.
        max_collisions: Integer, repeated draws tolerated per trial. Defaults to 100.
    """

    def __init__(
        self,
        objective=None,
        max_trials=10,
        learning_rate=0.2,
        baseline_decay=0.9,
        entropy_weight=0.01,
        normalize_advantage=True,
        seed=None,
        hyperparameters=None,
        allow_new_entries=True,
        tune_new_entries=True,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
        max_collisions=100,
    ):
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            hyperparameters=hyperparameters,
            allow_new_entries=allow_new_entries,
            tune_new_entries=tune_new_entries,
            seed=seed,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
            max_collisions=max_collisions,
        )
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
        size = len(_choices(self._hp_by_name()[name]))
        if name not in self.logits or len(self.logits[name]) != size:
            self.logits[name] = [0.0] * size
        return self.logits[name]

    def _hp_by_name(self):
        return {hp.name: hp for hp in self.hyperparameters.space}

    def _sample(self, rng):
        """One draw of the policy (active values only)."""
        hps = hp_module.HyperParameters()
        for hp in self.hyperparameters.space:
            hps.merge([hp])
            if not hps.is_active(hp):
                continue
            choices = _choices(hp)
            self._logits_of(hp.name)
            index = int(rng.choice(len(choices), p=self.probabilities(hp.name)))
            hps.values[hp.name] = _native(choices[index])
        return hps.values

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
            choices = _choices(hp)
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
