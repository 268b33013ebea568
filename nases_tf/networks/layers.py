"""Keras layers the child networks and supernets are made of.

Every convolution is He-initialized and L2-regularized (weight decay 1e-4 by default), in
the ReLU -> conv -> batch-norm order of the paper's appendix A.1. Every layer here is
registered with Keras under the package ``nases_tf``, so saved ``.keras`` models load once
this module is imported.
"""

import keras
import tensorflow as tf

from nases_tf.spaces.macro import MACRO_OPS

WEIGHT_DECAY = 1e-4
# The candidate ops a macro layer or a micro cell node picks from; both spaces index this
# same tuple (MacroSpace and MicroSpace list the same five names in the same order).
OPS = MACRO_OPS

# Class decorator: registers a layer or model with Keras as ``nases_tf>ClassName``.
serializable = keras.saving.register_keras_serializable(package="nases_tf")


def _conv_kwargs(weight_decay):
    reg = keras.regularizers.L2(weight_decay) if weight_decay else None
    return dict(padding="same", use_bias=False, kernel_initializer="he_normal",
                kernel_regularizer=reg)


def _bn(name=None):
    # Keras' default momentum 0.99 is too slow for short runs; 0.9 is ENAS's value.
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


def merge_norm(name):
    """Batch norm applied to a macro layer's output after its skip inputs are added (ENAS's
    search-mode aggregation): an unnormalized sum gives every path of the supernet its own
    output scale, which one shared classifier cannot fit.

    Args:
        name: the layer's name.
    """
    return _bn(name)


def _halved(size):
    return None if size is None else (size + 1) // 2


def max_pool_3x3(x, strides=1):
    """3x3 max pooling (``SAME`` padding) whose gradient recomputes the pooling.

    The values and gradients are those of ``tf.nn.max_pool2d``. Inside a ``tf.switch_case``
    branch TensorFlow's own gradient falls off oneDNN's fast ``MaxPoolGrad`` path on a CPU;
    handing ``MaxPoolGrad`` a freshly computed pooling output keeps it on that path.

    Args:
        x: a float tensor ``(batch, height, width, channels)``.
        strides: 1, or 2 (halves the resolution).
    """

    @tf.custom_gradient
    def pool(x):
        def grad(dy):
            return tf.raw_ops.MaxPoolGrad(
                orig_input=x, orig_output=tf.nn.max_pool2d(x, 3, strides, "SAME"), grad=dy,
                ksize=[1, 3, 3, 1], strides=[1, strides, strides, 1], padding="SAME")

        return tf.nn.max_pool2d(x, 3, strides, "SAME"), grad

    return pool(x)


def shifted_by_one_pixel(x):
    """``x`` moved up and left by one pixel, zero-filled at the bottom and right: the second
    path of a factorized reduction.

    Args:
        x: a tensor ``(batch, height, width, channels)``.
    """
    # tf.slice, not [:, 1:, 1:, :]: the same values, but on a CPU the gradient of a strided
    # slice (StridedSliceGrad) is much slower than that of Slice (a Pad).
    return tf.slice(tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]]), [0, 1, 1, 0], tf.shape(x))


def stem_block(filters, weight_decay=WEIGHT_DECAY, name="stem"):
    """The network's input block, of stock Keras layers: a 3x3 convolution to ``filters``
    channels and batch norm.

    Args:
        filters: output channels.
        weight_decay: L2 factor on the kernel.
        name: the block's name.
    """
    return keras.Sequential([
        keras.layers.Conv2D(filters, 3, name="conv", **_conv_kwargs(weight_decay)),
        _bn()], name=name)


def classifier_head(num_classes, weight_decay=WEIGHT_DECAY, name="head"):
    """ReLU, global average pooling and a dense layer giving float32 logits, of stock Keras
    layers.

    Args:
        num_classes: number of output logits.
        weight_decay: L2 factor on the dense kernel.
        name: the block's name.
    """
    reg = keras.regularizers.L2(weight_decay) if weight_decay else None
    # float32 throughout keeps the softmax and loss stable under mixed precision.
    return keras.Sequential([
        keras.layers.ReLU(dtype="float32", name="relu"),
        keras.layers.GlobalAveragePooling2D(dtype="float32", name="pool"),
        keras.layers.Dense(num_classes, kernel_initializer="he_normal", kernel_regularizer=reg,
                           dtype="float32", name="dense")], name=name)


@serializable
class ReLUConvBN(keras.layers.Layer):
    """ReLU, then a (separable) convolution, then batch normalization.

    Args:
        filters: output channels.
        kernel_size: square kernel size.
        strides: convolution stride.
        separable: use a depthwise-separable convolution.
        weight_decay: L2 factor on the kernels.
    """

    def __init__(self, filters, kernel_size=1, strides=1, separable=False,
                 weight_decay=WEIGHT_DECAY, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = int(filters), int(kernel_size), int(strides)
        self.separable, self.weight_decay = bool(separable), float(weight_decay)
        conv_kw = _conv_kwargs(weight_decay)
        if separable:
            reg = conv_kw.pop("kernel_regularizer")
            self.conv = keras.layers.SeparableConv2D(
                filters, kernel_size, strides=strides, depthwise_initializer="he_normal",
                pointwise_initializer="he_normal", depthwise_regularizer=reg,
                pointwise_regularizer=reg, padding="same", use_bias=False, name="conv")
        else:
            self.conv = keras.layers.Conv2D(filters, kernel_size, strides=strides,
                                            name="conv", **conv_kw)
        self.bn = _bn()

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.bn.build(self.conv.compute_output_shape(input_shape))

    def call(self, x, training=None):
        return self.bn(self.conv(tf.nn.relu(x)), training=training)

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "separable": self.separable, "weight_decay": self.weight_decay}


