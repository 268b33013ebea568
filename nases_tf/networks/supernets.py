"""What the weight-sharing supernets share: their config mixin and one builder entry point."""

import tensorflow as tf

from nases_tf.errors import ConfigError


class SupernetConfigMixin:
    """What every supernet shares: its Keras config (space, filters, classes, input shape,
    weight decay) and turning an architecture into the int32 tensor its ``call`` takes.

    Put it before ``keras.Model`` in the bases; the class sets ``space``, ``filters``,
    ``num_classes``, ``image_shape`` and ``weight_decay``.
    """

    def arch_tensor(self, arch):
        """``arch`` (anything ``space.validate`` accepts) as the int32 tensor ``call`` takes."""
        return tf.constant(self.space.validate(arch), tf.int32)

    def get_config(self):
        return {"name": self.name, "space": self.space.config(), "filters": self.filters,
                "num_classes": self.num_classes, "input_shape": list(self.image_shape),
                "weight_decay": self.weight_decay}

    @classmethod
    def from_config(cls, config):
        from nases_tf.spaces import space_from_config

        config = dict(config)
        config["space"] = space_from_config(config["space"])
        config["input_shape"] = tuple(config["input_shape"])
        return cls(**config)


def build_supernet(space, filters=40, num_classes=10, input_shape=(32, 32, 3)):
    """The supernet of ``space`` (``macro`` or ``micro``), called with ``(images, arch)``.

    Args:
        space: the search space.
        filters: channels of the first stage.
        num_classes: number of logits.
        input_shape: image shape.
    """
    if space.name == "macro":
        from nases_tf.networks.macro_supernet import MacroSupernet
        return MacroSupernet(space, filters=filters, num_classes=num_classes,
                             input_shape=input_shape)
    if space.name == "micro":
        from nases_tf.networks.micro_supernet import MicroSupernet
        return MicroSupernet(space, filters=filters, num_classes=num_classes,
                             input_shape=input_shape)
    raise ConfigError(f"--reward=weight_sharing has no supernet for --space={space.name}; "
                      "use --reward=episodic")
