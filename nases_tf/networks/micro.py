"""Standalone Keras model of one ``micro`` (ENAS cell) architecture, and its layers.

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
import tensorflow as tf

from nases_tf import ops
from nases_tf.spaces.micro import CELL_KINDS, MICRO_OPS

_PACKAGE = "nases_tf"


def _max_pool_grad(x, y, dy, strides):
    return tf.raw_ops.MaxPoolGrad(orig_input=x, orig_output=y, grad=dy, ksize=[1, 3, 3, 1],
                                  strides=[1, strides, strides, 1], padding="SAME")


@tf.custom_gradient
def _max_pool_3x3_s2(x):
    y = tf.nn.max_pool2d(x, 3, 2, "SAME")

    def grad(dy):
        # As ops._max_pool_3x3: recompute to stay on oneDNN's fast path inside a switch.
        return _max_pool_grad(x, tf.nn.max_pool2d(x, 3, 2, "SAME"), dy, 2)

    return y, grad


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MicroOp(keras.layers.Layer):
    """One op of a micro cell node (an entry of ``MICRO_OPS``), with stride 1 or 2.

    Separable convolutions are ENAS's: twice ReLU, separable conv, BN (the first with the
    stride). Pools hold no weights; identity with stride 2 is a ``FactorizedReduction``.
    Input and output have ``filters`` channels.

    Args:
        op: one of ``identity, sep_conv_3x3, sep_conv_5x5, avg_pool_3x3, max_pool_3x3``.
        filters: channels of the input and output.
        strides: 1, or 2 (halves the resolution).
        weight_decay: L2 factor on the kernels.
    """

    def __init__(self, op, filters, strides=1, weight_decay=ops.WEIGHT_DECAY, **kwargs):
        super().__init__(**kwargs)
        if op not in MICRO_OPS:
            raise ValueError(f"unknown micro op {op!r}")
        if int(strides) not in (1, 2):
            raise ValueError(f"micro op strides must be 1 or 2, got {strides}")
        self.op, self.filters, self.strides = op, int(filters), int(strides)
        self.weight_decay = float(weight_decay)
        self.sep1 = self.sep2 = self.reduce = None
        if op.startswith("sep_conv_"):
            k = int(op[-1])
            self.sep1 = ops.ReLUConvBN(filters, k, strides=self.strides, separable=True,
                                       weight_decay=weight_decay, name="sep1")
            self.sep2 = ops.ReLUConvBN(filters, k, separable=True, weight_decay=weight_decay,
                                       name="sep2")
        elif op == "identity" and self.strides == 2:
            self.reduce = ops.FactorizedReduction(filters, weight_decay=weight_decay,
                                                  name="reduce")

    def build(self, input_shape):
        if self.sep1 is not None:
            self.sep1.build(input_shape)
            self.sep2.build(self.sep1.compute_output_shape(input_shape))
        if self.reduce is not None:
            self.reduce.build(input_shape)

    def call(self, x, training=None):
        if self.op == "identity":
            if self.reduce is not None:
                return self.reduce(x, training=training)
            return tf.identity(x)
        if self.op == "avg_pool_3x3":
            return tf.nn.avg_pool2d(x, 3, self.strides, "SAME")
        if self.op == "max_pool_3x3":
            return ops._max_pool_3x3(x) if self.strides == 1 else _max_pool_3x3_s2(x)
        return self.sep2(self.sep1(x, training=training), training=training)

    def compute_output_shape(self, input_shape):
        if self.strides == 1:
            return tuple(input_shape)
        b, h, w, c = input_shape
        half = lambda s: None if s is None else (s + 1) // 2  # noqa: E731
        return (b, half(h), half(w), c)

    def get_config(self):
        return {**super().get_config(), "op": self.op, "filters": self.filters,
                "strides": self.strides, "weight_decay": self.weight_decay}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class CellOutput(keras.layers.Layer):
    """A cell's output: ReLU, concatenation of some of its nodes, 1x1 conv, BN.

    Called with the list of the ``len(nodes)`` node outputs (``nodes`` names which, as node
    numbers ``2 .. B+1``; only used to copy weights). The kernel has ``len(nodes) * C`` input
    rows, node by node. The supernet holds the full version (every node) and passes a 0/1
    ``node_mask`` that zeroes the rows of the nodes another node reads; a standalone model's
    kernel is the matching slice of rows.

    Args:
        filters: output channels.
        nodes: node numbers whose outputs are concatenated, in order.
        weight_decay: L2 factor on the kernel.
    """

    def __init__(self, filters, nodes, weight_decay=ops.WEIGHT_DECAY, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.nodes = int(filters), tuple(int(n) for n in nodes)
        self.weight_decay = float(weight_decay)
        self.bn = ops._bn()

    def build(self, input_shape):
        node_channels = int(input_shape[0][-1])
        reg = keras.regularizers.L2(self.weight_decay) if self.weight_decay else None
        self.kernel = self.add_weight(
            name="kernel", shape=(1, 1, len(self.nodes) * node_channels, self.filters),
            initializer="he_normal", regularizer=reg)
        self.bn.build(tuple(input_shape[0][:-1]) + (self.filters,))

    def call(self, inputs, node_mask=None, training=None):
        x = tf.nn.relu(tf.concat(list(inputs), axis=-1))
        kernel = tf.cast(self.kernel, x.dtype)
        if node_mask is not None:
            rows = tf.repeat(tf.cast(node_mask, x.dtype), kernel.shape[2] // len(self.nodes))
            kernel = kernel * tf.reshape(rows, [1, 1, -1, 1])
        y = tf.nn.conv2d(x, kernel, 1, "SAME")
        return self.bn(y, training=training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "nodes": list(self.nodes),
                "weight_decay": self.weight_decay}


# -- the network's layout, shared with the supernet -------------------------------------------


def cell_plan(space, filters):
    """One entry per cell, in order: ``(kind, width, reduce_prev)`` with ``kind`` in
    ``CELL_KINDS``, ``width`` its channels, and ``reduce_prev`` whether its input
    ``h_{k-2}`` has twice the resolution of ``h_{k-1}`` (the previous cell reduced)."""
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
    """Name of the Keras layer ``part`` of cell ``cell`` (``pre0``, ``pre1``, ``out``, ...)."""
    return f"cell{cell}_{part}"


def op_part(node, slot, op, strides):
    """``part`` name of op ``op`` of ``slot`` (``a``/``b``) of node ``node`` (0-based)."""
    name = MICRO_OPS[op] if isinstance(op, int) else op
    return f"node{node + 2}{slot}_{name}" + ("_s2" if strides == 2 else "")


def preprocess_layer(cell, which, width, reduce, weight_decay):
    """The layer that brings cell input ``which`` (0: h_{k-2}, 1: h_{k-1}) to ``width``."""
    name = cell_layer_name(cell, f"pre{which}")
    if reduce:
        return ops.FactorizedReduction(width, weight_decay=weight_decay, name=name)
    return ops.ReLUConvBN(width, 1, weight_decay=weight_decay, name=name)


def op_strides(kind, source):
    """Stride of an op reading input number ``source`` in a cell of ``kind``."""
    return 2 if kind == "reduction" and source < 2 else 1


def build_micro_model(space, arch, filters=40, num_classes=10, input_shape=(32, 32, 3),
                      weight_decay=ops.WEIGHT_DECAY, name="micro_child"):
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
    stem = ops.Stem(3 * filters, weight_decay=weight_decay, name="stem")(inputs)
    prev2 = prev1 = stem
    wd = weight_decay
    for c, (kind, width, reduce_prev) in enumerate(cell_plan(space, filters)):
        cell = cells[kind]
        states = [preprocess_layer(c, 0, width, reduce_prev, wd)(prev2),
                  preprocess_layer(c, 1, width, False, wd)(prev1)]
        for i, (in_a, op_a, in_b, op_b) in enumerate(cell):
            terms = []
            for slot, source, op in (("a", in_a, op_a), ("b", in_b, op_b)):
                strides = op_strides(kind, source)
                layer = MicroOp(MICRO_OPS[op], width, strides=strides, weight_decay=wd,
                                name=cell_layer_name(c, op_part(i, slot, op, strides)))
                terms.append(layer(states[source]))
            states.append(keras.layers.Add(name=cell_layer_name(c, f"node{i + 2}"))(terms))
        loose = space.unused_nodes(cell)
        out = CellOutput(width, loose, weight_decay=wd, name=cell_layer_name(c, "out"))(
            [states[n] for n in loose])
        prev2, prev1 = prev1, out
    logits = ops.ClassifierHead(num_classes, weight_decay=wd, name="head")(prev1)
    return keras.Model(inputs, logits, name=name)
