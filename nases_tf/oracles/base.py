"""What nases_tf's keras-tuner oracles share: native values, the active hyperparameters of a
conditional space, seeded draws, the reward's sign, and finite value lists."""

import math

import numpy as np
from keras_tuner.engine import hyperparameters as hp_module
from keras_tuner.engine import oracle as oracle_module
from keras_tuner.engine import trial as trial_module

from nases_tf.errors import ConfigError
from nases_tf.oracles.atomic_state import AtomicOracleStateMixin


def native(value):
    """``value`` as a native Python scalar (keras-tuner serializes values to JSON/protobuf).

    Args:
        value: a Python or numpy scalar.
    """
    return value.item() if isinstance(value, np.generic) else value


def fill_active(space, choose):
    """The values of the hyperparameters of ``space`` that are active, chosen in order.

    Conditional scopes see the values chosen before them, as keras-tuner fills a trial.

    Args:
        space: a list of keras-tuner ``HyperParameter`` objects (``HyperParameters.space``).
        choose: function (hp, values chosen so far) -> the value of ``hp``.

    Returns:
        dict name -> native value, active hyperparameters only.
    """
    hps = hp_module.HyperParameters()
    for hp in space:
        hps.merge([hp], overwrite=False)
        if hps.is_active(hp):
            hps.values[hp.name] = native(choose(hp, hps.values))
    return dict(hps.values)


def finite_values(hp):
    """The finite list of values of keras-tuner hyperparameter ``hp``.

    Args:
        hp: a keras-tuner ``HyperParameter``.

    Raises:
        ConfigError: if ``hp`` has no finite set of values (a ``Float`` without ``step``).
    """
    if isinstance(hp, hp_module.Float) and hp.step is None:
        raise ConfigError(
            f"hyperparameter {hp.name!r} is a Float without step; this oracle searches finite "
            "spaces: use Choice, or give the Float a step")
    values = list(hp.values)
    if not values:
        raise ConfigError(f"hyperparameter {hp.name!r} has no values to choose from")
    return values


class SearchOracle(AtomicOracleStateMixin, oracle_module.Oracle):
    """A keras-tuner ``Oracle`` with the plumbing nases_tf's algorithms share, and state
    files that survive a kill (``oracles.atomic_state``).

    Args:
        max_collisions: how many repeated proposals ``populate_space`` tolerates before it
            falls back to (and then gives up on) random values.
        **kwargs: passed to ``keras_tuner.Oracle``.
    """

    def __init__(self, max_collisions=100, **kwargs):
        super().__init__(**kwargs)
        self._max_collisions = int(max_collisions)

    def _awaiting(self):
        """Ids of trials whose end the algorithm has not filed yet (subclasses that learn
        from ended trials override it, with ``_absorb``)."""
        return []

    def _absorb(self, trial):
        """Files an ended trial's result into the algorithm's state."""

    def reload(self):
        """Reloads trials and state, then files the trials that ended after the last save
        (a kill between keras-tuner's trial and oracle writes)."""
        super().reload()
        for trial_id in list(self._awaiting()):
            trial = self.trials.get(trial_id)
            if trial is not None and trial_id in self.end_order:
                self._absorb(trial)

    def _rng(self):
        """A fresh ``numpy.random.Generator`` for one call, from the seed and seed state."""
        rng = np.random.default_rng([int(self.seed) % 2**63, int(self._seed_state) % 2**63])
        self._seed_state += 1
        return rng

    def _reward(self, score):
        """``score`` turned into a quantity to maximize, whatever the objective's direction."""
        return float(score) if self.objective.direction == "max" else -float(score)

    @staticmethod
    def _stop_or_run(values):
        """``populate_space``'s answer: RUNNING with ``values``, or STOPPED for None."""
        if values is None:
            return {"status": trial_module.TrialStatus.STOPPED, "values": None}
        return {"status": trial_module.TrialStatus.RUNNING, "values": values}

    def _completed(self, trial_ids):
        """The trials among ``trial_ids`` that completed with a finite score, in order."""
        out = []
        for trial_id in trial_ids:
            trial = self.trials.get(trial_id)
            if (trial is not None and trial.status == trial_module.TrialStatus.COMPLETED
                    and trial.score is not None and math.isfinite(trial.score)):
                out.append(trial)
        return out

    def _complete_values(self, partial, rng):
        """Active values of a finite space: those of ``partial``, random draws for the rest.

        Args:
            partial: dict name -> value; entries for inactive or unknown names are dropped.
            rng: a ``numpy.random.Generator``.
        """
        def choose(hp, _):
            choices = finite_values(hp)
            value = partial.get(hp.name, None)
            if hp.name not in partial or value not in choices:
                value = choices[int(rng.integers(len(choices)))]
            return value
        return fill_active(self.hyperparameters.space, choose)

    def _uniform_values(self, rng):
        """New uniformly random active values of a finite space, or None after
        ``max_collisions`` repeats.

        Args:
            rng: a ``numpy.random.Generator``.
        """
        for _ in range(self._max_collisions + 1):
            values = self._complete_values({}, rng)
            if not self._duplicate(values):
                return values
        return None
