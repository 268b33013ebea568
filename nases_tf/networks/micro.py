"""Standalone Keras model of one ``micro`` (ENAS cell) architecture, and the cell layout
the micro supernet shares.

The network (ENAS's micro child): a stem (3x3 conv + BN to ``3 F`` channels, as ENAS),
three stages of N normal cells separated by two reduction cells (stride 2, channels x2:
F, 2F, 4F), then ReLU, global average pooling and a dense layer.

A cell of width C takes the two previous cell outputs ``(h_{k-2}, h_{k-1})`` (the stem
output for both in the first cell, the stem and cell 0 in the second) and brings both to C
channels: a 1x1 ReLU-conv-BN, or a ``FactorizedReduction`` for ``h_{k-2}`` when it has twice
the resolution of ``h_{k-1}`` (right after a reduction cell). Node ``i`` adds
``op_a(input_a) + op_b(input_b)``. In a reduction cell, ops applied to a cell input (0 or 1)
have stride 2 (separable convs and pools with stride 2; identity becomes a
``FactorizedReduction``), ops on nodes stride 1. The cell output concatenates the nodes no
other node reads (``CellOutput``) and a 1x1 ReLU-conv-BN brings the result to C channels.

Layer names are shared with the micro supernet (``cell_layer_name``), so weights copy
between the two by name; ``CellOutput`` layers copy the rows of their kernel.
"""

import keras

from nases_tf.networks.layers import (OPS, WEIGHT_DECAY, CandidateOp, CellOutput,
                                      FactorizedReduction, ReLUConvBN, classifier_head,
                                      stem_block)
from nases_tf.spaces.micro import CELL_KINDS

# ENAS's micro separable convolution: two separable ReLU-conv-BN blocks.
SEPARABLE_REPEATS = 2


def cell_plan(space, filters):
    """One entry per cell, in order: ``(kind, width, reduce_prev)`` with ``kind`` in
    ``CELL_KINDS``, ``width`` its channels, and ``reduce_prev`` whether its input
    ``h_{k-2}`` has twice the resolution of ``h_{k-1}`` (the previous cell reduced).

    Args:
        space: the ``MicroSpace`` (its ``cells_per_stage`` is N).
        filters: channels of the first stage, F.
    """
    plan, width, previous = [], int(filters), None
    for stage in range(3):
        if stage:
            width *= 2
            plan.append(("reduction", width, previous == "reduction"))
            previous = "reduction"
        for _ in range(space.cells_per_stage):
            plan.append(("normal", width, previous == "reduction"))
            previous = "normal"
    return plan


def cell_layer_name(cell, part):
    """Name of the Keras layer ``part`` of cell ``cell``.

    Args:
        cell: the cell's index in the network.
        part: ``pre0``, ``pre1``, ``out``, ``node2``, or an ``op_part``.
    """
    return f"cell{cell}_{part}"


def op_part(node, slot, op, strides):
    """``part`` name of op ``op`` of ``slot`` of node ``node``.

    Args:
        node: the node's index in its cell (0-based; numbered ``node + 2``).
        slot: ``a`` or ``b``.
        op: the op's index in ``OPS``, or its name.
        strides: 1 or 2.
    """
    name = OPS[op] if isinstance(op, int) else op
    return f"node{node + 2}{slot}_{name}" + ("_s2" if strides == 2 else "")


def preprocess_layer(cell, which, width, reduce, weight_decay):
    """The layer that brings cell input ``which`` to ``width`` channels.

    Args:
        cell: the cell's index in the network.
        which: 0 (``h_{k-2}``) or 1 (``h_{k-1}``).
        width: the cell's channels.
        reduce: halve the resolution (a ``FactorizedReduction``, not a 1x1 ReLU-conv-BN).
        weight_decay: L2 factor on the kernels.
    """
    name = cell_layer_name(cell, f"pre{which}")
    if reduce:
        return FactorizedReduction(width, weight_decay=weight_decay, name=name)
    return ReLUConvBN(width, 1, weight_decay=weight_decay, name=name)


def op_layer(cell, node, slot, op, width, strides, weight_decay):
    """The ``CandidateOp`` layer of op ``op`` of ``slot`` of node ``node`` in cell ``cell``.

    Args:
        cell: the cell's index in the network.
        node: the node's index in its cell (0-based).
        slot: ``a`` or ``b``.
        op: the op's index in ``OPS``, or its name.
        width: the cell's channels.
        strides: 1 or 2.
        weight_decay: L2 factor on the kernels.
    """
    return CandidateOp(OPS[op] if isinstance(op, int) else op, width, strides=strides,
                       separable_repeats=SEPARABLE_REPEATS, weight_decay=weight_decay,
                       name=cell_layer_name(cell, op_part(node, slot, op, strides)))


def op_strides(kind, source):
    """Stride of an op reading input number ``source`` in a cell of ``kind``.

    Args:
        kind: ``normal`` or ``reduction``.
        source: the input's number (0, 1: cell inputs; 2 and up: nodes).
    """
    return 2 if kind == "reduction" and source < 2 else 1


def build_micro_model(space, arch, filters=40, num_classes=10, input_shape=(32, 32, 3),
                      weight_decay=WEIGHT_DECAY, name="micro_child"):
    """Builds the standalone Keras model (logits output) of micro architecture ``arch``.

    Args:
        space: the ``MicroSpace`` that ``arch`` belongs to (its ``cells_per_stage`` is N).
        arch: the architecture (flat vector or anything ``space.validate`` accepts).
        filters: channels of the first stage, F (doubled at each reduction cell).
        num_classes: number of logits.
        input_shape: image shape (height, width, channels).
        weight_decay: L2 factor on every kernel.
        name: the model's name.
    """
    cells = dict(zip(CELL_KINDS, space.split(arch)))
    inputs = keras.Input(shape=input_shape, name="images")
    stem = stem_block(3 * filters, weight_decay=weight_decay, name="stem")(inputs)
    prev2 = prev1 = stem
    wd = weight_decay
    for c, (kind, width, reduce_prev) in enumerate(cell_plan(space, filters)):
        cell = cells[kind]
        states = [preprocess_layer(c, 0, width, reduce_prev, wd)(prev2),
                  preprocess_layer(c, 1, width, False, wd)(prev1)]
        for i, (in_a, op_a, in_b, op_b) in enumerate(cell):
            terms = []
            for slot, source, op in (("a", in_a, op_a), ("b", in_b, op_b)):
                layer = op_layer(c, i, slot, op, width, op_strides(kind, source), wd)
                terms.append(layer(states[source]))
            states.append(keras.layers.Add(name=cell_layer_name(c, f"node{i + 2}"))(terms))
        loose = space.unused_nodes(cell)
        out = CellOutput(width, loose, weight_decay=wd, name=cell_layer_name(c, "out"))(
            [states[n] for n in loose])
        prev2, prev1 = prev1, out
    logits = classifier_head(num_classes, weight_decay=wd, name="head")(prev1)
    return keras.Model(inputs, logits, name=name)
