"""Anchored proposals: a trust region around the best points so far, unseen points only.

Where queries are few (the keras-tuner Oracle, NAS-Bench-201, episodic search), NASES
proposes around its *incumbent* (the best point so far) instead of walking the paper's
chain. A point is a *decision vector* ``u`` in ``[0, 1]^m`` (the unit encoding):
slot ``i`` is discrete with ``sizes[i]`` choices (choice ``c`` is the centre of
``[c/K, (c+1)/K)``) or continuous (``sizes[i] == 0``, any value in ``[0, 1]``). A discrete
slot whose choices are ordered may be marked *ordinal*: it then moves like a continuous
slot and is snapped to its choices.

The region around a point holds the points that differ from it in at most ``radius``
active discrete slots, with every active continuous slot moved by at most ``step``
(a uniform step inside its unit interval). The candidates of a proposal are the unseen
points of the regions around the ``anchors`` best points so far. Like TuRBO's side length,
the region grows after ``success_tolerance`` consecutive improvements of the incumbent and
shrinks after ``failure_tolerance`` consecutive failures; when it holds no unseen point (or
the continuous step has shrunk below ``min_step``) the search restarts from a fresh point.
No point is proposed twice, except as a *confirmation*: when the rewards are noisy (the pick
model below fits a noise variance of at least ``confirm_noise``), every ``confirm_every``-th
proposal evaluates one of the best few points again, so that the point returned rests on
more than one training run. Once the repeated rewards show that the noise is at least as
large as the differences between the better half of the points (``race_below``), the search
*races* (``predictor.shrunk_means``): every ``race_every``-th proposal evaluates again one of
the best few points by their empirical-Bayes means (up to ``race_evaluations`` rewards), and
those means decide what the search returns. One reward then says little beyond "a good
point", and only a point that stays ahead as its rewards come in is returned.

Rewards are noisy (one training run each), so "best" is judged by a model of the rewards
at the evaluated points, not by the luckiest observation. The incumbent and the anchors
follow the reward predictor's posterior mean, and a success of the region is a change of
the incumbent. What a search returns (``best_index``, ``pick_scores``) is judged on the
rewards' own scale: a second Gaussian process, fitted to the standardized rewards (the worst
tenth clipped) rather than to their normal scores (which stretch the gaps between the top
few), ranks the evaluated points by its lower confidence bound, ``pick_caution`` standard
deviations below the mean, so that a lucky point with no support around it is not returned
over a point its neighbours confirm; while racing, the empirical-Bayes means decide. With
learning off (or no predictor) the observed rewards decide instead.

Two learned parts rank the unseen candidates, and both are switched off by
``learning=False`` (the frozen ablation: the same way of making candidates, random order,
the observed rewards choosing the anchors, no updates):

- a ``RewardPredictor`` (a Gaussian process with a fitted noise term, or Bayesian linear
  regression) on the one-hot of the discrete slots, the values of the continuous and
  ordinal slots and, if asked (``embedding_weight``), the stage-1 simulator's embedding of
  the point; candidates are ranked by expected improvement over the best posterior mean;
- the REINFORCE policy, a Gaussian in embedding space whose mean is the embedding of the
  incumbent plus a learned offset (needs ``embed``); it adds its log-density, weighted by
  ``policy_weight`` (0 by default: it does not improve the ranking), to the predictor's
  score.

Pure numpy: the embedding comes in as a callable ``embed(units) -> (k, n) array``.
"""

import math

import numpy as np

from nases_tf.embedding.predictor import (RewardPredictor, expected_improvement, normal_scores,
                                          shrunk_means)
from nases_tf.errors import ConfigError

_INACTIVE = -1.0  # key value of an inactive slot: two points differing only there are equal
_REFIT_GROWTH = 1.5  # the GP's hyperparameters are chosen again when the data grows this much
# The pick model sees the rewards with their worst tenth raised to the tenth percentile: a few
# diverged runs would otherwise set the scale, and the gaps among good points would look
# noise-free next to them, so the pick would follow the luckiest score.
_PICK_FLOOR_QUANTILE = 0.1


