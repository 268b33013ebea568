"""The train and eval steps of any Keras classifier."""

import keras
import numpy as np
import tensorflow as tf
from helpers import random_batch

from nases_tf.networks import build_macro_model
from nases_tf.networks.steps import accuracy, classification_loss, make_eval_step, make_train_step
from nases_tf.spaces import MacroSpace


def _model():
    keras.utils.set_random_seed(0)
    space = MacroSpace(2)
    return build_macro_model(space, space.join([1, 3], [[], [1]]), filters=4,
                             input_shape=(16, 16, 3))


def test_loss_is_cross_entropy_plus_weight_decay():
    model = _model()
    images, labels = random_batch(4, 16)
    logits = model(images, training=False)
    want = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
                 + sum(float(loss) for loss in model.losses))
    np.testing.assert_allclose(float(classification_loss(model, labels, logits)), want,
                               rtol=1e-5)
    assert float(accuracy(tf.constant([0, 1], tf.int64),
                          tf.constant([[2.0, 1.0], [3.0, 0.0]]))) == 0.5


def test_a_plain_model_trains_and_evaluates():
    model = _model()
    images, labels = random_batch(8, 16, seed=1)
    optimizer = keras.optimizers.SGD(0.05, momentum=0.9)
    train_step = make_train_step(model, optimizer)
    eval_step = make_eval_step(model)
    losses = [float(train_step(images, labels)[0]) for _ in range(10)]
    assert losses[-1] < losses[0]
    assert optimizer.built and train_step.experimental_get_tracing_count() == 1
    weights = [v.numpy() for v in model.weights]
    acc = eval_step(images, labels)
    assert acc.dtype == tf.float32 and 0.0 <= float(acc) <= 1.0
    # training=False: neither weights nor moving statistics move
    for before, v in zip(weights, model.weights):
        np.testing.assert_array_equal(before, v.numpy())
