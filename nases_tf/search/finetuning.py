"""Fine-tuning one architecture's path from a trained supernet's shared weights.

A path of the shared weights is trained for every architecture at once, so it is tuned to
no single one: its accuracy says as much about how well the path fits the others' weights as
about the architecture. A few SGD steps on the path alone, from the shared weights, let each
scored architecture adapt before it is measured; the shared weights are then put back, so
every candidate starts from the same point and the search is left as it was.
"""

import keras
import numpy as np
import tensorflow as tf


class PathFinetuner:
    """Trains one path of a supernet for a few steps, and puts the shared weights back.

    Every call starts from the same state: the supernet's variables (BN statistics
    included) and a fresh SGD with Nesterov momentum at a constant learning rate, on the
    same training batches, so candidates differ only by their architecture.

    Args:
        supernet: a trained supernet (``make_train_step`` and ``variables``).
        batches: a callable returning an iterable of (images, labels) training batches; the
            first ``steps`` are kept and reused for every architecture.
        steps: SGD steps per architecture.
        learning_rate: the constant learning rate.
        batch_size: the static batch size of the batches.
    """

    def __init__(self, supernet, batches, steps, learning_rate, batch_size):
        if int(steps) < 1:
            raise ValueError(f"fine-tuning needs at least one step, got {steps}")
        if not learning_rate > 0:
            raise ValueError(f"the fine-tuning learning rate must be positive, got "
                             f"{learning_rate}")
        self.supernet, self.steps = supernet, int(steps)
        self._make_batches = batches
        self._batches = None
        self.optimizer = keras.optimizers.SGD(float(learning_rate), momentum=0.9,
                                              nesterov=True)
        self._train_step = supernet.make_train_step(self.optimizer, batch_size=batch_size)
        self._optimizer_start = [v.numpy() for v in self.optimizer.variables]
        self._saved = [tf.Variable(v, trainable=False, name="shared_weight_copy")
                       for v in supernet.variables]

    def _training_batches(self):
        if self._batches is None:
            batches = []
            for images, labels in self._make_batches():
                batches.append((images, labels))
                if len(batches) == self.steps:
                    break
            self._batches = batches
        return self._batches

    def _copy(self, sources, targets):
        for source, target in zip(sources, targets):
            target.assign(source)

    def finetune(self, arch):
        """Saves the shared weights, then trains ``arch``'s path; returns the mean training
        loss of the steps. Call ``restore`` after scoring."""
        self._copy(self.supernet.variables, self._saved)
        for variable, value in zip(self.optimizer.variables, self._optimizer_start):
            variable.assign(value)
        arch = tf.constant(arch, tf.int32)
        losses = [float(self._train_step(images, labels, arch)[0])
                  for images, labels in self._training_batches()]
        return float(np.mean(losses))

    def restore(self):
        """Puts back the shared weights saved by the last ``finetune``."""
        self._copy(self._saved, self.supernet.variables)
