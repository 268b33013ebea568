"""Compiling and briefly training standalone child networks (paper 4.2's recipe).

Final training, episodic rewards and the keras-tuner macro hypermodel all compile children
here, so they share one loss, optimizer and sgdr.
"""

import keras

from nases_tf.data import pipeline
from nases_tf.networks import build_network
from nases_tf.training import sgdr


def compile_child(model, steps_per_epoch, first_cycle_epochs=sgdr.FIRST_CYCLE_EPOCHS,
                  lr_max=sgdr.LR_MAX, lr_min=sgdr.LR_MIN):
    """Compiles ``model`` with SGD + Nesterov on SGDR, sparse cross-entropy on logits and
    accuracy; wraps the optimizer for loss scaling under ``mixed_float16``. Returns it."""
    optimizer = sgdr.child_optimizer(steps_per_epoch, lr_max, lr_min, first_cycle_epochs)
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        optimizer = keras.mixed_precision.LossScaleOptimizer(optimizer)
    model.compile(optimizer=optimizer,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def fit_child(space, arch, train_x, train_y, epochs, batch_size=128, filters=40,
              num_classes=10, seed=0, cutout=0, first_cycle_epochs=None, verbose=0):
    """Builds ``arch`` standalone and trains it ``epochs`` epochs with the children's recipe
    (SGD + Nesterov on SGDR, augmentation). Returns ``(model, mean, std)``, the last two
    being the channel statistics its inputs are standardized with.

    Args:
        space, arch: the architecture.
        train_x, train_y: uint8 training images and labels.
        epochs: training epochs.
        batch_size, filters, num_classes: child settings.
        seed: data order and augmentation seed.
        cutout: cutout side (0: off).
        first_cycle_epochs: SGDR's first cycle (None: ``epochs``, one annealed cycle).
        verbose: Keras verbosity.
    """
    mean, std = pipeline.channel_stats(train_x)
    steps = len(train_x) // batch_size
    model = build_network(space, arch, filters=filters, num_classes=num_classes,
                          input_shape=train_x.shape[1:])
    compile_child(model, steps, first_cycle_epochs=first_cycle_epochs or epochs)
    model.fit(pipeline.train_batches(train_x, train_y, batch_size, seed, mean, std,
                                 last_epoch=epochs, cutout=cutout),
              epochs=epochs, steps_per_epoch=steps, verbose=verbose, shuffle=False)
    return model, mean, std


def accuracy_on(model, x, y, batch_size, mean, std):
    """Accuracy of a compiled child ``model`` on uint8 images ``x`` with labels ``y``."""
    _, accuracy = model.evaluate(pipeline.eval_batches(x, y, batch_size, mean, std), verbose=0)
    return float(accuracy)


def train_and_score(space, arch, train_x, train_y, val_x, val_y, epochs, batch_size=128,
                    filters=40, num_classes=10, seed=0, cutout=0, verbose=0):
    """Builds ``arch`` standalone, trains it ``epochs`` epochs (one SGDR cycle) and returns
    its validation accuracy: the episodic reward of Alg. 1 lines 5-7.

    Args:
        space, arch: the architecture.
        train_x, train_y, val_x, val_y: uint8 images and labels of the search split.
        epochs: training epochs (``SearchConfig.episode_epochs`` for episodic rewards).
        batch_size, filters, num_classes: child settings.
        seed: data order and augmentation seed.
        cutout: cutout side (0: off).
        verbose: Keras verbosity.
    """
    model, mean, std = fit_child(space, arch, train_x, train_y, epochs, batch_size=batch_size,
                                 filters=filters, num_classes=num_classes, seed=seed,
                                 cutout=cutout, verbose=verbose)
    return accuracy_on(model, val_x, val_y, batch_size, mean, std)
