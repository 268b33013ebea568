"""Regularized (aging) evolution as a keras-tuner Oracle (Real et al. 2019)."""

from nases_tf.errors import ConfigError
from nases_tf.oracles.base import SearchOracle, finite_values, native


class RegularizedEvolutionOracle(SearchOracle):
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
        population_size: Integer >= 1, the population size P. Defaults to 20.
        sample_size: Integer in [1, population_size], the tournament size S. Defaults to 10.
        max_collisions: Integer, duplicate children tolerated per trial before falling back
            to uniform random values. Defaults to 100.
        **kwargs: the arguments of every `keras_tuner.Oracle`: ``objective``,
            ``max_trials``, ``seed``, ``hyperparameters``, ``allow_new_entries``,
            ``tune_new_entries``, ``max_retries_per_trial``,
            ``max_consecutive_failed_trials``.
    """

    def __init__(
        self,
        population_size=20,
        sample_size=10,
        max_collisions=100,
        **kwargs,
    ):
        super().__init__(max_collisions=max_collisions, **kwargs)
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
        values = self._complete_values(dict(parent.hyperparameters.values), rng)
        mutable = [hp for hp in self.hyperparameters.space
                   if hp.name in values and len(finite_values(hp)) > 1]
        if not mutable:
            return None
        hp = mutable[int(rng.integers(len(mutable)))]
        others = [v for v in finite_values(hp) if v != values[hp.name]]
        values[hp.name] = native(others[int(rng.integers(len(others)))])
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
