"""One entry point that builds the standalone Keras model of any space's architecture."""

from nases_tf.errors import ConfigError
from nases_tf.networks.macro import build_macro_model
from nases_tf.networks.micro import build_micro_model


def build_model(space, arch, filters=40, num_classes=10, input_shape=(32, 32, 3)):
    """Standalone Keras model (logits) of ``arch`` in ``space``.

    Args:
        space: a search space with a network builder (``macro``, ``micro``).
        arch: the architecture.
        filters: channels of the first stage.
        num_classes: number of logits.
        input_shape: image shape.
    """
    if space.name == "macro":
        return build_macro_model(space, arch, filters=filters, num_classes=num_classes,
                                 input_shape=input_shape)
    if space.name == "micro":
        # N (cells per stage) and B (nodes) come from the space itself.
        return build_micro_model(space, arch, filters=filters, num_classes=num_classes,
                                 input_shape=input_shape)
    raise ConfigError(f"--space={space.name} has no image network builder")
