"""SGDR: cosine annealing with warm restarts, stepped per batch (paper 4.2)."""

import keras

from nases_tf.training.config import FinalConfig

# The paper's schedule; FinalConfig holds its settings.
LR_MAX = FinalConfig.lr_max
LR_MIN = FinalConfig.lr_min
FIRST_CYCLE_EPOCHS = FinalConfig.first_cycle_epochs
CYCLE_MULT = 2.0


def sgdr_epochs(cycles, first_cycle_epochs=FIRST_CYCLE_EPOCHS, cycle_mult=CYCLE_MULT):
    """Epochs covered by ``cycles`` full SGDR cycles (3 -> 70, 6 -> 630 with the defaults)."""
    return int(sum(first_cycle_epochs * cycle_mult ** c for c in range(cycles)))


def sgdr(steps_per_epoch, lr_max=LR_MAX, lr_min=LR_MIN,
         first_cycle_epochs=FIRST_CYCLE_EPOCHS, cycle_mult=CYCLE_MULT):
    """Keras schedule: cosine from ``lr_max`` to ``lr_min`` over the first cycle, restarting
    with cycles ``cycle_mult`` times longer; the step is the batch index.

    Args:
        steps_per_epoch: batches per epoch.
        lr_max, lr_min: learning rate at the start and end of each cycle.
        first_cycle_epochs: length of the first cycle in epochs (T0).
        cycle_mult: growth of the cycle length (T_mul).
    """
    return keras.optimizers.schedules.CosineDecayRestarts(
        initial_learning_rate=lr_max,
        first_decay_steps=int(first_cycle_epochs * steps_per_epoch),
        t_mul=float(cycle_mult), m_mul=1.0, alpha=lr_min / lr_max)


def child_optimizer(steps_per_epoch, lr_max=LR_MAX, lr_min=LR_MIN,
                    first_cycle_epochs=FIRST_CYCLE_EPOCHS):
    """SGD with Nesterov momentum 0.9 on the SGDR schedule, as the paper trains children.

    Weight decay is not here: it is the L2 regularization of the network's kernels.
    """
    return keras.optimizers.SGD(
        learning_rate=sgdr(steps_per_epoch, lr_max, lr_min, first_cycle_epochs),
        momentum=0.9, nesterov=True)
