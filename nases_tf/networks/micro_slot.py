"""The ops of one micro cell slot, chosen by an int tensor without control flow.

A micro supernet has a slot (node input) per (cell, node, a/b), each holding the five
``CandidateOp`` layers of ``OPS`` (and, in a reduction cell, a stride-2 and a stride-1
set). ``slot_output`` runs the op an int32 tensor picks from the weights of those layers,
with plain tensor ops:

- the two separable convolutions run as one, on weights gathered by the op index (the 3x3
  depthwise kernels zero-padded to 5x5, which gives the 3x3 convolution's values);
- identity (or, with stride 2, the factorized reduction) and the two pools are cheap and
  always run;
- a 0/1 mask of the op index keeps the chosen output: the others are multiplied by zero,
  so they add nothing and pass back exactly zero gradients, as do the weights not gathered;
- BN moving statistics move only in the layers of the op taken (the others are reassigned
  their own values).

Compared with a ``tf.switch_case`` over the op layers this traces a few dozen plain ops
per slot instead of a branch function per op and its gradient, which makes the
paper-sized network (hundreds of slots) trace several times faster and with much less
memory; the price is that every slot computes a separable convolution, whichever op it
runs.
"""

import keras
import tensorflow as tf

from nases_tf.networks.layers import OPS, max_pool_3x3, shifted_by_one_pixel

_SEP3, _SEP5 = OPS.index("sep_conv_3x3"), OPS.index("sep_conv_5x5")
_IDENTITY, _AVG, _MAX = OPS.index("identity"), OPS.index("avg_pool_3x3"), OPS.index("max_pool_3x3")


def slot_output(layers, op, x, strides, training):
    """The output of op ``op`` of a slot on ``x``: the op's layer's output, computed from
    the weights of ``layers`` (see the module docstring).

    Args:
        layers: the slot's ``len(OPS)`` ``CandidateOp`` layers of this stride, in ``OPS``
            order (built, separable convolutions without projection).
        op: int32 scalar tensor, the index in ``OPS``; any other value (e.g. an op of the
            slot's other stride set) gives zeros and leaves every weight and statistic.
        x: the slot's input.
        strides: 1, or 2 (the ops halve the resolution).
        training: normalize with batch statistics and move the moving statistics.
    """
    mask = tf.one_hot(op, len(OPS), dtype=x.dtype)
    taken = [tf.equal(op, k) for k in range(len(OPS))]
    if strides == 1:
        identity = x
    else:
        identity = _factorized_reduction(layers[_IDENTITY].reduce, taken[_IDENTITY], x, training)
    separable = _separable(layers[_SEP3], layers[_SEP5], op, taken, x, training)
    return (mask[_IDENTITY] * identity + (mask[_SEP3] + mask[_SEP5]) * separable +
            mask[_AVG] * tf.nn.avg_pool2d(x, 3, strides, "SAME") +
            mask[_MAX] * max_pool_3x3(x, strides))


def _gathered(values, index, dtype):
    """``values[index]`` (variables or tensors of one shape) as a ``dtype`` tensor."""
    stacked = tf.stack([tf.convert_to_tensor(v) for v in values])
    return tf.cast(tf.gather(stacked, index), dtype)


def _separable(sep3, sep5, op, taken, x, training):
    """``sep3``'s or ``sep5``'s blocks on ``x`` (``sep5``'s when ``op`` is its index)."""
    pick = tf.cast(tf.equal(op, _SEP5), tf.int32)
    for k, blocks in enumerate(zip(sep3._blocks(), sep5._blocks())):
        pad = (blocks[1].kernel_size - blocks[0].kernel_size) // 2
        depthwise = _gathered([tf.pad(blocks[0].conv.depthwise_kernel,
                                      [[pad, pad], [pad, pad], [0, 0], [0, 0]]),
                               blocks[1].conv.depthwise_kernel], pick, x.dtype)
        pointwise = _gathered([b.conv.pointwise_kernel for b in blocks], pick, x.dtype)
        x = keras.ops.separable_conv(tf.nn.relu(x), depthwise, pointwise,
                                     strides=blocks[0].strides if k == 0 else 1, padding="same")
        x = _batch_norm([b.bn for b in blocks], pick, [taken[_SEP3], taken[_SEP5]], x, training)
    return x


def _factorized_reduction(layer, taken, x, training):
    """``layer`` (a ``FactorizedReduction``) on ``x``; its statistics move when ``taken``."""
    x = tf.nn.relu(x)
    a = keras.ops.conv(x, _gathered([layer.conv_a.kernel], 0, x.dtype), strides=2,
                       padding="same")
    b = keras.ops.conv(shifted_by_one_pixel(x), _gathered([layer.conv_b.kernel], 0, x.dtype),
                       strides=2, padding="same")
    return _batch_norm([layer.bn], 0, [taken], tf.concat([a, b], axis=-1), training)


def _batch_norm(bns, pick, taken, x, training):
    """Keras ``BatchNormalization`` (as its ``call`` computes it) with the weights of
    ``bns[pick]``; in training, each layer of ``bns`` whose ``taken`` is true moves its
    moving statistics towards the batch's."""
    dtype = x.dtype
    x = tf.cast(x, keras.backend.result_type(dtype, "float32"))
    gamma, beta = (_gathered([getattr(bn, w) for bn in bns], pick, x.dtype)
                   for w in ("gamma", "beta"))
    if training:
        mean, variance = keras.ops.moments(x, axes=[0, 1, 2])
        for bn, moves in zip(bns, taken):
            for stat, batch in ((bn.moving_mean, mean), (bn.moving_variance, variance)):
                old = tf.cast(tf.convert_to_tensor(stat), x.dtype)
                stat.assign(tf.where(moves, old * bn.momentum + batch * (1.0 - bn.momentum),
                                     old))
    else:
        mean, variance = (_gathered([getattr(bn, w) for bn in bns], pick, x.dtype)
                          for w in ("moving_mean", "moving_variance"))
    y = keras.ops.batch_normalization(x, mean, variance, axis=-1, offset=beta, scale=gamma,
                                      epsilon=bns[0].epsilon)
    return tf.cast(y, dtype)
