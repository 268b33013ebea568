"""Scoring architectures with a trained weight-sharing supernet (the search's rewards).

Two ways to normalize a path's activations when it is scored:

- batch statistics of the scored validation batch (ENAS's reward; ``bn_batches=0``);
- re-estimated statistics: the path's batch-norm moving averages are reset and set to the
  exact mean over ``bn_batches`` fixed training batches, then the path runs in inference
  mode. The shared moving averages fit no single architecture, and batch statistics of one
  small validation batch are noisy; re-estimating removes both effects.

A reward averages ``reward_batches`` validation batches (0: the whole split, cut into full
batches because the steps have a static batch size). A final score (``full_reward``) may
first fine-tune the path from the shared weights (``search.finetuning``); the controller's
minibatch rewards never do.
"""

import keras
import numpy as np
import tensorflow as tf


# The permutation key of the fine-tuning batches (pipeline.train_batches keys by seed and epoch).
FINETUNE_EPOCH = 1_000_000


def _batch_norm_layers(model):
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, keras.layers.BatchNormalization)]


def _accuracy(labels, logits):
    hits = tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int64), labels)
    return tf.reduce_mean(tf.cast(hits, tf.float32))


class SupernetScorer:
    """Validation accuracy of architectures on a supernet's shared weights.

    Args:
        supernet: a supernet called with ``(images, arch)``.
        val_batches: list of (images, labels) full validation batches (standardized).
        calibration_batches: list of (images, labels) training batches for re-estimating
            batch-norm statistics (only the first ``bn_batches`` are used).
        batch_size: the static batch size of every batch.
        reward_batches: validation batches per reward (0: all of them).
        bn_batches: training batches that re-estimate batch-norm statistics before each
            score (0: score with the validation batch's own statistics).
        finetuner: a ``PathFinetuner`` that trains each path before its full reward (None:
            score the shared weights as they are).
    """

    def __init__(self, supernet, val_batches, calibration_batches, batch_size,
                 reward_batches=1, bn_batches=0, finetuner=None):
        if not val_batches:
            raise ValueError("the supernet scorer needs at least one validation batch")
        if bn_batches > len(calibration_batches):
            raise ValueError(f"{bn_batches} calibration batches requested, "
                             f"{len(calibration_batches)} available")
        self.supernet = supernet
        self.val_batches = list(val_batches)
        self.calibration_batches = list(calibration_batches)[:bn_batches]
        self.reward_batches = int(reward_batches) or len(self.val_batches)
        self.bn_batches = int(bn_batches)
        self.finetuner = finetuner
        self.batch_norms = _batch_norm_layers(supernet)
        self._batch_stats_step = supernet.make_eval_step(batch_size=batch_size)
        signature = [tf.TensorSpec((batch_size,) + tuple(supernet.image_shape), tf.float32),
                     tf.TensorSpec((batch_size,), tf.int64),
                     tf.TensorSpec((supernet.space.num_decisions,), tf.int32)]
        # The weight of the running mean in the cumulative average: k/(k+1) at batch k.
        self._momentum = tf.Variable(0.0, trainable=False, name="bn_reestimation_momentum")
        self._inference_step = tf.function(self._inference_accuracy,
                                           input_signature=signature)
        self._calibration_step = tf.function(self._calibrate_on_batch,
                                             input_signature=signature)

    def _inference_accuracy(self, images, labels, arch):
        return _accuracy(labels, self.supernet((images, arch), training=False))

    def _calibrate_on_batch(self, images, labels, arch):
        del labels
        self.supernet((images, arch), training=True)
        return tf.constant(0.0)

    def reestimate_batch_norm(self, arch):
        """Sets the batch-norm moving statistics on ``arch``'s path to their exact mean
        over the calibration batches (layers off the path keep theirs)."""
        arch = tf.constant(arch, tf.int32)
        saved = [layer.momentum for layer in self.batch_norms]
        for layer in self.batch_norms:
            layer.momentum = self._momentum
        try:
            for k, (images, labels) in enumerate(self.calibration_batches):
                self._momentum.assign(k / (k + 1.0))
                self._calibration_step(images, labels, arch)
        finally:
            for layer, momentum in zip(self.batch_norms, saved):
                layer.momentum = momentum

    def _batches_accuracy(self, arch, batches):
        if self.bn_batches:
            self.reestimate_batch_norm(arch)
            step = self._inference_step
        else:
            step = self._batch_stats_step
        arch_t = tf.constant(arch, tf.int32)
        return float(np.mean([float(step(x, y, arch_t)) for x, y in batches]))

    def minibatch_reward(self, arch, index):
        """Reward of one controller sample: accuracy on ``reward_batches`` validation
        batches, starting at batch ``index`` (cyclically)."""
        n = len(self.val_batches)
        batches = [self.val_batches[(index * self.reward_batches + k) % n]
                   for k in range(min(self.reward_batches, n))]
        return self._batches_accuracy(arch, batches)

    def full_reward(self, arch):
        """Accuracy of ``arch`` on every validation batch (after its path's fine-tuning
        when the scorer has a finetuner; the shared weights are left as they were)."""
        if self.finetuner is None:
            return self._batches_accuracy(arch, self.val_batches)
        self.finetuner.finetune(arch)
        try:
            return self._batches_accuracy(arch, self.val_batches)
        finally:
            self.finetuner.restore()


def make_supernet_scorer(supernet, config, seed, split, mean, std):
    """The ``SupernetScorer`` a ``SearchConfig`` asks for: its validation split cut into
    full batches, its first ``bn_batches`` training batches (unaugmented) for batch-norm
    re-estimation, and a ``PathFinetuner`` of ``finetune_steps`` augmented training
    batches when that is positive (levers of ``config``).

    Args:
        supernet: the search's supernet.
        config: a ``SearchConfig`` (``batch_size``, ``cutout`` and the levers
            ``reward_batches``, ``bn_batches``, ``finetune_steps``, ``finetune_lr``).
        seed: the run seed (the fine-tuning batches' order and augmentation).
        split: the search split (train_x, train_y, val_x, val_y: uint8 images, labels).
        mean, std: the training split's channel statistics.
    """
    from nases_tf.data import pipeline

    train_x, train_y, val_x, val_y = split
    levers, size = config.levers, config.batch_size

    def full_batches(x, y):
        return [(bx, by) for bx, by in pipeline.eval_batches(x, y, size, mean, std)
                if len(by) == size]

    calibration = (full_batches(train_x[:levers.bn_batches * size],
                                train_y[:levers.bn_batches * size])
                   if levers.bn_batches else [])
    finetuner = None
    if levers.finetune_steps:
        from nases_tf.search.finetuning import PathFinetuner

        # An epoch number no search reaches: the batches are not the supernet's first ones.
        finetuner = PathFinetuner(
            supernet, lambda: pipeline.train_batches(train_x, train_y, size, seed, mean, std,
                                                     first_epoch=FINETUNE_EPOCH,
                                                     cutout=config.cutout),
            levers.finetune_steps, levers.finetune_lr, size)
    return SupernetScorer(supernet, full_batches(val_x, val_y), calibration, size,
                          reward_batches=levers.reward_batches, bn_batches=levers.bn_batches,
                          finetuner=finetuner)
