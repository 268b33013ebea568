"""Anchored proposals: a trust region around the best point so far, unseen points only.

Where rewards are exact and queries few (the keras-tuner Oracle, NAS-Bench-201, episodic
search), NASES proposes around its *incumbent* (the best point so far) instead of walking
the paper's chain. A point is a *decision vector* ``u`` in ``[0, 1]^m`` (the unit encoding):
slot ``i`` is discrete with ``sizes[i]`` choices (choice ``c`` is the centre of
``[c/K, (c+1)/K)``) or continuous (``sizes[i] == 0``, any value in ``[0, 1]``). A discrete
slot whose choices are ordered may be marked *ordinal*: it then moves like a continuous
slot and is snapped to its choices.

The region around the incumbent holds the points that differ from it in at most ``radius``
active discrete slots, with every active continuous slot moved by at most ``step``
(a uniform step inside its unit interval). Like TuRBO's side length, the region grows after
``success_tolerance`` consecutive improvements and shrinks after ``failure_tolerance``
consecutive failures; when it holds no unseen point (or the continuous step has shrunk
below ``min_step``) the search restarts from a fresh point. No point is proposed twice.

Two learned parts rank the unseen candidates of the region, and both are switched off by
``learning=False`` (the frozen ablation: identical candidates, random order, no updates):

- a ``RewardPredictor`` (a Gaussian process or Bayesian linear regression) on the one-hot
  of the discrete slots, the values of the continuous and ordinal slots and, if asked
  (``embedding_weight``), the stage-1 simulator's embedding of the point; candidates are
  ranked by expected improvement;
- the REINFORCE policy, a Gaussian in embedding space whose mean is the embedding of the
  incumbent plus a learned offset (needs ``embed``); it adds its log-density, weighted by
  ``policy_weight`` (0 by default: it does not improve the ranking), to the predictor's
  score.

Pure numpy: the embedding comes in as a callable ``embed(units) -> (k, n) array``.
"""

import math

import numpy as np

from nases_tf.errors import ConfigError

_INACTIVE = -1.0  # key value of an inactive slot: two points differing only there are equal


def _std_normal_pdf(z):
    return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _std_normal_cdf(z):
    return 0.5 * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))


def expected_improvement(mean, std, best):
    """Expected improvement over ``best`` of Gaussian predictions (maximization).

    Args:
        mean: float array, predicted means.
        std: float array of the same shape, predicted standard deviations.
        best: the reward to improve on.
    """
    std = np.maximum(std, 1e-9)
    z = (mean - best) / std
    return (mean - best) * _std_normal_cdf(z) + std * _std_normal_pdf(z)