@serializable
class FactorizedReduction(keras.layers.Layer):
    """Halves resolution and sets the channel count, without losing half the pixels.

    ReLU, then two 1x1 stride-2 convolutions, one on the input and one on the input shifted
    by a pixel, concatenated and batch-normalized (ENAS's factorized reduction).

    Args:
        filters: output channels (split between the two paths).
        weight_decay: L2 factor on the kernels.
    """

    def __init__(self, filters, weight_decay=WEIGHT_DECAY, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.weight_decay = int(filters), float(weight_decay)
        half = self.filters // 2
        kw = _conv_kwargs(weight_decay)
        self.conv_a = keras.layers.Conv2D(half, 1, strides=2, name="conv_a", **kw)
        self.conv_b = keras.layers.Conv2D(self.filters - half, 1, strides=2, name="conv_b", **kw)
        self.bn = _bn()

    def build(self, input_shape):
        self.conv_a.build(input_shape)
        self.conv_b.build(input_shape)
        self.bn.build(self.compute_output_shape(input_shape))

    def call(self, x, training=None):
        x = tf.nn.relu(x)
        out = tf.concat([self.conv_a(x), self.conv_b(shifted_by_one_pixel(x))], axis=-1)
        return self.bn(out, training=training)

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        return (b, _halved(h), _halved(w), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "weight_decay": self.weight_decay}


@serializable
class CandidateOp(keras.layers.Layer):
    """One candidate op (an entry of ``OPS``) of a macro layer or of a micro cell node.

    A separable convolution is ``separable_repeats`` separable ReLU-conv-BN blocks (the
    first with the stride), after a 1x1 ReLU-conv-BN projection when ``project`` is set.
    The macro space uses one block after a projection (none in the network's first layer),
    the micro space ENAS's two blocks without one. Pools hold no weights; identity is
    ``tf.identity``, or a ``FactorizedReduction`` with stride 2. Input and output have
    ``filters`` channels.

    Args:
        op: one of ``OPS``.
        filters: channels of the input and output.
        strides: 1, or 2 (halves the resolution).
        project: put a 1x1 ReLU-conv-BN projection before a separable convolution.
        separable_repeats: separable ReLU-conv-BN blocks of a separable convolution.
        weight_decay: L2 factor on the kernels.
    """

    def __init__(self, op, filters, strides=1, project=False, separable_repeats=1,
                 weight_decay=WEIGHT_DECAY, **kwargs):
        super().__init__(**kwargs)
        if op not in OPS:
            raise ValueError(f"unknown op {op!r}, expected one of {', '.join(OPS)}")
        if int(strides) not in (1, 2):
            raise ValueError(f"op strides must be 1 or 2, got {strides}")
        if int(separable_repeats) < 1:
            raise ValueError(f"separable_repeats must be at least 1, got {separable_repeats}")
        self.op, self.filters, self.strides = op, int(filters), int(strides)
        self.project, self.separable_repeats = bool(project), int(separable_repeats)
        self.weight_decay = float(weight_decay)
        self.proj = self.reduce = None
        self._sep_names = ()
        if op.startswith("sep_conv_"):
            if self.project:
                self.proj = ReLUConvBN(filters, 1, weight_decay=weight_decay, name="proj")
            # A lone block is ``sep``, stacked ones ``sep1``, ``sep2``, ...: attribute names
            # are the weights' paths in checkpoints and .keras files of both spaces.
            self._sep_names = (("sep",) if self.separable_repeats == 1 else
                               tuple(f"sep{k + 1}" for k in range(self.separable_repeats)))
            for k, name in enumerate(self._sep_names):
                setattr(self, name, ReLUConvBN(
                    filters, int(op[-1]), strides=self.strides if k == 0 else 1,
                    separable=True, weight_decay=weight_decay, name=name))
        elif op == "identity" and self.strides == 2:
            self.reduce = FactorizedReduction(filters, weight_decay=weight_decay, name="reduce")

    def _blocks(self):
        """The ReLU-conv-BN blocks a separable convolution runs, in order."""
        head = [self.proj] if self.proj is not None else []
        return head + [getattr(self, name) for name in self._sep_names]

    def build(self, input_shape):
        for block in self._blocks():
            block.build(input_shape)
            input_shape = block.compute_output_shape(input_shape)
        if self.reduce is not None:
            self.reduce.build(input_shape)

    def call(self, x, training=None):
        if self.op == "identity":
            return tf.identity(x) if self.reduce is None else self.reduce(x, training=training)
        if self.op == "avg_pool_3x3":
            return tf.nn.avg_pool2d(x, 3, self.strides, "SAME")
        if self.op == "max_pool_3x3":
            return max_pool_3x3(x, self.strides)
        for block in self._blocks():
            x = block(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        if self.strides == 1:
            return tuple(input_shape)
        b, h, w, c = input_shape
        return (b, _halved(h), _halved(w), c)

    def get_config(self):
        return {**super().get_config(), "op": self.op, "filters": self.filters,
                "strides": self.strides, "project": self.project,
                "separable_repeats": self.separable_repeats, "weight_decay": self.weight_decay}


@serializable
class CellOutput(keras.layers.Layer):
    """A micro cell's output: ReLU, concatenation of some of its nodes, 1x1 conv, BN.

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

    def __init__(self, filters, nodes, weight_decay=WEIGHT_DECAY, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.nodes = int(filters), tuple(int(n) for n in nodes)
        self.weight_decay = float(weight_decay)
        self.bn = _bn()

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
