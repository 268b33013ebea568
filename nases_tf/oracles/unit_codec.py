"""keras-tuner hyperparameter values <-> unit vectors: the Oracle's decision encoding.

Each tunable hyperparameter (every type but ``Fixed``) owns one slot of a vector in
``[0, 1]^m``; a slot maps to values through the hyperparameter's own ``prob_to_value`` and
back through ``value_to_prob`` (the unit encoding of ``nases_tf.encoding`` for Choice,
Boolean and Int; the Float's own scale for Floats). Only *active* hyperparameters of a
conditional space take values; the slots of inactive ones are ignored.
"""

import numpy as np
from keras_tuner.engine import hyperparameters as hp_module

from nases_tf.oracles.base import fill_active

# The largest probability handed to ``prob_to_value``: an ``Int`` without ``step`` maps a
# probability of exactly 1.0 to ``max_value + 1``.
MAX_PROB = 1.0 - 1e-7


def tunable_names(space):
    """Names of the tunable (non-``Fixed``) hyperparameters of ``space``, first seen first.

    Args:
        space: a list of keras-tuner ``HyperParameter`` objects.
    """
    names = []
    for hp in space:
        if not isinstance(hp, hp_module.Fixed) and hp.name not in names:
            names.append(hp.name)
    return names


def slot_size(hp):
    """How many values slot ``hp`` can take, or 0 for a continuous slot (a ``Float``
    without step, or any log-sampled ``Int``/``Float``, whose values are not evenly spaced
    in the unit interval).

    Args:
        hp: a keras-tuner ``HyperParameter``.
    """
    if isinstance(hp, (hp_module.Int, hp_module.Float)) and hp.sampling != "linear":
        return 0
    if isinstance(hp, hp_module.Float) and hp.step is None:
        return 0
    return len(list(hp.values))


def is_ordinal(hp):
    """Whether the values of discrete slot ``hp`` are ordered (an ``Int``, a stepped
    ``Float``, an ordered ``Choice``), so that neighbouring values are alike.

    Args:
        hp: a keras-tuner ``HyperParameter``.
    """
    if isinstance(hp, (hp_module.Int, hp_module.Float)):
        return True
    return bool(getattr(hp, "ordered", False))


def prob_to_value(hp, prob):
    """The value of ``hp`` at unit position ``prob``, clipped into its range.

    Args:
        hp: a keras-tuner ``HyperParameter``.
        prob: a float (clipped to [0, MAX_PROB]).
    """
    value = hp.prob_to_value(min(max(float(prob), 0.0), MAX_PROB))
    if isinstance(hp, hp_module.Int):
        value = int(min(max(value, hp.min_value), hp.max_value))
    elif isinstance(hp, hp_module.Float):
        value = float(min(max(value, hp.min_value), hp.max_value))
    return value


class UnitCodec:
    """Maps between a space's active values and unit vectors with one slot per name.

    Args:
        names: the slot names, in order (``tunable_names`` of the space, grown over time).
    """

    def __init__(self, names):
        self.names = list(names)
        self.index = {name: i for i, name in enumerate(self.names)}

    def _by_name(self, space):
        by_name = {}
        for hp in space:
            by_name.setdefault(hp.name, hp)
        return by_name

    def sizes(self, space):
        """Values per slot (0: continuous or unknown), in slot order.

        Args:
            space: a list of keras-tuner ``HyperParameter`` objects.
        """
        by_name = self._by_name(space)
        return [slot_size(by_name[n]) if n in by_name else 0 for n in self.names]

    def ordinal(self, space):
        """Per slot, whether its values are ordered (see ``is_ordinal``).

        Args:
            space: a list of keras-tuner ``HyperParameter`` objects.
        """
        by_name = self._by_name(space)
        return [n in by_name and is_ordinal(by_name[n]) for n in self.names]

    def active(self, space):
        """A function unit vector -> bool mask of the slots active at its values, or None
        when no hyperparameter of ``space`` is conditional.

        Args:
            space: a list of keras-tuner ``HyperParameter`` objects.
        """
        if not any(hp.conditions for hp in space):
            return None
        # which slots are active depends only on the values of the conditions' parents
        by_name = {hp.name: hp for hp in space}
        parents = sorted({c.name for hp in space for c in hp.conditions
                          if c.name in self.index and c.name in by_name})
        masks = {}

        def mask(unit):
            key = (len(self.names),) + tuple(
                prob_to_value(by_name[name], unit[self.index[name]]) for name in parents)
            if key not in masks:
                values = self.to_values(space, unit)
                masks[key] = [name in values for name in self.names]
            return masks[key]
        return mask

    def to_values(self, space, unit):
        """Active values of ``space`` for ``unit`` (names without a slot take their default).

        Args:
            space: a list of keras-tuner ``HyperParameter`` objects.
            unit: a unit vector with one entry per slot.
        """
        def choose(hp, _):
            if hp.name in self.index:
                return prob_to_value(hp, unit[self.index[hp.name]])
            return hp.default
        return fill_active(space, choose)

    def to_unit(self, space, values, base):
        """The unit vector of ``values``; slots without an active value keep ``base``'s.

        Args:
            space: a list of keras-tuner ``HyperParameter`` objects.
            values: dict name -> value (a trial's values).
            base: a unit vector to start from.
        """
        unit = np.array(base, np.float32)

        def choose(hp, _):
            value = values.get(hp.name, hp.default)
            known = not isinstance(hp, hp_module.Choice) or value in hp.values
            if hp.name in self.index and hp.name in values and known:
                unit[self.index[hp.name]] = min(max(hp.value_to_prob(value), 0.0), 1.0)
            return value
        fill_active(space, choose)
        return unit

    def pad(self, unit, fill=0.5):
        """``unit`` extended with ``fill`` to the current number of slots.

        Args:
            unit: a unit vector made when there were fewer slots.
            fill: the value of the new slots.
        """
        unit = list(unit)
        return unit + [fill] * (len(self.names) - len(unit))