class TrustRegion:
    """The size of the region around the incumbent and TuRBO's rule for changing it.

    Args:
        radius: discrete edits allowed at the start (and after each restart).
        max_radius: the most discrete edits the region may grow to.
        step: half-width, in unit-interval units, of a continuous slot's move at the start.
        min_step: a continuous step below this is used up (the search restarts).
        max_step: the largest continuous step.
        success_tolerance: consecutive improvements that grow the region.
        failure_tolerance: consecutive failures that shrink it.
    """

    def __init__(self, radius=1, max_radius=1, step=0.2, min_step=0.01, max_step=0.5,
                 success_tolerance=3, failure_tolerance=8):
        if not 1 <= radius <= max_radius:
            raise ConfigError(f"trust region radius {radius} must lie in [1, {max_radius}]")
        if not 0 < min_step <= step <= max_step:
            raise ConfigError(
                f"trust region steps must satisfy 0 < {min_step} <= {step} <= {max_step}")
        self.initial_radius, self.max_radius = int(radius), int(max_radius)
        self.initial_step, self.min_step, self.max_step = float(step), float(min_step), float(max_step)
        self.success_tolerance = int(success_tolerance)
        self.failure_tolerance = int(failure_tolerance)
        self.reset()

    def reset(self):
        """Back to the initial size with cleared counters (a restart)."""
        self.radius, self.step = self.initial_radius, self.initial_step
        self.successes = self.failures = 0

    def record(self, improved):
        """Counts one result inside the region and grows or shrinks it.

        Args:
            improved: whether the result beat the incumbent.
        """
        if improved:
            self.successes, self.failures = self.successes + 1, 0
            if self.successes >= self.success_tolerance:
                self.radius = min(self.radius + 1, self.max_radius)
                self.step = min(2.0 * self.step, self.max_step)
                self.successes = 0
        else:
            self.successes, self.failures = 0, self.failures + 1
            if self.failures >= self.failure_tolerance:
                self.radius = max(self.radius - 1, 1)
                self.step = self.step / 2.0
                self.failures = 0

    def get_state(self):
        """JSON-able state."""
        return {"radius": self.radius, "step": self.step, "successes": self.successes,
                "failures": self.failures}

    def set_state(self, state):
        """Restores ``get_state()``'s output.

        Args:
            state: a dict from ``get_state``.
        """
        self.radius, self.step = int(state["radius"]), float(state["step"])
        self.successes, self.failures = int(state["successes"]), int(state["failures"])


