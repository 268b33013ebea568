"""What every weight-sharing supernet shares: the ``Supernet`` base class.

A supernet holds every op of every choice once, under the layer names of its space's
standalone builder, so weights copy between the two by name. It is called with
``(images, arch)``, ``arch`` the flat architecture vector as an int32 tensor, and runs only
that architecture's path; its graph does not depend on the architecture, so one traced
step serves them all.
"""

import functools

import keras
import tensorflow as tf

from nases_tf.networks import steps
from nases_tf.networks.layers import WEIGHT_DECAY
from nases_tf.spaces import space_from_config


def branch(layer, x, training):
    """A callable without arguments that runs ``layer`` on ``x``: one branch of a
    ``tf.switch_case`` or ``tf.cond``.

    Args:
        layer: a Keras layer.
        x: its input.
        training: the ``training`` flag it is called with.
    """
    return functools.partial(_call, layer, x, training)


def _call(layer, x, training):
    return layer(x, training=training)


class Supernet(keras.Model):
    """Base of the weight-sharing supernets: config, architecture tensor, weight copies to
    and from standalone models, and the search's train and eval steps.

    A subclass sets ``space_name`` (the ``space.name`` it serves), creates its layers in
    ``_create_layers`` and every variable in ``build`` (none may be created inside a
    ``tf.switch_case`` branch); the constructor calls both. Weights copy between layers of
    the same name; a subclass overrides ``_copy_layer`` for layers whose shapes differ from
    their standalone counterparts.

    Args:
        space: the search space (its ``name`` must be ``space_name``).
        filters: channels of the first stage, F.
        num_classes: number of logits.
        input_shape: image shape (height, width, channels).
        weight_decay: L2 factor on every kernel.
        **kwargs: passed to ``keras.Model`` (``name``, ``dtype``).
    """

    space_name = None

    def __init__(self, space, filters=40, num_classes=10, input_shape=(32, 32, 3),
                 weight_decay=WEIGHT_DECAY, **kwargs):
        kwargs.setdefault("name", f"{self.space_name}_supernet")
        super().__init__(**kwargs)
        if getattr(space, "name", None) != self.space_name:
            raise ValueError(f"{type(self).__name__} needs a {self.space_name} space, "
                             f"got {space!r}")
        self.space = space
        self.filters, self.num_classes = int(filters), int(num_classes)
        self.image_shape = tuple(int(s) for s in input_shape)
        self.weight_decay = float(weight_decay)
        self._create_layers()
        self.build()

    def _create_layers(self):
        """Creates the supernet's layers (the attributes ``call`` and ``build`` use)."""
        raise NotImplementedError

    def arch_tensor(self, arch):
        """``arch`` (anything ``space.validate`` accepts) as the int32 tensor ``call`` takes.

        Args:
            arch: the architecture.
        """
        return tf.constant(self.space.validate(arch), tf.int32)

    def get_config(self):
        return {"name": self.name, "space": self.space.config(), "filters": self.filters,
                "num_classes": self.num_classes, "input_shape": list(self.image_shape),
                "weight_decay": self.weight_decay}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["space"] = space_from_config(config["space"])
        config["input_shape"] = tuple(config["input_shape"])
        return cls(**config)

    # -- weights -------------------------------------------------------------------------

    def copy_weights_from(self, standalone):
        """Copies every weight (BN moving statistics included) of a standalone model of this
        space into the layers of the same names.

        Args:
            standalone: a model built by the space's network builder, same filters.
        """
        mine = self._layers_by_name()
        for layer in standalone.layers:
            if layer.weights:
                self._copy_layer(layer, self._lookup(mine, layer.name), to_supernet=True)

    def copy_weights_to(self, standalone):
        """Copies this supernet's weights into the layers of a standalone model of this
        space (all of its weights, BN moving statistics included).

        Args:
            standalone: a model built by the space's network builder, same filters.
        """
        mine = self._layers_by_name()
        for layer in standalone.layers:
            if layer.weights:
                self._copy_layer(self._lookup(mine, layer.name), layer, to_supernet=False)

    def _layers_by_name(self):
        return {layer.name: layer for layer in self.layers}

    def _lookup(self, layers, name):
        if name not in layers:
            raise ValueError(f"layer {name!r} of the standalone model has no counterpart in "
                             f"{self.name}: was it built for the same space?")
        return layers[name]

    def _copy_layer(self, source, target, to_supernet):
        """Copies the weights of layer ``source`` into layer ``target`` (the supernet's
        layer is ``target`` when ``to_supernet``)."""
        assign_weights(source, target, [w.value for w in source.weights])

    # -- the steps of the search loop ----------------------------------------------------

    def step_signature(self, batch_size=None):
        """Input signature ``(images, labels, arch)`` of the train and eval steps.

        Args:
            batch_size: fix the batch size (None: any).
        """
        return [tf.TensorSpec((batch_size,) + self.image_shape, tf.float32, name="images"),
                tf.TensorSpec((batch_size,), tf.int64, name="labels"),
                tf.TensorSpec((self.space.num_decisions,), tf.int32, name="arch")]

    def make_train_step(self, optimizer, batch_size=None):
        """One training step of the shared weights on one architecture's path.

        Returns a ``tf.function`` ``(images, labels, arch) -> (loss, accuracy)``: images
        float32 ``(batch, H, W, C)``, labels int64 ``(batch,)``, arch int32 ``(m,)``. Its
        input signature is fixed, so it is traced once for every architecture. The loss is
        ``steps.classification_loss`` (cross-entropy plus the L2 weight decay of every
        kernel); the gradients of all trainable variables are applied.

        A deliberate choice, as in ENAS: the ops an architecture does not take get exactly
        zero gradients from the data loss, but they are still updated: their L2 term has a
        gradient, and SGD momentum keeps moving them along their earlier updates.

        Args:
            optimizer: a Keras optimizer (a ``LossScaleOptimizer`` works too).
            batch_size: fix the batch size in the signature (None: any). A fixed size keeps
                every shape static, which makes the step faster on a CPU.
        """
        return steps.make_train_step(self, optimizer, self.step_signature(batch_size))

    def make_eval_step(self, batch_size=None):
        """Accuracy of one architecture on one (validation) batch, ENAS's reward.

        Returns a ``tf.function`` ``(images, labels, arch) -> accuracy`` (float32 scalar),
        traced once for every architecture. It runs the network with ``training=True``:
        batch statistics normalize, as in ENAS's reward computation, since the shared moving
        averages fit no single architecture. As a side effect the BN moving statistics of
        the path are updated; no weight is.

        Args:
            batch_size: fix the batch size in the signature (None: any, e.g. for a smaller
                last batch).
        """
        return steps.make_eval_step(self, self.step_signature(batch_size), training=True)


def assign_weights(source, target, values):
    """Assigns ``values`` (one per weight of layer ``source``) to the weights of ``target``,
    checking that both layers hold as many weights of the same shapes.

    Args:
        source: the layer the values come from (named in errors).
        target: the layer whose weights are assigned.
        values: the new values, in the order of ``target.weights``.
    """
    src, dst = source.weights, target.weights
    if len(src) != len(dst):
        raise ValueError(f"layer {source.name!r}: {len(src)} weights, {len(dst)} in the copy")
    for s, d, value in zip(src, dst, values):
        if tuple(value.shape) != tuple(d.shape):
            raise ValueError(f"layer {source.name!r}: weight {s.path} has shape {s.shape}, "
                             f"{d.path} has {d.shape}: built with other filters?")
        d.assign(value)
