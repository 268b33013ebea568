"""Optuna's TPE sampler as a keras-tuner Oracle: ``TPEOracle`` and the ``TPE`` tuner.

The Tree-structured Parzen Estimator (Bergstra et al. 2011) as Optuna implements it
(``optuna.samplers.TPESampler``), behind keras-tuner's ``Oracle`` contract, so a keras-tuner
project can use it in place of ``keras_tuner.RandomSearch``. It is also the benchmark peer
of NASES that keras-tuner users ask for. Optuna is needed only when this Oracle is built.

Each trial asks an in-memory Optuna study for one point; keras-tuner's hyperparameters map
to Optuna distributions (``distribution``), conditional scopes included (Optuna's
define-by-run sees only the active ones). Optuna's own log lines are left to Optuna's
logging (``optuna.logging.set_verbosity(optuna.logging.WARNING)`` quiets them).
"""

import math

import keras_tuner
from keras_tuner.engine import hyperparameters as hp_module
from keras_tuner.engine import trial as trial_module
from keras_tuner.engine import tuner as tuner_module

from nases_tf.errors import ConfigError
from nases_tf.oracles.atomic_state import AtomicTunerStateMixin
from nases_tf.oracles.base import SearchOracle, fill_active, native
from nases_tf.oracles.unit_codec import MAX_PROB, prob_to_value

# The name of a slot searched in keras-tuner's unit encoding (see ``distribution``).
_UNIT_SUFFIX = "/unit"


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ConfigError("TPEOracle needs Optuna: pip install optuna") from None
    return optuna


def distribution(hp):
    """The Optuna distribution that searches keras-tuner hyperparameter ``hp``.

    ``Choice`` and ``Boolean`` are categorical; ``Int`` and ``Float`` with linear or log
    sampling are Optuna's int and float distributions (with the step where Optuna has one).
    A scale Optuna lacks (``reverse_log``, a log scale with a step, a step that does not
    divide the range) is searched as keras-tuner's own unit interval, mapped by the
    hyperparameter's ``prob_to_value``; its parameter is then named ``<name>/unit``.

    Args:
        hp: a keras-tuner ``HyperParameter`` other than ``Fixed``.

    Returns:
        ``(parameter name, optuna distribution)``.
    """
    dists = _optuna().distributions
    if isinstance(hp, hp_module.Boolean):
        return hp.name, dists.CategoricalDistribution([False, True])
    if isinstance(hp, hp_module.Choice):
        return hp.name, dists.CategoricalDistribution([native(v) for v in hp.values])
    if isinstance(hp, (hp_module.Int, hp_module.Float)):
        log = hp.sampling == "log"
        stepped = hp.step is not None and not (isinstance(hp, hp_module.Int) and hp.step == 1)
        if hp.sampling in ("linear", "log") and not (log and stepped):
            if isinstance(hp, hp_module.Int):
                return hp.name, dists.IntDistribution(int(hp.min_value), int(hp.max_value),
                                                      log=log, step=int(hp.step or 1))
            span = (hp.max_value - hp.min_value) / hp.step if stepped else 0.0
            if not stepped or abs(span - round(span)) < 1e-9:
                return hp.name, dists.FloatDistribution(
                    float(hp.min_value), float(hp.max_value), log=log,
                    step=float(hp.step) if stepped else None)
        return hp.name + _UNIT_SUFFIX, dists.FloatDistribution(0.0, MAX_PROB)
    raise ConfigError(f"hyperparameter {hp.name!r} of type {type(hp).__name__} has no "
                      "Optuna distribution")


