"""One entry point that builds the weight-sharing supernet of a search space."""

from nases_tf.errors import ConfigError


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
