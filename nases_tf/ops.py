"""Primitive Keras layers of the child networks: ReLU-conv-BN blocks, pooling, reductions.

Every convolution is He-initialized and L2-regularized (weight decay 1e-4 by default), in
the ReLU -> conv -> batch-norm order of the paper's appendix A.1.
"""

import keras
import tensorflow as tf

WEIGHT_DECAY = 1e-4
_PACKAGE = "nases_tf"


def _conv_kwargs(weight_decay):
    reg = keras.regularizers.L2(weight_decay) if weight_decay else None
    return dict(padding="same", use_bias=False, kernel_initializer="he_normal",
                kernel_regularizer=reg)


def _bn():
    # Keras' default momentum 0.99 is too slow for short runs; 0.9 is ENAS's value.
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)


@keras.saving.register_keras_serializable(package=_PACKAGE)
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


@tf.custom_gradient
def _max_pool_3x3(x):
    y = tf.nn.max_pool2d(x, 3, 1, "SAME")

    def grad(dy):
        # Recomputing the pooling keeps oneDNN's fast MaxPoolGrad path inside
        # tf.switch_case branches (DESIGN.md: 361 ms -> 55 ms for 4 stacked pools).
        y_again = tf.nn.max_pool2d(x, 3, 1, "SAME")
        return tf.raw_ops.MaxPoolGrad(orig_input=x, orig_output=y_again, grad=dy,
                                      ksize=[1, 3, 3, 1], strides=[1, 1, 1, 1],
                                      padding="SAME")

    return y, grad


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MacroOp(keras.layers.Layer):
    """One layer's operation in the macro space (an entry of ``MACRO_OPS``).

    Convolutions get a 1x1 ReLU-conv-BN projection first unless ``project`` is False (the
    network's first layer). Pools and identity keep the input's shape and hold no weights.

    Args:
        op: one of ``identity, sep_conv_3x3, sep_conv_5x5, avg_pool_3x3, max_pool_3x3``.
        filters: channels of the input and output.
        project: put the 1x1 projection before a convolution.
        weight_decay: L2 factor on the kernels.
    """

    def __init__(self, op, filters, project=True, weight_decay=WEIGHT_DECAY, **kwargs):
        super().__init__(**kwargs)
        self.op, self.filters, self.project = op, int(filters), bool(project)
        self.weight_decay = float(weight_decay)
        self.proj = self.sep = None
        if op.startswith("sep_conv_"):
            k = int(op[-1])
            if project:
                self.proj = ReLUConvBN(filters, 1, weight_decay=weight_decay, name="proj")
            self.sep = ReLUConvBN(filters, k, separable=True, weight_decay=weight_decay,
                                  name="sep")
        elif op not in ("identity", "avg_pool_3x3", "max_pool_3x3"):
            raise ValueError(f"unknown macro op {op!r}")

    def build(self, input_shape):
        if self.proj is not None:
            self.proj.build(input_shape)
            input_shape = self.proj.compute_output_shape(input_shape)
        if self.sep is not None:
            self.sep.build(input_shape)

    def call(self, x, training=None):
        if self.op == "identity":
            return tf.identity(x)
        if self.op == "avg_pool_3x3":
            return tf.nn.avg_pool2d(x, 3, 1, "SAME")
        if self.op == "max_pool_3x3":
            return _max_pool_3x3(x)
        if self.proj is not None:
            x = self.proj(x, training=training)
        return self.sep(x, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "op": self.op, "filters": self.filters,
                "project": self.project, "weight_decay": self.weight_decay}


@keras.saving.register_keras_serializable(package=_PACKAGE)
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
        # tf.slice, not [:, 1:, 1:, :]: the same values, but on CPU the gradient of a strided
        # slice (StridedSliceGrad) costs about 2.5x that of Slice (a Pad) on these shapes.
        shifted = tf.slice(tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]]), [0, 1, 1, 0], tf.shape(x))
        out = tf.concat([self.conv_a(x), self.conv_b(shifted)], axis=-1)
        return self.bn(out, training=training)

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        half = lambda s: None if s is None else (s + 1) // 2  # noqa: E731
        return (b, half(h), half(w), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "weight_decay": self.weight_decay}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Stem(keras.layers.Layer):
    """The network's input block: a 3x3 convolution to ``filters`` channels and batch norm.

    Args:
        filters: output channels.
        weight_decay: L2 factor on the kernel.
    """

    def __init__(self, filters, weight_decay=WEIGHT_DECAY, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.weight_decay = int(filters), float(weight_decay)
        self.conv = keras.layers.Conv2D(filters, 3, name="conv", **_conv_kwargs(weight_decay))
        self.bn = _bn()

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.bn.build(self.conv.compute_output_shape(input_shape))

    def call(self, x, training=None):
        return self.bn(self.conv(x), training=training)

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "weight_decay": self.weight_decay}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ClassifierHead(keras.layers.Layer):
    """ReLU, global average pooling and a dense layer giving float32 logits.

    Args:
        num_classes: number of output logits.
        weight_decay: L2 factor on the dense kernel.
    """

    def __init__(self, num_classes, weight_decay=WEIGHT_DECAY, **kwargs):
        # float32 logits keep the softmax and loss stable under mixed precision.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.num_classes, self.weight_decay = int(num_classes), float(weight_decay)
        reg = keras.regularizers.L2(weight_decay) if weight_decay else None
        self.dense = keras.layers.Dense(num_classes, kernel_initializer="he_normal",
                                        kernel_regularizer=reg, dtype="float32", name="dense")

    def build(self, input_shape):
        self.dense.build((input_shape[0], input_shape[-1]))

    def call(self, x):
        return self.dense(tf.reduce_mean(tf.nn.relu(x), axis=[1, 2]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "weight_decay": self.weight_decay}
