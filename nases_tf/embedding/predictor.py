"""The reward models of the trust-region proposals: a regression with predictive
uncertainty (a Gaussian process or Bayesian linear regression), expected improvement, the
rank transform of the rewards it is fitted to, and the empirical-Bayes means of points
evaluated more than once."""

import numpy as np
from scipy import linalg, stats

from nases_tf.errors import ConfigError


def expected_improvement(mean, std, best):
    """Expected improvement over ``best`` of Gaussian predictions (maximization).

    Args:
        mean: float array, predicted means.
        std: float array of the same shape, predicted standard deviations.
        best: the reward to improve on.
    """
    std = np.maximum(std, 1e-9)
    z = (mean - best) / std
    return (mean - best) * stats.norm.cdf(z) + std * stats.norm.pdf(z)


def normal_scores(values):
    """Ranks of ``values`` mapped to standard-normal quantiles (ties share a rank).

    Rewards such as accuracies have a few far outliers (diverged runs) that would dominate a
    least-squares fit; their normal scores keep the order and drop the scale.

    Args:
        values: float array of shape ``(n,)``.
    """
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 1:
        return np.zeros(1)
    return stats.norm.ppf((stats.rankdata(values) - 0.5) / len(values))


def shrunk_means(groups):
    """Empirical-Bayes estimates of each point's true reward from its repeated rewards.

    Each point's true reward is modelled as drawn around a common level with variance
    ``tau2`` (the spread between points) and each reward as its truth plus noise of variance
    ``s2``. ``s2`` is the pooled variance of the repeated rewards; the level and ``tau2`` come
    from the better half of the points (by mean reward), which are the ones a search may
    return: ``tau2`` is the variance of their means minus the noise's share of it. A point
    with ``n`` rewards is estimated at ``level + tau2 / (tau2 + s2 / n) * (mean - level)``, so
    a point's lucky mean counts for less the noisier the rewards are and the fewer of them
    there are. With ``tau2`` near zero, the order is that of the summed excess over the
    level: racing, where a point stays ahead only by staying ahead as its rewards come in.

    Args:
        groups: dict key -> list of the rewards of one point (at least one each).

    Returns:
        ``(estimates, signal_share)``: dict key -> estimated true reward, and
        ``tau2 / (tau2 + s2)``, the share of one reward's variance that tells points apart
        (1 when repeated rewards agree exactly); or None while no point has two rewards.
    """
    means = {k: float(np.mean(v)) for k, v in groups.items()}
    counts = {k: len(v) for k, v in groups.items()}
    dof = sum(n - 1 for n in counts.values())
    if dof == 0:
        return None
    s2 = sum(float(np.sum((np.asarray(v) - means[k]) ** 2)) for k, v in groups.items()) / dof
    median = float(np.median(list(means.values())))
    better = [k for k in means if means[k] >= median]
    better_means = np.array([means[k] for k in better])
    level = float(better_means.mean())
    spread = float(better_means.var())
    # a floor keeps the estimates ordered by evidence when the noise explains all the spread
    tau2 = max(spread - float(np.mean([s2 / counts[k] for k in better])), 1e-3 * spread, 1e-12)
    estimates = {k: level + tau2 / (tau2 + s2 / counts[k]) * (means[k] - level) for k in means}
    return estimates, tau2 / (tau2 + s2)


class RewardPredictor:
    """A regression model of the reward with predictive uncertainty, refitted from scratch.

    The Gaussian process has a squared-exponential kernel of unit variance and a noise
    term: observations are one noisy evaluation each (one training run), so the predictor's
    mean at an evaluated point is a denoised estimate of its reward, pooled with its
    neighbours'.

    Args:
        kind: ``gp`` (Gaussian process; length scale and noise variance chosen by marginal
            likelihood on a grid) or ``linear`` (Bayesian linear regression with a ridge
            prior, its noise variance estimated from the residuals).
        ridge: prior precision of the linear model's weights (``linear`` only).
        length: the GP's length scale, or None to choose it (with ``noise``) by marginal
            likelihood.
        noise: the GP's noise variance (relative to the unit signal variance), or None.
    """

    KINDS = ("gp", "linear")
    # On one-hot features scaled by 1/sqrt(2), a squared distance is a count of differing
    # choices: these lengths put the kernel's 1/e point at 0.5 to 32 differences.
    _LENGTHS = (0.5, 0.71, 1.0, 1.41, 2.0, 2.83, 4.0)
    _NOISES = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)

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
            self.noise = noise
            self._fit = ("linear", w, np.linalg.inv(a), noise)
            return
        sq = _sq_dists(x, x)
        if self.length is None:
            self.length, self.noise = self._choose(sq, y)
        # the same factorization whether the hyperparameters were given or chosen, so a
        # model refitted from saved hyperparameters predicts exactly as the original did
        k = np.exp(-sq / (2.0 * self.length ** 2)) + self.noise * np.eye(len(x))
        chol = np.linalg.cholesky(k)
        inv_chol = linalg.solve_triangular(chol, np.eye(len(x)), lower=True)
        self._fit = ("gp", x, self.length, inv_chol.T, inv_chol.T @ (inv_chol @ y))

    def _choose(self, sq, y):
        """The grid's (length, noise) of the highest marginal likelihood."""
        best = None
        for length in self._LENGTHS:
            # one eigendecomposition serves every noise level of this length scale
            lam, vec = np.linalg.eigh(np.exp(-sq / (2.0 * length * length)))
            lam = np.maximum(lam, 0.0)
            proj = vec.T @ y
            for noise in self._NOISES:
                nll = 0.5 * np.sum(proj * proj / (lam + noise)) + 0.5 * np.sum(np.log(lam + noise))
                if best is None or nll < best[0]:
                    best = (nll, length, noise)
        return float(best[1]), float(best[2])

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
