"""The statistics the benchmarks report: mean ± standard error over seeds, and the difference
of two such means in standard errors of the difference."""

import math

import numpy as np


def spread(values):
    """``(mean, std, se)`` of a 1-d array: std is the sample standard deviation (ddof=1; 0 for
    one value), se the standard error of the mean, ``std / sqrt(n)`` (None for one value).

    Args:
        values: a 1-d array-like of floats.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    std = float(np.std(values, ddof=1)) if n > 1 else 0.0
    return float(np.mean(values)), std, (std / math.sqrt(n) if n > 1 else None)


def difference(cell, other, sign=1.0):
    """``sign * (cell mean - other mean)`` and its standard error, the runs being
    independent: ``sqrt(se1^2 + se2^2)``.

    Args:
        cell: a dict with ``mean`` and ``se`` (None for one seed).
        other: the same for the peer.
        sign: -1 where lower is better, so that a positive difference favours ``cell``.

    Returns:
        ``{"difference", "se", "z"}``; ``se`` and ``z`` are None when a side has one seed.
    """
    diff = sign * (cell["mean"] - other["mean"])
    se = None if cell["se"] is None or other["se"] is None else \
        math.sqrt(cell["se"] ** 2 + other["se"] ** 2)
    return {"difference": diff, "se": se, "z": None if not se else diff / se}