def normal_scores(values):
    """Ranks of ``values`` mapped to standard-normal quantiles (ties share a rank).

    Rewards such as accuracies have a few far outliers (diverged runs) that would dominate a
    least-squares fit; their normal scores keep the order and drop the scale.

    Args:
        values: float array of shape ``(n,)``.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 1:
        return np.zeros(1)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(n)
    ranks[order] = np.arange(n)
    # average the ranks of ties so equal rewards get equal targets
    _, inverse = np.unique(values, return_inverse=True)
    sums = np.bincount(inverse, weights=ranks)
    counts = np.bincount(inverse)
    ranks = sums[inverse] / counts[inverse]
    p = (ranks + 0.5) / n
    return math.sqrt(2.0) * _erfinv(2.0 * p - 1.0)


def _erfinv(x):
    # Giles' single-precision approximation, refined by two Newton steps.
    x = np.clip(np.asarray(x, dtype=np.float64), -1 + 1e-12, 1 - 1e-12)
    w = -np.log((1.0 - x) * (1.0 + x))
    small = w < 5.0
    ws = w - 2.5
    p1 = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):
        p1 = c + p1 * ws
    wl = np.sqrt(np.maximum(w, 5.0)) - 3.0
    p2 = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        p2 = c + p2 * wl
    y = np.where(small, p1, p2) * x
    erf = np.vectorize(math.erf)
    for _ in range(2):
        y = y - (erf(y) - x) / (2.0 / math.sqrt(math.pi) * np.exp(-y * y))
    return y


class RewardPredictor:
    """A regression model of the reward with predictive uncertainty, refitted from scratch.

    Args:
        kind: ``gp`` (Gaussian process, squared-exponential kernel, length scale and noise
            chosen by marginal likelihood on a small grid) or ``linear`` (Bayesian linear
            regression with a ridge prior).
        ridge: prior precision of the linear model's weights (``linear`` only).
        length: the GP's length scale, or None to choose it (with ``noise``) by marginal
            likelihood on a small grid.
        noise: the GP's noise variance (relative to the unit signal variance), or None.
    """

    KINDS = ("gp", "linear")
    _LENGTHS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
    _NOISES = (1e-3, 1e-2, 1e-1)

    def __init__(self, kind="gp", ridge=1.0, length=None, noise=None):
        if kind not in self.KINDS:
            raise ConfigError(f"predictor {kind!r} is unknown, expected one of {self.KINDS}")
        self.kind, self.ridge = kind, float(ridge)
        self.length, self.noise = length, noise
        self._fit = None

    def fit(self, features, targets):
        """Fits the model to ``features`` (float ``(n, d)``) and ``targets`` (float ``(n,)``).

        Args:
            features: float array ``(n, d)``.
            targets: float array ``(n,)``, already standardized by the caller.
        """
        x = np.asarray(features, dtype=np.float64)
        y = np.asarray(targets, dtype=np.float64)
        if self.kind == "linear":
            xb = np.hstack([x, np.ones((len(x), 1))])
            a = xb.T @ xb + self.ridge * np.eye(xb.shape[1])
            w = np.linalg.solve(a, xb.T @ y)
            resid = y - xb @ w
            noise = max(float(resid @ resid) / max(len(y) - 1, 1), 1e-3)
            self._fit = ("linear", w, np.linalg.inv(a), noise)
            return
        sq = _sq_dists(x, x)
        if self.length is not None:
            k = np.exp(-sq / (2.0 * self.length ** 2)) + self.noise * np.eye(len(x))
            chol = np.linalg.cholesky(k)
            inv_chol = np.linalg.solve(chol, np.eye(len(x)))
            self._fit = ("gp", x, self.length, inv_chol.T, inv_chol.T @ (inv_chol @ y))
            return
        best = None
        for length in self._LENGTHS:
            # one eigendecomposition serves every noise level of this length scale
            lam, vec = np.linalg.eigh(np.exp(-sq / (2.0 * length * length)))
            lam = np.maximum(lam, 0.0)
            proj = vec.T @ y
            for noise in self._NOISES:
                nll = 0.5 * np.sum(proj * proj / (lam + noise)) + 0.5 * np.sum(np.log(lam + noise))
                if best is None or nll < best[0]:
                    best = (nll, length, noise, lam, vec, proj)
        _, length, noise, lam, vec, proj = best
        self.length, self.noise = float(length), float(noise)
        self._fit = ("gp", x, length, vec / np.sqrt(lam + noise), vec @ (proj / (lam + noise)))

    def predict(self, features):
        """Predicted mean and standard deviation (float arrays ``(k,)``) at ``features``.

        Args:
            features: float array ``(k, d)``.
        """
        x = np.asarray(features, dtype=np.float64)
        if self._fit[0] == "linear":
            _, w, cov, noise = self._fit
            xb = np.hstack([x, np.ones((len(x), 1))])
            var = noise * np.einsum("ij,jk,ik->i", xb, cov, xb)
            return xb @ w, np.sqrt(np.maximum(var, 1e-12))
        _, xt, length, whitened, alpha = self._fit
        ks = np.exp(-_sq_dists(x, xt) / (2.0 * length * length))
        v = ks @ whitened
        var = 1.0 - np.sum(v * v, axis=1)
        return ks @ alpha, np.sqrt(np.maximum(var, 1e-12))


def _sq_dists(a, b):
    d = np.sum(a * a, 1)[:, None] + np.sum(b * b, 1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


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
        predictor: ``gp``, ``linear``, ``auto`` (``linear`` when every slot is an unordered
            choice, as in architecture spaces, whose rewards are close to additive in the
            choices; ``gp`` when some slot moves by a step, where the best value may lie
            inside an interval) or None (random ranking even when learning).
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
    """

    def __init__(self, sizes, learning=True, initial_points=10, region=None, predictor="auto",
                 candidates=256, restart_pool=1, active=None, embed=None,
                 embedding_weight=0.0, policy_weight=0.0, policy_learning_rate=0.1,
                 policy_sigma=0.5, seed=0, ordinal=None):
        self.sizes = [int(k) for k in sizes]
        if not self.sizes or min(self.sizes) < 0:
            raise ConfigError(f"proposal sizes {sizes} must be non-empty and non-negative")
        if predictor is not None and predictor not in RewardPredictor.KINDS + ("auto",):
            raise ConfigError(
                f"predictor {predictor!r} is unknown, expected auto or one of "
                f"{RewardPredictor.KINDS}")
        if policy_weight and embed is None:
            raise ConfigError("the policy scorer (policy_weight > 0) needs an embed callable")
        self.learning = bool(learning)
        self.initial_points = int(initial_points)
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
            predictor = "linear" if self._discrete.all() else "gp"
        self.predictor_kind = predictor
        self.rng = np.random.default_rng(seed)
        self.points, self.rewards = [], []
        self._seen = set()
        self.incumbent = None  # index into points of the anchor of the current region
        self.best = None  # index into points of the best point of the whole search
        self.restarts = 0
        self.policy_offset = None
        self._hyper = None  # [length, noise, observations when chosen] of the GP
        self._restarted = False  # the last proposal opened a fresh region

    # -- points ---------------------------------------------------------------------------

    def _mask(self, u):
        if self.active is None:
            return np.ones(len(self.sizes), dtype=bool)
        return np.asarray(self.active(np.asarray(u, dtype=np.float64)), dtype=bool)

    def _snap(self, u):
        # discrete slots at their choice's centre, continuous ones clipped to [0, 1]
        u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)
        for i, k in enumerate(self.sizes):
            if k:
                u[i] = (min(math.floor(u[i] * k), k - 1) + 0.5) / k
        return u

    def key(self, u):
        """The identity of a point: active slots' values, inactive slots ignored.

        Args:
            u: decision vector ``(m,)``.
        """
        u = self._snap(u)
        mask = self._mask(u)
        return tuple(round(float(v), 9) if on else _INACTIVE for v, on in zip(u, mask))

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
            for _ in range(self.num_candidates):
                cands.append(self._perturb(centre, disc, cont, radius))
        out, keys = [], set()
        for u in cands:
            k = self.key(u)
            if k not in self._seen and k not in keys:
                keys.add(k)
                out.append(u)
        return np.array(out).reshape(-1, len(self.sizes))

    def _perturb(self, centre, disc, cont, radius):
        u = centre.copy()
        slots = disc + cont
        # discrete edits: 1..radius, or 0..radius when continuous slots can move instead
        low = 0 if cont else 1
        count = int(self.rng.integers(low, min(radius, len(disc)) + 1)) if disc else 0
        for i in self.rng.permutation(disc)[:count]:
            k = self.sizes[i]
            old = min(int(u[i] * k), k - 1)
            new = int(self.rng.integers(k - 1))
            u[i] = ((new + (new >= old)) + 0.5) / k
        if cont:
            moving = [i for i in cont if self.rng.random() < max(1.0 / len(slots), 0.5)]
            if not moving and (count == 0 or self.rng.random() < 0.5):
                moving = [cont[int(self.rng.integers(len(cont)))]]
            for i in moving:
                u[i] = float(np.clip(u[i] + self.rng.uniform(-1, 1) * self.region.step, 0, 1))
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
        masks = np.array([self._mask(u) for u in units]).reshape(units.shape)
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

    def _scores(self, cands):
        """Ranking scores of candidate points (higher first); random when frozen."""
        noise = self.rng.random(len(cands))
        if not self.learning:
            return noise
        score = np.zeros(len(cands))
        if self.predictor_kind is not None and len(self.rewards_seen()) >= 2:
            xs, ys = self._training_set()
            model = self._predictor(len(ys))
            model.fit(self.features(xs), ys)
            if self._hyper is None or len(ys) >= 2 * self._hyper[2]:
                self._hyper = [model.length, model.noise, len(ys)]
            mean, std = model.predict(self.features(cands))
            score = score + expected_improvement(mean, std, float(np.max(ys)))
            score = score / (np.std(score) + 1e-12)
        if self.policy_weight and self.policy_offset is not None:
            e = np.asarray(self.embed(cands.astype(np.float32)), dtype=np.float64)
            mu = self._policy_mean()
            logp = -0.5 * np.sum(((e - mu) / self.policy_sigma) ** 2, axis=1)
            score = score + self.policy_weight * (logp - logp.mean()) / (logp.std() + 1e-12)
        return score + 1e-9 * noise

    def _predictor(self, count):
        # the GP's length scale and noise are chosen again each time the data doubles
        if self._hyper is None or count >= 2 * self._hyper[2]:
            return RewardPredictor(self.predictor_kind)
        return RewardPredictor(self.predictor_kind, length=self._hyper[0],
                               noise=self._hyper[1])

    def rewards_seen(self):
        """The rewards observed so far (failed evaluations left out)."""
        return [r for r in self.rewards if r is not None]

    def _training_set(self):
        idx = [i for i, r in enumerate(self.rewards) if r is not None]
        xs = np.array([self.points[i] for i in idx])
        ys = normal_scores([self.rewards[i] for i in idx])
        return xs, ys

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
        point of a finite space has been proposed."""
        point = None
        shrunk_away = self._has_continuous() and self.region.step < self.region.min_step
        if self.incumbent is not None and len(self.points) >= self.initial_points and \
                not shrunk_away:
            cands = self._neighbours(np.array(self.points[self.incumbent]))
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

    def register(self, point):
        """Records a point evaluated without being proposed (a user's values, a random
        fallback), so it is never proposed and ``observe`` accepts its reward.

        Args:
            point: decision vector ``(m,)``.
        """
        point = self._snap(point)
        if self.key(point) not in self._seen:
            self._seen.add(self.key(point))
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
        self._update_policy(self.points[index], reward)
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
            "rng": _jsonable(self.rng.bit_generator.state),
        }

    def set_state(self, state):
        """Restores ``get_state()``'s output (settings come from the constructor).

        Args:
            state: a dict from ``get_state``.
        """
        self.points = [[float(v) for v in p] for p in state["points"]]
        self.rewards = [None if r is None else float(r) for r in state["rewards"]]
        self._seen = {self.key(p) for p in self.points}
        self.incumbent, self.best = state["incumbent"], state["best"]
        self.restarts = int(state["restarts"])
        self._restarted = bool(state["restarted"])
        self.region.set_state(state["region"])
        offset = state["policy_offset"]
        self.policy_offset = None if offset is None else np.array(offset, dtype=np.float64)
        self._hyper = state["predictor_hyper"]
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
