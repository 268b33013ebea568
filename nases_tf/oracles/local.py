"""Local search as a keras-tuner Oracle: hill climbing over one-edit neighbours, with random
restarts at local optima (the peer of White et al. 2020, "Local Search is State of the Art
for Neural Architecture Search Benchmarks", in its first-improvement form).

Like the other oracles of this package it works on any keras-tuner ``HyperParameters`` space whose
hyperparameters have a finite set of values, with conditional scopes; it keeps its state in
``get_state`` (native Python values only), draws all randomness from ``self.seed``, reads the
outcome of trials lazily from ``self.end_order``, and never proposes values tried before.
"""

from nases_tf.errors import ConfigError
from nases_tf.oracles.base import SearchOracle, finite_values, native


class LocalSearchOracle(SearchOracle):
    """Local search: hill climbing over one-edit neighbours with random restarts.

    The first ``initial_random`` trials are uniformly random, untried values. After that,
    each trial is an untried one-edit neighbour of the incumbent, the best completed trial
    of the current climb: the incumbent's values with one active hyperparameter changed to
    another of its values (hyperparameters the change activates get random values, those it
    deactivates are dropped). The neighbour is drawn uniformly among those not tried yet, so
    the neighbourhood is walked in random order, and the climb moves on as soon as a better
    neighbour completes. When the incumbent has no untried neighbour left (a local optimum),
    the next trial is a uniformly random untried restart, and a new climb starts from it;
    the first climb starts from the best of the initial random trials. Failed trials and NaN
    scores never become incumbents. When every set of values has been tried, the oracle
    stops.

    Args:
        objective: A string, `keras_tuner.Objective` instance, or a list of them, as for
            `keras_tuner.Oracle`.
        max_trials: Integer, the total number of trials to run at most. Defaults to 10.
        initial_random: Integer >= 1, the number of uniformly random trials before the
            first climb. Defaults to 10.
        **kwargs: the other arguments of `keras_tuner.Oracle` (``seed``,
            ``hyperparameters``, ``allow_new_entries``, ``tune_new_entries``,
            ``max_retries_per_trial``, ``max_consecutive_failed_trials``), and
            ``max_collisions``: repeated random draws tolerated per restart before the oracle
            walks the whole space for an untried set of values (default 100).
    """

    def __init__(self, objective=None, max_trials=10, initial_random=10, **kwargs):
        super().__init__(objective=objective, max_trials=max_trials, **kwargs)
        if int(initial_random) < 1:
            raise ConfigError(f"local search initial_random must be >= 1, got {initial_random}")
        self.initial_random = int(initial_random)
        # Position in self.start_order of the current climb's first trial.
        self._climb_start = 0

    def incumbent(self):
        """The best completed trial of the current climb (the earliest on ties), or None."""
        climb = set(self.start_order[self._climb_start:])
        best = None
        for trial in self._completed(self.end_order):
            if trial.trial_id in climb and (
                    best is None or self._reward(trial.score) > self._reward(best.score)):
                best = trial
        return best

    def populate_space(self, trial_id):
        """Fill the hyperparameter space with values.

        Args:
            trial_id: A string, the ID for this Trial.

        Returns:
            A dictionary with keys "values" and "status" ("RUNNING", or "STOPPED" when every
            set of values has been tried).
        """
        rng = self._rng()
        incumbent = self.incumbent() if len(self.trials) >= self.initial_random else None
        if incumbent is not None:
            values = self._untried_neighbour(incumbent, rng)
            if values is not None:
                return self._stop_or_run(values)
            # A local optimum: the restart proposed below is the next climb's first trial.
            self._climb_start = len(self.start_order)
        return self._stop_or_run(self._untried_random(rng))

    def _neighbours(self, values, rng):
        """The one-edit neighbours of ``values``, tried or not, without repeats.

        Args:
            values: dict of active hyperparameter values.
            rng: a ``numpy.random.Generator`` for the hyperparameters an edit activates (and
                for active ones missing from ``values``).

        Returns:
            A list of value dicts, in the order of the space and of each hyperparameter's
            values.
        """
        base = self._complete_values(dict(values), rng)
        # Without conditions an edit changes nothing else: skip the (slow) re-completion.
        conditional = any(hp.conditions for hp in self.hyperparameters.space)
        found = {}
        edited = set()
        for hp in self.hyperparameters.space:
            if hp.name not in base or hp.name in edited:
                continue
            edited.add(hp.name)
            for value in finite_values(hp):
                if value == base[hp.name]:
                    continue
                neighbour = {**base, hp.name: native(value)}
                if conditional:
                    neighbour = self._complete_values(neighbour, rng)
                found.setdefault(self._compute_values_hash(neighbour), neighbour)
        return list(found.values())

    def _untried_neighbour(self, incumbent, rng):
        """A uniformly drawn untried neighbour of trial ``incumbent``, or None."""
        untried = [values for values in self._neighbours(incumbent.hyperparameters.values, rng)
                   if not self._duplicate(values)]
        return untried[int(rng.integers(len(untried)))] if untried else None

    def _untried_random(self, rng):
        """Uniformly random untried values; None only once every set has been tried."""
        values = self._uniform_values(rng)
        return values if values is not None else self._first_untried(rng)

    def _first_untried(self, rng):
        """The first untried set of active values met walking the whole space in a random
        order (depth first, each hyperparameter's values shuffled), or None."""
        space = list(self.hyperparameters.space)

        def walk(i, values):
            while i < len(space) and (
                    space[i].name in values
                    or not all(c.is_active(values) for c in space[i].conditions)):
                i += 1
            if i == len(space):
                return None if self._duplicate(values) else values
            choices = finite_values(space[i])
            for index in rng.permutation(len(choices)):
                found = walk(i + 1, {**values, space[i].name: native(choices[int(index)])})
                if found is not None:
                    return found
            return None

        return walk(0, {})

    def get_state(self):
        state = super().get_state()
        state.update({"initial_random": self.initial_random,
                      "climb_start": self._climb_start})
        return state

    def set_state(self, state):
        super().set_state(state)
        self.initial_random = state["initial_random"]
        self._climb_start = state["climb_start"]