def _suggest(trial, name, dist):
    """Asks Optuna ``trial`` for parameter ``name`` of distribution ``dist``."""
    dists = _optuna().distributions
    if isinstance(dist, dists.CategoricalDistribution):
        return trial.suggest_categorical(name, list(dist.choices))
    if isinstance(dist, dists.IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def _value(hp, param_name, param):
    """The keras-tuner value of an Optuna parameter."""
    if param_name.endswith(_UNIT_SUFFIX):
        return native(prob_to_value(hp, param))
    return native(param)


def _param(hp, param_name, value):
    """The Optuna parameter of a keras-tuner value (inverse of ``_value``)."""
    if param_name.endswith(_UNIT_SUFFIX):
        return min(max(float(hp.value_to_prob(value)), 0.0), MAX_PROB)
    return native(value)


class TPEOracle(SearchOracle):
    """Tree-structured Parzen Estimator search (Optuna's ``TPESampler``) as a keras-tuner
    Oracle.

    Every trial is one point asked of Optuna's TPE sampler. Values tried before are not
    run again: TPE is told the earlier score and asked again, and after ``max_collisions``
    repeats unseen random values are used (and told to TPE once they complete). Failed
    trials are told to TPE as failed, NaN scores as failed too; a trial sent for retry
    keeps its point until it ends. The direction of the objective is TPE's direction.
    ``get_state`` holds every point and result, and the sampler is seeded afresh for each
    point from ``seed`` and the number of points so far, so ``overwrite=False`` resumes
    exactly; under keras-tuner's chief/worker distribution the Oracle lives on the chief
    (Optuna's constant liar keeps parallel workers apart).

    Args:
        objective: A string, `keras_tuner.Objective` instance, or a list of
            `keras_tuner.Objective`s and strings, as for `keras_tuner.Oracle`.
        max_trials: Integer, the total number of trials to run at most. Defaults to 10.
        seed: Optional integer, the random seed.
        hyperparameters: Optional `HyperParameters` instance, to override or register
            hyperparameters in advance.
        n_startup_trials: Integer, random trials before TPE models the results
            (Optuna's default, 10).
        max_collisions: Integer, repeated points tolerated for one trial before random
            values are used. Defaults to 20.
        **kwargs: the other arguments of every `keras_tuner.Oracle`
            (``allow_new_entries``, ``tune_new_entries``, ``max_retries_per_trial``,
            ``max_consecutive_failed_trials``), and any keyword argument of
            ``optuna.samplers.TPESampler`` (``multivariate``, ``n_ei_candidates``,
            ``constant_liar``, ...).
    """

    _ORACLE_ARGUMENTS = ("allow_new_entries", "tune_new_entries", "max_retries_per_trial",
                         "max_consecutive_failed_trials")

    def __init__(self, objective=None, max_trials=10, seed=None, hyperparameters=None,
                 n_startup_trials=10, max_collisions=20, **kwargs):
        oracle_kwargs = {k: kwargs.pop(k) for k in self._ORACLE_ARGUMENTS if k in kwargs}
        super().__init__(objective=objective, max_trials=max_trials, seed=seed,
                         hyperparameters=hyperparameters, max_collisions=max_collisions,
                         **oracle_kwargs)
        optuna = _optuna()
        if int(n_startup_trials) < 0:
            raise ConfigError(f"n_startup_trials={n_startup_trials} must be >= 0")
        self.n_startup_trials = int(n_startup_trials)
        self.sampler_options = dict(kwargs)
        self._sampler(0)  # an unknown sampler argument fails here, before any trial
        self._direction = "maximize" if self.objective.direction == "max" else "minimize"
        self._optuna = optuna
        self._reset_study([])

    def _sampler(self, count):
        seed = (int(self.seed) * 1_000_003 + count) % 2**32
        return _optuna().samplers.TPESampler(n_startup_trials=self.n_startup_trials,
                                             seed=seed, **self.sampler_options)

    def _reset_study(self, records):
        """A fresh in-memory study holding ``records`` (the points asked so far)."""
        self._records = []  # one per study trial, in ask order
        self._open = {}  # keras-tuner trial id -> study trial number, still running
        self._study = self._optuna.create_study(direction=self._direction,
                                                sampler=self._sampler(0))
        for record in records:
            self._add(record)

    def _add(self, record):
        """Adds ``record`` (params, state, value, trial id) to the study as it stands."""
        dists = self._distributions(record["params"])
        state = self._optuna.trial.TrialState[record["state"]]
        self._study.add_trial(self._optuna.trial.create_trial(
            params=record["params"], distributions=dists, state=state,
            value=record["value"] if record["state"] == "COMPLETE" else None))
        self._records.append(dict(record))
        if record["state"] == "RUNNING" and record["trial_id"] is not None:
            self._open[record["trial_id"]] = len(self._records) - 1

    def _on_space_changed(self):
        # Optuna refuses a categorical distribution that changed: the study is rebuilt on
        # the new space, each point keeping only the values still allowed.
        categorical = self._optuna.distributions.CategoricalDistribution
        kept = []
        for record in self._records:
            dists = self._distributions(record["params"])
            params = {name: value for name, value in record["params"].items()
                      if not isinstance(dists.get(name), categorical)
                      or value in dists[name].choices}
            kept.append(dict(record, params=params))
        self._reset_study(kept)

    def _distributions(self, params):
        dists = {}
        for hp in self.hyperparameters.space:
            if isinstance(hp, hp_module.Fixed):
                continue
            name, dist = distribution(hp)
            if name in params:
                dists[name] = dist
        return dists

    def populate_space(self, trial_id):
        """Fill the hyperparameter space with values asked of TPE.

        Args:
            trial_id: A string, the ID for this Trial.

        Returns:
            A dictionary with keys "values" and "status": "RUNNING" with new values, or
            "STOPPED" (values None) once no unseen values can be found.
        """
        for _ in range(self._max_collisions + 1):
            self._study.sampler = self._sampler(len(self._records))
            asked = self._study.ask()
            params = {}

            def choose(hp, _, asked=asked, params=params):
                if isinstance(hp, hp_module.Fixed):
                    return hp.value
                name, dist = distribution(hp)
                params[name] = _suggest(asked, name, dist)
                return _value(hp, name, params[name])

            values = fill_active(self.hyperparameters.space, choose)
            number = len(self._records)
            self._records.append({"params": params, "state": "RUNNING", "value": None,
                                  "trial_id": trial_id})
            if not self._duplicate(values):
                self._open[trial_id] = number
                return self._stop_or_run(values)
            # Told the earlier result, TPE moves on from a point it already has.
            earlier = self._score_of(values)
            self._finish(number, earlier)
            self._records[number]["trial_id"] = None
        return self._stop_or_run(self._random_values())

    def _score_of(self, values):
        """The reward-direction score of the completed trial with ``values``, or None."""
        key = self._compute_values_hash(values)
        for trial in self._completed(self.end_order):
            if self._compute_values_hash(trial.hyperparameters.values) == key:
                return float(trial.score)
        return None

    def _finish(self, number, score):
        """Tells study trial ``number`` its score (None or NaN: failed)."""
        finite = score is not None and math.isfinite(float(score))
        state = self._optuna.trial.TrialState.COMPLETE if finite \
            else self._optuna.trial.TrialState.FAIL
        self._study.tell(number, float(score) if finite else None, state=state)
        self._records[number].update(state=state.name,
                                     value=float(score) if finite else None)

    @keras_tuner.synchronized
    def end_trial(self, trial):
        """Ends the trial as keras-tuner does, then tells TPE its score.

        Args:
            trial: The Trial to be ended, as for `keras_tuner.Oracle.end_trial`.
        """
        super().end_trial(trial)
        self._absorb(self.trials[trial.trial_id])
        self.save()

    def _absorb(self, trial):
        status = trial.status
        if status not in (trial_module.TrialStatus.COMPLETED, trial_module.TrialStatus.FAILED):
            return  # INVALID: sent for retry; its point waits for the rerun's result
        score = trial.score if status == trial_module.TrialStatus.COMPLETED else None
        if trial.trial_id in self._open:
            self._finish(self._open.pop(trial.trial_id), score)
            return
        # Random values used after repeated collisions: TPE never asked for them.
        params = {}
        for hp in self.hyperparameters.space:
            if not isinstance(hp, hp_module.Fixed) and hp.name in trial.hyperparameters.values:
                name, _ = distribution(hp)
                params[name] = _param(hp, name, trial.hyperparameters.values[hp.name])
        if any(r["trial_id"] == trial.trial_id for r in self._records):
            return  # already told (reload after an end that was saved)
        finite = score is not None and math.isfinite(float(score))
        self._add({"params": params, "state": "COMPLETE" if finite else "FAIL",
                   "value": float(score) if finite else None, "trial_id": trial.trial_id})

    def _awaiting(self):
        return list(self._open)

    def get_state(self):
        state = super().get_state()
        state["tpe"] = {"records": self._records}
        return state

    def set_state(self, state):
        super().set_state(state)
        self._reset_study((state.get("tpe") or {}).get("records", []))


class TPE(AtomicTunerStateMixin, tuner_module.Tuner):
    """TPE tuner: keras-tuner's `Tuner` driven by a `TPEOracle` (Optuna's TPE sampler).

    Args:
        hypermodel, objective, max_trials, seed, hyperparameters: as for
            `keras_tuner.RandomSearch` (``max_trials`` defaults to 10).
        n_startup_trials: Integer, random trials before TPE models the results.
        **kwargs: the other `TPEOracle` arguments (``max_collisions``,
            ``allow_new_entries``, ``tune_new_entries``, ``max_retries_per_trial``,
            ``max_consecutive_failed_trials``; TPESampler options are passed as
            ``sampler_options={...}``), and keyword arguments of every `Tuner`
            (``directory``, ``project_name``, ``overwrite``, ...).
    """

    def __init__(self, hypermodel=None, objective=None, max_trials=10, seed=None,
                 hyperparameters=None, n_startup_trials=10, sampler_options=None, **kwargs):
        self.seed = seed
        oracle_kwargs = {k: kwargs.pop(k) for k in
                         ("max_collisions",) + TPEOracle._ORACLE_ARGUMENTS if k in kwargs}
        oracle = TPEOracle(objective=objective, max_trials=max_trials, seed=seed,
                           hyperparameters=hyperparameters, n_startup_trials=n_startup_trials,
                           **oracle_kwargs, **(sampler_options or {}))
        super().__init__(oracle, hypermodel, **kwargs)
