"""The unit encoding: categorical decisions <-> points of the unit cube [0, 1]^m.

Choice ``c`` of a decision with ``K`` choices owns the interval ``[c/K, (c+1)/K)``.
Encoding a choice takes the interval's centre; decoding takes
``min(floor(a * K), K - 1)`` after clipping to ``[0, 1]``. This is the only place in
nases_tf that maps between choices and unit vectors (keras-tuner's ``value_to_prob`` /
``prob_to_value`` implement the same map for its hyperparameters).
"""

import numpy as np


def encode_choices(choices, sizes):
    """Returns the unit encoding (float32 array in (0, 1)) of integer ``choices``.

    Args:
        choices: int array-like of shape ``(..., m)``, choice ``i`` in ``[0, sizes[i])``.
        sizes: int array-like of shape ``(m,)``, the number of choices per decision.
    """
    choices = np.asarray(choices, dtype=np.float64)
    sizes = np.asarray(sizes, dtype=np.float64)
    return ((choices + 0.5) / sizes).astype(np.float32)


def decode_unit(unit, sizes):
    """Returns the integer choices (int64 array) that unit vector(s) ``unit`` fall into.

    Args:
        unit: float array-like of shape ``(..., m)``; values outside ``[0, 1]`` are clipped.
        sizes: int array-like of shape ``(m,)``, the number of choices per decision.
    """
    unit = np.clip(np.asarray(unit, dtype=np.float64), 0.0, 1.0)
    sizes = np.asarray(sizes, dtype=np.int64)
    return np.minimum(np.floor(unit * sizes).astype(np.int64), sizes - 1)