class Proposer:
    """Proposes unseen decision vectors in a trust region around the best point so far.

    Call ``propose()`` for the next point (a list of floats in ``[0, 1]``), then
    ``observe(point, reward)`` with its reward (``None`` for a failed evaluation: the point
    stays seen, nothing learns from it). Rewards are maximized.

    Args:
        sizes: per slot, the number of choices of a discrete slot or 0 for a continuous one.
        learning: False gives the frozen ablation (random ranking, no predictor or policy).
        initial_points: random points proposed before the region is used.
        region: a ``TrustRegion`` (None: the default one).
        predictor: ``gp``, ``linear``, ``auto`` (``gp``: with noisy rewards it ranks and
            denoises better than the additive ``linear`` model, architecture spaces
            included) or None (random ranking even when learning).
        anchors: how many of the best points anchor a region of candidates.
        candidates: how many candidates to draw from a region too large to enumerate.
        restart_pool: random unseen points the predictor chooses a restart point from
            (1: a plain random restart).
        active: callable mapping a decision vector ``(m,)`` to a bool mask ``(m,)`` of the
            slots that count (keras-tuner's conditional hyperparameters); None: all.
        embed: callable mapping decision vectors ``(k, m)`` to embeddings ``(k, n)`` (the
            stage-1 simulator), used as predictor features and by the policy; or None.
        embedding_weight: scale of the embedding features relative to the one-hot ones
            (0: the predictor does not see the embedding).
        policy_weight: weight of the policy's log-density in the ranking (0: unused).
        policy_learning_rate: REINFORCE step size of the policy's offset.
        policy_sigma: standard deviation of the Gaussian policy.
        seed: seed of the proposer's random generator.
        ordinal: per slot, whether a discrete slot's choices are ordered (keras-tuner's Int,
            stepped Float, ordered Choice): such a slot moves by a continuous step and is
            snapped to its grid, and the predictor sees its value instead of a one-hot.
            None: no slot is ordinal.
        pick_caution: standard deviations of the pick model's posterior subtracted from its
            mean when choosing the point to return (0: the posterior mean itself).
        confirm_every: every this many proposals after the initial ones, one is a
            *confirmation*: a point evaluated before, proposed again for another reward
            (another training run); 0 never confirms. Only while learning, only while the
            pick model's fitted noise variance is at least ``confirm_noise``, and not once
            a confirmation has scored exactly as before with none scoring otherwise.
        confirm_noise: the pick model's noise variance, relative to the variance of the
            standardized rewards, below which nothing is confirmed: a deterministic or
            nearly noise-free objective spends every query on new points.
        confirm_top: a confirmation re-evaluates one of this many points with the best
            ``pick_scores``, the one with the fewest rewards.
        max_evaluations: a point with this many rewards is not confirmed again.
        race_below: the search races once the repeated rewards leave less than this share
            of one reward's variance to the differences between points (``shrunk_means``'s
            ``signal_share``): 0.5 when the noise variance exceeds their spread.
        race_every: while racing, every this many proposals after the initial ones, one
            evaluates again the point with the fewest rewards among the ``confirm_top``
            best by empirical-Bayes mean.
        race_evaluations: while racing, a point with this many rewards is not evaluated
            again.
    """

    def __init__(self, sizes, learning=True, initial_points=10, region=None, predictor="auto",
                 anchors=3, candidates=256, restart_pool=1, active=None, embed=None,
                 embedding_weight=0.0, policy_weight=0.0, policy_learning_rate=0.1,
                 policy_sigma=0.5, seed=0, ordinal=None, pick_caution=1.0, confirm_every=3,
                 confirm_noise=0.1, confirm_top=3, max_evaluations=3, race_below=0.5,
                 race_every=2, race_evaluations=5):
        self.sizes = [int(k) for k in sizes]
        if not self.sizes or min(self.sizes) < 0:
            raise ConfigError(f"proposal sizes {sizes} must be non-empty and non-negative")
        if predictor is not None and predictor not in RewardPredictor.KINDS + ("auto",):
            raise ConfigError(
                f"predictor {predictor!r} is unknown, expected auto or one of "
                f"{RewardPredictor.KINDS}")
        if policy_weight and embed is None:
            raise ConfigError("the policy scorer (policy_weight > 0) needs an embed callable")
        if int(anchors) < 1:
            raise ConfigError(f"anchors={anchors} must be at least 1")
        if not float(pick_caution) >= 0:
            raise ConfigError(f"pick_caution={pick_caution} must be a number >= 0")
        self.pick_caution = float(pick_caution)
        if int(confirm_every) < 0 or min(int(confirm_top), int(max_evaluations),
                                         int(race_every), int(race_evaluations)) < 1:
            raise ConfigError(f"confirm_every={confirm_every} must be >= 0, confirm_top="
                              f"{confirm_top}, max_evaluations={max_evaluations}, race_every="
                              f"{race_every} and race_evaluations={race_evaluations} >= 1")
        self.confirm_every = int(confirm_every)
        self.confirm_noise = float(confirm_noise)
        self.confirm_top = int(confirm_top)
        self.max_evaluations = int(max_evaluations)
        self.race_below = float(race_below)
        self.race_every = int(race_every)
        self.race_evaluations = int(race_evaluations)
        self.learning = bool(learning)
        self.initial_points = int(initial_points)
        self.anchors = int(anchors)
        self.region = region or TrustRegion()
        self.num_candidates = int(candidates)
        self.restart_pool = max(int(restart_pool), 1)
        self.active = active
        self.embed = embed
        self.embedding_weight = float(embedding_weight)
        self.policy_weight = float(policy_weight)
        self.policy_learning_rate = float(policy_learning_rate)
        self.policy_sigma = float(policy_sigma)
        ordinal = [False] * len(self.sizes) if ordinal is None else [bool(o) for o in ordinal]
        if len(ordinal) != len(self.sizes):
            raise ConfigError(f"ordinal has {len(ordinal)} entries for {len(self.sizes)} slots")
        # slots edited by choice (one-hot features) and slots moved by a step (value features)
        self._discrete = np.array([k > 0 and not o for k, o in zip(self.sizes, ordinal)])
        if predictor == "auto":
            predictor = "gp"
        self.predictor_kind = predictor
        self._sizes_float = np.array(self.sizes, dtype=np.float64)
        self._has_choices = self._sizes_float > 0
        self._all_active = np.ones(len(self.sizes), dtype=bool)
        self._all_active.setflags(write=False)
        self.rng = np.random.default_rng(seed)
        self.points, self.rewards = [], []
        self._seen = set()
        self.incumbent = None  # index into points of the anchor of the current region
        self.best = None  # index into points of the best point of the whole search
        self.restarts = 0
        self.policy_offset = None
        self._hyper = None  # [length, noise, observations when chosen] of the GP
        self._restarted = False  # the last proposal opened a fresh region
        self._observations = 0  # rewards recorded so far (the fitted model's key)
        self._fitted = None  # (observations, model, indices of the observed points)
        self._pick_hyper = None  # [length, noise, observations when chosen] of the pick GP
        self._pick_fitted = None  # (observations, pick model)
        self._racing_fitted = None  # (observations, empirical-Bayes means or None)

    # -- points ---------------------------------------------------------------------------

    def _mask(self, u):
        if self.active is None:
            return self._all_active
        return np.asarray(self.active(np.asarray(u, dtype=np.float64)), dtype=bool)

    def _snap(self, u):
        # discrete slots at their choice's centre, continuous ones clipped to [0, 1]; a
        # vector (m,) or a batch (n, m)
        u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)
        k = self._sizes_float[self._has_choices]
        u[..., self._has_choices] = (
            np.minimum(np.floor(u[..., self._has_choices] * k), k - 1) + 0.5) / k
        return u

    def key(self, u):
        """The identity of a point: active slots' values, inactive slots ignored.

        Args:
            u: decision vector ``(m,)``.
        """
        return self._keys(np.reshape(np.asarray(u, dtype=np.float64), (1, -1)))[0]

    def _keys(self, units):
        """``key`` of each row of ``units`` ``(n, m)``, snapped in one batch."""
        snapped = np.round(self._snap(units), 9)
        if self.active is not None:
            for row in snapped:
                row[~self._mask(row)] = _INACTIVE
        return [tuple(row) for row in snapped.tolist()]

    def is_seen(self, u):
        """Whether ``u`` (or a point equal to it on its active slots) was proposed.

        Args:
            u: decision vector ``(m,)``.
        """
        return self.key(u) in self._seen

    def _random_point(self):
        u = self.rng.random(len(self.sizes))
        return self._snap(u)

    def _random_unseen(self, count):
        out, keys, tries = [], set(), 0
        while len(out) < count and tries < 50 * count + 1000:
            tries += 1
            u = self._random_point()
            k = self.key(u)
            if k not in self._seen and k not in keys:
                keys.add(k)
                out.append(u)
        return out

    def _neighbours(self, centre):
        """Unseen candidates in the region around ``centre``, as an array ``(k, m)``."""
        mask = self._mask(centre)
        disc = [i for i in range(len(self.sizes)) if self._discrete[i] and mask[i]
                and self.sizes[i] > 1]
        cont = [i for i in range(len(self.sizes)) if not self._discrete[i] and mask[i]]
        radius = self.region.radius
        enumerable = not cont and _count_within(
            [self.sizes[i] - 1 for i in disc], radius) <= 4 * self.num_candidates
        cands = []
        if enumerable:
            for subset_values in _edits(disc, [self.sizes[i] for i in disc], radius, centre):
                u = centre.copy()
                for i, c in subset_values:
                    u[i] = (c + 0.5) / self.sizes[i]
                cands.append(u)
        else:
            cands = self._perturbations(centre, disc, cont, radius, self.num_candidates)
        cands = np.asarray(cands, dtype=np.float64).reshape(-1, len(self.sizes))
        out, keys = [], set()
        for u, k in zip(cands, self._keys(cands)):
            if k not in self._seen and k not in keys:
                keys.add(k)
                out.append(u)
        return np.array(out).reshape(-1, len(self.sizes))

    def _perturbations(self, centre, disc, cont, radius, count):
        """``count`` random points of the region around ``centre`` ``(count, m)``: each
        changes 1..radius discrete slots (0..radius when continuous slots can move instead)
        to another of their choices, and moves continuous slots by up to the region's step;
        every continuous slot moves with probability max(1/slots, 1/2), and a point that
        would otherwise equal ``centre`` moves one of them."""
        rng = self.rng
        u = np.tile(np.asarray(centre, dtype=np.float64), (count, 1))
        if disc:
            disc = np.asarray(disc)
            low = 0 if cont else 1
            edits = rng.integers(low, min(radius, len(disc)) + 1, size=count)
            # a random order of the discrete slots per point; the first ``edits`` change
            order = np.argsort(rng.random((count, len(disc))), axis=1)
            change = np.argsort(order, axis=1) < edits[:, None]
            k = self._sizes_float[disc]
            old = np.minimum(np.floor(u[:, disc] * k), k - 1)
            new = np.floor(rng.random((count, len(disc))) * (k - 1))
            new = new + (new >= old)
            u[:, disc] = np.where(change, (new + 0.5) / k, u[:, disc])
        else:
            edits = np.zeros(count, dtype=int)
        if cont:
            cont = np.asarray(cont)
            slots = len(disc) + len(cont)
            moving = rng.random((count, len(cont))) < max(1.0 / slots, 0.5)
            still = ~moving.any(axis=1) & ((edits == 0) | (rng.random(count) < 0.5))
            moving[still, rng.integers(len(cont), size=count)[still]] = True
            steps = rng.uniform(-1, 1, size=(count, len(cont))) * self.region.step
            u[:, cont] = np.clip(u[:, cont] + np.where(moving, steps, 0.0), 0.0, 1.0)
        return self._snap(u)

    # -- learned ranking ------------------------------------------------------------------

    def features(self, units):
        """Predictor features of decision vectors: one-hot of the active discrete slots,
        values of the active continuous slots (0.5 when inactive), and the scaled
        embedding when ``embed`` is given.

        Args:
            units: float array ``(k, m)``.
        """
        units = np.asarray(units, dtype=np.float64).reshape(-1, len(self.sizes))
        cols = []
        masks = np.ones(units.shape, dtype=bool) if self.active is None else \
            np.array([self._mask(u) for u in units]).reshape(units.shape)
        for i, k in enumerate(self.sizes):
            if self._discrete[i]:
                choice = np.minimum(np.floor(units[:, i] * k), k - 1).astype(int)
                onehot = np.eye(k)[choice] * masks[:, i:i + 1]
                cols.append(onehot / math.sqrt(2.0))  # two differing slots: distance 1
            else:
                cols.append(np.where(masks[:, i], units[:, i], 0.5)[:, None] * 2.0)
        if self.embed is not None and self.embedding_weight:
            e = np.asarray(self.embed(units.astype(np.float32)), dtype=np.float64)
            cols.append(self.embedding_weight * e)
        return np.hstack(cols)

    def _model(self):
        """The predictor fitted to every observed reward, or None (learning off, no
        predictor, or fewer than two rewards). Fitted once per new observation."""
        if not self.learning or self.predictor_kind is None:
            return None
        if self._fitted is not None and self._fitted[0] == self._observations:
            return self._fitted[1]
        idx = [i for i, r in enumerate(self.rewards) if r is not None]
        if len(idx) < 2:
            return None
        ys = normal_scores([self.rewards[i] for i in idx])
        model = self._predictor(len(ys))
        model.fit(self.features(np.array([self.points[i] for i in idx])), ys)
        if self._hyper is None or len(ys) >= _REFIT_GROWTH * self._hyper[2]:
            self._hyper = [model.length, model.noise, len(ys)]
        self._fitted = (self._observations, model, idx)
        return model

    def posterior_mean(self, units):
        """The predictor's mean reward (in normal-score units) at decision vectors
        ``units``, or None when there is no fitted predictor.

        Args:
            units: float array-like ``(k, m)``.
        """
        model = self._model()
        if model is None:
            return None
        units = np.asarray(units, dtype=np.float64).reshape(-1, len(self.sizes))
        return model.predict(self.features(units))[0]

    def ranked(self):
        """Indices of the points with an observed reward, best first: by the predictor's
        posterior mean when it is fitted (a denoised estimate), else by the reward itself;
        ties go to the earlier point."""
        idx = [i for i, r in enumerate(self.rewards) if r is not None]
        mean = self.posterior_mean([self.points[i] for i in idx]) if idx else None
        value = [self.rewards[i] for i in idx] if mean is None else list(mean)
        return [i for _, i in sorted(zip(value, idx), key=lambda t: (-t[0], t[1]))]

    def _pick_model(self):
        """The pick's Gaussian process, fitted to the standardized rewards (the worst tenth
        raised to the tenth percentile), or None (no fitted predictor). Fitted once per new
        observation."""
        if self._model() is None:
            return None
        if self._pick_fitted is not None and self._pick_fitted[0] == self._observations:
            return self._pick_fitted[1]
        idx = self._fitted[2]
        rewards = np.array([self.rewards[i] for i in idx])
        rewards = np.maximum(rewards, np.quantile(rewards, _PICK_FLOOR_QUANTILE))
        ys = (rewards - rewards.mean()) / (rewards.std() or 1.0)
        hyper = self._pick_hyper
        if hyper is None or len(ys) >= _REFIT_GROWTH * hyper[2]:
            model = RewardPredictor("gp")
        else:
            model = RewardPredictor("gp", length=hyper[0], noise=hyper[1])
        model.fit(self.features(np.array([self.points[i] for i in idx])), ys)
        if hyper is None or len(ys) >= _REFIT_GROWTH * hyper[2]:
            self._pick_hyper = [model.length, model.noise, len(ys)]
        self._pick_fitted = (self._observations, model)
        return model

    def pick_scores(self, units):
        """How the search ranks points for return (higher first): while racing, the
        empirical-Bayes mean of the rewards of each point (-inf for a point without one);
        otherwise the pick model's lower confidence bound at decision vectors ``units``; None
        without a fitted predictor.

        Args:
            units: float array-like ``(k, m)``.
        """
        model = self._pick_model()
        if model is None:
            return None
        units = np.asarray(units, dtype=np.float64).reshape(-1, len(self.sizes))
        racing = self._racing()
        if racing is not None:
            return np.array([racing.get(k, -np.inf) for k in self._keys(units)])
        mean, std = model.predict(self.features(units))
        return mean - self.pick_caution * std

    def best_index(self):
        """Index into ``points`` of the point the search would return, or None before any
        reward: the highest ``pick_scores`` among the evaluated points (ties to the earlier
        point), or the best reward without a fitted predictor."""
        idx = [i for i, r in enumerate(self.rewards) if r is not None]
        if not idx:
            return None
        score = self.pick_scores([self.points[i] for i in idx])
        value = [self.rewards[i] for i in idx] if score is None else list(score)
        return min(zip(value, idx), key=lambda t: (-t[0], t[1]))[1]

    def _scores(self, cands):
        """Ranking scores of candidate points (higher first); random when frozen."""
        noise = self.rng.random(len(cands))
        if not self.learning:
            return noise
        score = np.zeros(len(cands))
        model = self._model()
        if model is not None:
            mean, std = model.predict(self.features(cands))
            best = float(np.max(self.posterior_mean(
                [self.points[i] for i in self._fitted[2]])))
            score = score + expected_improvement(mean, std, best)
            score = score / (np.std(score) + 1e-12)
        if self.policy_weight and self.policy_offset is not None:
            e = np.asarray(self.embed(cands.astype(np.float32)), dtype=np.float64)
            mu = self._policy_mean()
            logp = -0.5 * np.sum(((e - mu) / self.policy_sigma) ** 2, axis=1)
            score = score + self.policy_weight * (logp - logp.mean()) / (logp.std() + 1e-12)
        return score + 1e-9 * noise

    def _predictor(self, count):
        # the GP's length scale and noise are chosen again each time the data grows by half
        if self._hyper is None or count >= _REFIT_GROWTH * self._hyper[2]:
            return RewardPredictor(self.predictor_kind)
        return RewardPredictor(self.predictor_kind, length=self._hyper[0],
                               noise=self._hyper[1])

    def rewards_seen(self):
        """The rewards observed so far (failed evaluations left out)."""
        return [r for r in self.rewards if r is not None]

    def _policy_mean(self):
        anchor = np.array([self.points[self.incumbent]], dtype=np.float32)
        return np.asarray(self.embed(anchor), dtype=np.float64)[0] + self.policy_offset

    def _update_policy(self, point, reward):
        # REINFORCE on the offset: advantage over the incumbent, scaled by the reward spread
        if not (self.learning and self.policy_weight) or self.incumbent is None:
            return
        e = np.asarray(self.embed(np.array([point], dtype=np.float32)), dtype=np.float64)[0]
        if self.policy_offset is None:
            self.policy_offset = np.zeros_like(e)
        spread = float(np.std(self.rewards_seen())) or 1.0
        adv = float(np.clip((reward - self.rewards[self.incumbent]) / spread, -2.0, 2.0))
        grad = (e - self._policy_mean()) / self.policy_sigma ** 2
        self.policy_offset = self.policy_offset + self.policy_learning_rate * adv * grad * \
            self.policy_sigma ** 2

    # -- the search -----------------------------------------------------------------------

    def propose(self):
        """The next point to evaluate: a list of floats in ``[0, 1]``, or None when every
        point of a finite space has been proposed. A confirmation (``confirm_every``)
        returns a point evaluated before; ``evaluations`` tells them apart."""
        point = self._confirmation()
        if point is not None:
            self.points.append(list(point))
            self.rewards.append(None)
            return list(point)
        shrunk_away = self._has_continuous() and self.region.step < self.region.min_step
        if self.incumbent is not None and len(self.points) >= self.initial_points and \
                not shrunk_away:
            cands = self._candidates()
            if len(cands):
                point = cands[int(np.argmax(self._scores(cands)))]
            elif self.region.radius < self.region.max_radius and not self._has_continuous():
                self.region.radius += 1  # the small region is used up: look one edit further
                return self.propose()
        if point is None:
            point = self._restart_point()
            if point is None:
                return None
        self._seen.add(self.key(point))
        self.points.append([float(v) for v in point])
        self.rewards.append(None)
        return list(self.points[-1])

    def _candidates(self):
        """The unseen points of the regions around the anchors, as an array ``(k, m)``: the
        incumbent and the next best points (``ranked``), ``anchors`` in all."""
        order = [self.incumbent] + [i for i in self.ranked() if i != self.incumbent]
        by_key = self._evaluations_by_key()
        anchor_keys = list(dict.fromkeys(self.key(self.points[i]) for i in order))
        out, keys = [], set()
        for i in [by_key[k][0] for k in anchor_keys[:self.anchors]]:
            for u in self._neighbours(np.array(self.points[i])):
                k = self.key(u)
                if k not in keys:
                    keys.add(k)
                    out.append(u)
        return np.array(out).reshape(-1, len(self.sizes))

    def _has_continuous(self):
        return bool(np.any(~self._discrete))

    def _restart_point(self):
        pool = self._random_unseen(self.restart_pool)
        if not pool:
            return None
        if len(self.points) >= self.initial_points and self.incumbent is not None:
            # a fresh region: counted as a restart
            self.restarts += 1
            self.region.reset()
            self._restarted = True
        pool = np.array(pool)
        if len(pool) == 1:
            return pool[0]
        return pool[int(np.argmax(self._scores(pool)))]

    def _evaluations_by_key(self):
        """key -> indices into ``points`` of its evaluations, in order."""
        out = {}
        if self.points:
            for i, k in enumerate(self._keys(np.array(self.points))):
                out.setdefault(k, []).append(i)
        return out

    def evaluations(self, point):
        """How many times ``point`` (or a point equal to it on its active slots) has been
        proposed or registered: more than 1 after a confirmation.

        Args:
            point: decision vector ``(m,)``.
        """
        return len(self._evaluations_by_key().get(self.key(point), ()))

    def _rewards_by_key(self, by_key=None):
        """key -> the rewards of its evaluations (failed and pending ones left out), for
        every point with at least one (``by_key``: ``_evaluations_by_key()``, if at hand)."""
        out = {}
        for k, idx in (by_key or self._evaluations_by_key()).items():
            rewards = [self.rewards[i] for i in idx if self.rewards[i] is not None]
            if rewards:
                out[k] = rewards
        return out

    def _racing(self):
        """The empirical-Bayes mean (key -> float) of every evaluated point while the search
        races, else None: learning with confirmations on, and repeated rewards whose noise
        leaves less than ``race_below`` of one reward's variance to the differences between
        points. Computed once per new reward."""
        if not (self.learning and self.confirm_every):
            return None
        if self._racing_fitted is None or self._racing_fitted[0] != self._observations:
            shrunk = shrunk_means(self._rewards_by_key())
            racing = None if shrunk is None or shrunk[1] >= self.race_below else shrunk[0]
            self._racing_fitted = (self._observations, racing)
        return self._racing_fitted[1]

    def _confirmation(self):
        """The point to evaluate again now, or None: the point with the fewest rewards
        among the ``confirm_top`` best by ``pick_scores`` (the better one on a tie) that has
        fewer than the most rewards allowed and no evaluation still waiting for one.

        While racing, every ``race_every``-th proposal after the initial ones, up to
        ``race_evaluations`` rewards a point. Otherwise every ``confirm_every``-th while the
        pick model's noise is at least ``confirm_noise``, up to ``max_evaluations``, and
        never again once confirmations have only ever repeated their first reward exactly."""
        if not (self.learning and self.confirm_every) or len(self.points) < self.initial_points:
            return None
        racing = self._racing() is not None
        every, most = (self.race_every, self.race_evaluations) if racing else \
            (self.confirm_every, self.max_evaluations)
        if (len(self.points) - self.initial_points + 1) % every:
            return None
        by_key = self._evaluations_by_key()
        rewards = self._rewards_by_key(by_key)
        repeated = [rs for rs in rewards.values() if len(rs) > 1]
        if repeated and all(max(rs) == min(rs) for rs in repeated):
            return None  # every confirmation scored exactly as before: a deterministic objective
        firsts = [by_key[k][0] for k in rewards]
        scores = self.pick_scores([self.points[i] for i in firsts]) if firsts else None
        if scores is None or not racing and self._pick_model().noise < self.confirm_noise:
            return None
        top = sorted(zip(scores, firsts), key=lambda t: (-t[0], t[1]))[:self.confirm_top]
        eligible = []
        for _, i in top:
            k = self.key(self.points[i])
            if len(rewards[k]) < most and self.rewards[by_key[k][-1]] is not None:
                eligible.append((len(rewards[k]), i))
        return self.points[min(eligible, key=lambda t: t[0])[1]] if eligible else None

    def register(self, point):
        """Records a point evaluated without being proposed (a user's values, a random
        fallback, another evaluation of a point), so it is never proposed and ``observe``
        accepts its reward.

        Args:
            point: decision vector ``(m,)``.
        """
        point = self._snap(point)
        key = self.key(point)
        if key in self._seen and self.rewards[self._evaluations_by_key()[key][-1]] is None:
            return
        self._seen.add(key)
        self.points.append([float(v) for v in point])
        self.rewards.append(None)

    def observe(self, point, reward):
        """Records the reward of a proposed point and moves the region.

        Args:
            point: a point returned by ``propose``.
            reward: its reward (higher is better), or None / NaN for a failed evaluation.
        """
        key = self.key(point)
        index = next((i for i in range(len(self.points) - 1, -1, -1)
                      if self.key(self.points[i]) == key), None)
        if index is None:
            raise ConfigError(f"point {list(point)} was never proposed")
        if reward is None or not math.isfinite(float(reward)):
            return
        reward = float(reward)
        self.rewards[index] = reward
        self._observations += 1
        self._update_policy(self.points[index], reward)
        if self._model() is not None:
            # noisy rewards: the incumbent is the best posterior mean, wherever it lies
            best = self.ranked()[0]
            if self.incumbent is not None and len(self.points) > self.initial_points:
                self.region.record(best != self.incumbent)
            self.best = self.incumbent = best
            self._restarted = False
            return
        if self.best is None or reward > self.rewards[self.best]:
            self.best = index
        if self.incumbent is None or self._restarted:
            self.incumbent, self._restarted = index, False
            return
        improved = reward > self.rewards[self.incumbent]
        if len(self.points) > self.initial_points:
            self.region.record(improved)
        if reward >= self.rewards[self.incumbent]:
            self.incumbent = index

    # -- state ----------------------------------------------------------------------------

    def get_state(self):
        """JSON-able state (native Python types) from which ``set_state`` resumes exactly."""
        return {
            "points": [list(p) for p in self.points],
            "rewards": list(self.rewards),
            "incumbent": self.incumbent,
            "best": self.best,
            "restarts": self.restarts,
            "restarted": self._restarted,
            "region": self.region.get_state(),
            "policy_offset": None if self.policy_offset is None
            else [float(v) for v in self.policy_offset],
            "predictor_hyper": None if self._hyper is None else
            [None if v is None else float(v) for v in self._hyper],
            "pick_hyper": None if self._pick_hyper is None else
            [float(v) for v in self._pick_hyper],
            "rng": _jsonable(self.rng.bit_generator.state),
        }

    def set_state(self, state):
        """Restores ``get_state()``'s output (settings come from the constructor).

        Args:
            state: a dict from ``get_state``.
        """
        self.points = [[float(v) for v in p] for p in state["points"]]
        self.rewards = [None if r is None else float(r) for r in state["rewards"]]
        self._observations = sum(r is not None for r in self.rewards)
        self._fitted = None
        self._seen = {self.key(p) for p in self.points}
        self.incumbent, self.best = state["incumbent"], state["best"]
        self.restarts = int(state["restarts"])
        self._restarted = bool(state["restarted"])
        self.region.set_state(state["region"])
        offset = state["policy_offset"]
        self.policy_offset = None if offset is None else np.array(offset, dtype=np.float64)
        self._hyper = state["predictor_hyper"]
        self._pick_hyper = state.get("pick_hyper")  # absent in states saved before the pick
        self._pick_fitted = self._racing_fitted = None
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = state["rng"]


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    return obj


def _count_within(alternatives, radius):
    """How many points differ from a centre in 1..radius slots (``alternatives[i]`` other
    values in slot ``i``)."""
    # elementary symmetric polynomials of the alternatives, up to the radius
    e = [1] + [0] * radius
    for a in alternatives:
        for r in range(radius, 0, -1):
            e[r] += e[r - 1] * a
    return sum(e[1:])


def _edits(slots, sizes, radius, centre):
    """Every change of 1..radius of ``slots`` to another value: lists of (slot, choice)."""
    current = {i: min(int(centre[i] * k), k - 1) for i, k in zip(slots, sizes)}
    size_of = dict(zip(slots, sizes))

    def rec(start, left):
        for j in range(start, len(slots)):
            i = slots[j]
            for c in range(size_of[i]):
                if c == current[i]:
                    continue
                yield [(i, c)]
                if left > 1:
                    for rest in rec(j + 1, left - 1):
                        yield [(i, c)] + rest

    yield from rec(0, radius)
