"""Standalone Keras model of one ``macro`` architecture (paper 3.2 and appendix A).

Layer names are shared with the macro supernet (``op_layer_name``, ``reduction_name``), so
weights copy between the two by name.
"""

import keras
import numpy as np

from nases_tf import ops
from nases_tf.spaces.macro import MACRO_OPS


def op_layer_name(layer, op):
    """Name of the Keras layer holding ``op`` of macro layer ``layer``."""
    return f"layer{layer}_{MACRO_OPS[op] if isinstance(op, int) else op}"


def reduction_name(reduction, layer):
    """Name of the factorized reduction that brings layer ``layer``'s output past reduction
    number ``reduction``."""
    return f"reduce{reduction}_of{layer}"


def stage_filters(space, filters, layer):
    """Channels of layer ``layer``'s output: ``filters``, doubled after each reduction."""
    return filters * 2 ** sum(1 for point in space.reduction_after() if point < layer)


def output_needed(skips, layer, point):
    """Whether layer ``layer``'s output is used after the reduction that follows ``point``:
    as the next layer's input (``layer == point``) or as some later layer's skip."""
    return layer == point or any(skips[k][layer] for k in range(point + 1, len(skips)))


def build_macro_model(space, arch, filters=40, num_classes=10, input_shape=(32, 32, 3),
                      weight_decay=ops.WEIGHT_DECAY, name="macro_child"):
    """Builds the standalone Keras model (logits output) of macro architecture ``arch``.

    Args:
        space: the ``MacroSpace`` that ``arch`` belongs to.
        arch: the architecture (flat vector or anything ``space.validate`` accepts).
        filters: channels of the first stage, F (doubled at each reduction).
        num_classes: number of logits.
        input_shape: image shape (height, width, channels).
        weight_decay: L2 factor on every kernel.
        name: the model's name.
    """
    op_idx, skips = space.split(arch)
    inputs = keras.Input(shape=input_shape, name="images")
    x = ops.Stem(filters, weight_decay=weight_decay, name="stem")(inputs)
    outputs = []
    points = space.reduction_after()
    for i in range(space.layers):
        width = stage_filters(space, filters, i)
        op = ops.MacroOp(MACRO_OPS[op_idx[i]], width, project=i > 0,
                         weight_decay=weight_decay, name=op_layer_name(i, op_idx[i]))
        out = op(x)
        sources = [outputs[j] for j, bit in enumerate(skips[i]) if bit]
        if sources:
            out = keras.layers.Add(name=f"layer{i}_skips")([out] + sources)
        outputs.append(out)
        if i in points:
            r = points.index(i)
            outputs = [
                ops.FactorizedReduction(2 * width, weight_decay=weight_decay,
                                        name=reduction_name(r, j))(o)
                if output_needed(skips, j, i) else None
                for j, o in enumerate(outputs)]
        x = outputs[-1]
    logits = ops.ClassifierHead(num_classes, weight_decay=weight_decay, name="head")(x)
    return keras.Model(inputs, logits, name=name)


def count_params(model):
    """Number of trainable parameters of a built Keras model (a Python int)."""
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))
