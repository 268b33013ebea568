"""Standalone Keras model of one ``macro`` architecture (paper 3.2 and appendix A).

Layer names are shared with the macro supernet (``op_layer_name``, ``reduction_name``), so
weights copy between the two by name.
"""

import keras

from nases_tf.networks.layers import (OPS, WEIGHT_DECAY, CandidateOp, FactorizedReduction,
                                      classifier_head, merge_norm, stem_block)


def op_layer_name(layer, op):
    """Name of the Keras layer holding ``op`` of macro layer ``layer``.

    Args:
        layer: the macro layer's index.
        op: the op's index in ``OPS``, or its name.
    """
    return f"layer{layer}_{OPS[op] if isinstance(op, int) else op}"


def reduction_name(reduction, layer):
    """Name of the factorized reduction that brings layer ``layer``'s output past reduction
    number ``reduction``.

    Args:
        reduction: the reduction's number (0 or 1).
        layer: the index of the layer whose output is reduced.
    """
    return f"reduce{reduction}_of{layer}"


def merge_name(layer):
    """Name of the batch norm after macro layer ``layer``'s skip sum (every layer but the
    first has one, whether or not it has skips).

    Args:
        layer: the macro layer's index (at least 1).
    """
    return f"layer{layer}_merge"


def stage_filters(space, filters, layer):
    """Channels of layer ``layer``'s output: ``filters``, doubled after each reduction.

    Args:
        space: the ``MacroSpace``.
        filters: channels of the first stage, F.
        layer: the layer's index.
    """
    return filters * 2 ** sum(1 for point in space.reduction_after() if point < layer)


def op_layer(space, filters, layer, op, weight_decay):
    """The ``CandidateOp`` layer of ``op`` in macro layer ``layer``; its convolutions get a
    1x1 projection first except in the first layer.

    Args:
        space: the ``MacroSpace``.
        filters: channels of the first stage, F.
        layer: the layer's index.
        op: the op's index in ``OPS``, or its name.
        weight_decay: L2 factor on the kernels.
    """
    return CandidateOp(OPS[op] if isinstance(op, int) else op,
                       stage_filters(space, filters, layer), project=layer > 0,
                       weight_decay=weight_decay, name=op_layer_name(layer, op))


def reduction_layer(space, filters, reduction, layer, weight_decay):
    """The ``FactorizedReduction`` that brings layer ``layer``'s output past reduction number
    ``reduction`` (channels doubled).

    Args:
        space: the ``MacroSpace``.
        filters: channels of the first stage, F.
        reduction: the reduction's number.
        layer: the index of the layer whose output is reduced.
        weight_decay: L2 factor on the kernels.
    """
    point = space.reduction_after()[reduction]
    return FactorizedReduction(2 * stage_filters(space, filters, point),
                               weight_decay=weight_decay, name=reduction_name(reduction, layer))


def output_needed(skips, layer, point):
    """Whether layer ``layer``'s output is used after the reduction that follows ``point``:
    as the next layer's input (``layer == point``) or as some later layer's skip.

    Args:
        skips: per layer, its tuple of skip bits (``MacroSpace.split``).
        layer: the index of the layer whose output is asked about.
        point: the layer the reduction follows.
    """
    return layer == point or any(skips[k][layer] for k in range(point + 1, len(skips)))


def build_macro_model(space, arch, filters=40, num_classes=10, input_shape=(32, 32, 3),
                      weight_decay=WEIGHT_DECAY, name="macro_child"):
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
    x = stem_block(filters, weight_decay=weight_decay, name="stem")(inputs)
    outputs = []
    points = space.reduction_after()
    for i in range(space.layers):
        out = op_layer(space, filters, i, op_idx[i], weight_decay)(x)
        sources = [outputs[j] for j, bit in enumerate(skips[i]) if bit]
        if sources:
            out = keras.layers.Add(name=f"layer{i}_skips")([out] + sources)
        if i > 0:
            out = merge_norm(merge_name(i))(out)
        outputs.append(out)
        if i in points:
            r = points.index(i)
            outputs = [reduction_layer(space, filters, r, j, weight_decay)(o)
                       if output_needed(skips, j, i) else None
                       for j, o in enumerate(outputs)]
        x = outputs[-1]
    logits = classifier_head(num_classes, weight_decay=weight_decay, name="head")(x)
    return keras.Model(inputs, logits, name=name)

