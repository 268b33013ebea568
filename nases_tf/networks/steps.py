"""Training and evaluation steps of a Keras classifier, as ``tf.function`` s.

One loss for every network nases_tf trains by hand: the mean sparse categorical
cross-entropy of the logits plus the model's own losses (the L2 weight decay of every
kernel). Plain models and supernets use the same steps; a supernet's extra input (the
architecture) follows the labels.
"""

import tensorflow as tf


def accuracy(labels, logits):
    """Share of the batch whose highest logit is the label (float32 scalar tensor).

    Args:
        labels: int64 labels ``(batch,)``.
        logits: logits ``(batch, classes)``.
    """
    hits = tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int64), labels)
    return tf.reduce_mean(tf.cast(hits, tf.float32))


def cross_entropy(labels, logits):
    """Mean sparse categorical cross-entropy of ``logits`` (float32 scalar tensor).

    Args:
        labels: int64 labels ``(batch,)``.
        logits: logits ``(batch, classes)``.
    """
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))


def classification_loss(model, labels, logits):
    """Mean sparse categorical cross-entropy of ``logits`` plus ``sum(model.losses)``.

    Args:
        model: the Keras model that produced ``logits`` (its losses are the weight decay).
        labels: int64 labels ``(batch,)``.
        logits: logits ``(batch, classes)``.
    """
    loss = cross_entropy(labels, logits)
    if model.losses:
        loss += tf.add_n(model.losses)
    return loss


def _model_inputs(images, extra):
    return (images, *extra) if extra else images


def make_train_step(model, optimizer, input_signature=None):
    """One training step of ``model`` on one batch.

    Returns a ``tf.function`` ``(images, labels, *extra) -> (loss, accuracy)`` that calls
    the model with ``images`` (with ``(images, *extra)`` when extra inputs are given, as a
    supernet takes its architecture), and applies the gradients of ``classification_loss``
    to every trainable variable.

    Args:
        model: any Keras model giving logits.
        optimizer: a Keras optimizer (a ``LossScaleOptimizer`` works too); built here on the
            model's trainable variables if it is not yet.
        input_signature: ``tf.TensorSpec`` s of ``(images, labels, *extra)`` (None: traced
            per input shape).
    """
    variables = model.trainable_variables
    if not optimizer.built:
        optimizer.build(variables)

    @tf.function(input_signature=input_signature)
    def train_step(images, labels, *extra):
        with tf.GradientTape() as tape:
            logits = model(_model_inputs(images, extra), training=True)
            loss = classification_loss(model, labels, logits)
            scaled = optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, variables)
        optimizer.apply(grads, variables)
        return loss, accuracy(labels, logits)

    return train_step


def make_eval_step(model, input_signature=None, training=False):
    """Accuracy of ``model`` on one batch.

    Returns a ``tf.function`` ``(images, labels, *extra) -> accuracy`` (float32 scalar); the
    model is called as in ``make_train_step``. No weight changes; with ``training=True``
    batch statistics normalize and the BN moving statistics move.

    Args:
        model: any Keras model giving logits.
        input_signature: ``tf.TensorSpec`` s of ``(images, labels, *extra)`` (None: traced
            per input shape).
        training: the ``training`` flag the model is called with.
    """

    @tf.function(input_signature=input_signature)
    def eval_step(images, labels, *extra):
        return accuracy(labels, model(_model_inputs(images, extra), training=training))

    return eval_step
