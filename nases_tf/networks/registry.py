"""Each space's networks, keyed by space name: the standalone builder of an architecture and
the weight-sharing supernet (other spaces plug in with ``register_network`` and
``register_supernet``, as spaces do with ``spaces.register_space``); and the parameter count
of a built network."""

import numpy as np

from nases_tf.errors import ConfigError, SettingError
from nases_tf.networks.macro import build_macro_model
from nases_tf.networks.macro_supernet import MacroSupernet
from nases_tf.networks.micro import build_micro_model
from nases_tf.networks.micro_supernet import MicroSupernet

_NETWORKS = {"macro": build_macro_model, "micro": build_micro_model}
_SUPERNETS = {"macro": MacroSupernet, "micro": MicroSupernet}


def register_network(space_name, builder):
    """Makes ``builder`` the standalone network builder of the space called ``space_name``.

    Args:
        space_name: the space's ``name``.
        builder: ``builder(space, arch, filters=, num_classes=, input_shape=, **kwargs)``
            returning a Keras model that maps images to logits.
    """
    _NETWORKS[space_name] = builder


def register_supernet(space_name, supernet_class):
    """Makes ``supernet_class`` the weight-sharing supernet of the space called ``space_name``.

    Args:
        space_name: the space's ``name``.
        supernet_class: a ``Supernet`` subclass.
    """
    _SUPERNETS[space_name] = supernet_class


def has_supernet(space_name):
    """Whether the space called ``space_name`` has a weight-sharing supernet.

    Args:
        space_name: the space's ``name``.
    """
    return space_name in _SUPERNETS


def build_network(space, arch, filters=40, num_classes=10, input_shape=(32, 32, 3), **kwargs):
    """Standalone Keras model (logits) of ``arch`` in ``space``.

    Args:
        space: a search space with a registered network builder (``macro``, ``micro``).
        arch: the architecture.
        filters: channels of the first stage.
        num_classes: number of logits.
        input_shape: image shape.
        **kwargs: passed to the builder (``weight_decay``, ``name``).
    """
    if space.name not in _NETWORKS:
        raise ConfigError(f"search space {space.name!r} has no image network builder")
    return _NETWORKS[space.name](space, arch, filters=filters, num_classes=num_classes,
                                 input_shape=input_shape, **kwargs)


def build_supernet(space, filters=40, num_classes=10, input_shape=(32, 32, 3), **kwargs):
    """The weight-sharing supernet of ``space``, called with ``(images, arch)``.

    Args:
        space: a search space with a registered supernet (``macro``, ``micro``).
        filters: channels of the first stage.
        num_classes: number of logits.
        input_shape: image shape.
        **kwargs: passed to the supernet (``weight_decay``, ``name``).
    """
    if not has_supernet(space.name):
        raise SettingError("SearchConfig.reward", "weight_sharing",
                           f"needs a supernet, and search space {space.name!r} has none "
                           "(episodic rewards need none)")
    return _SUPERNETS[space.name](space, filters=filters, num_classes=num_classes,
                                  input_shape=input_shape, **kwargs)


def count_params(model):
    """Number of trainable parameters of a built Keras model (a Python int).

    Args:
        model: a built Keras model.
    """
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))
