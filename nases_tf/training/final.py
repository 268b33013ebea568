"""Final training of one architecture from scratch (paper 4.2, Alg. 1 line 12).

SGD with Nesterov momentum on SGDR, a checkpoint every epoch (rerunning resumes), TensorBoard
logs and an optional profiler trace, and one evaluation on the test split at the end.
"""

import os
import time

from absl import logging
import keras
import tensorflow as tf

from nases_tf import drawing, notices
from nases_tf.data import pipeline
from nases_tf.networks import build_network, count_params
from nases_tf.storage import checkpoints, fileio
from nases_tf.training import export, sgdr
from nases_tf.training.child import compile_child
from nases_tf.training.config import RuntimeConfig
from nases_tf.training.runtime import make_strategy


class _EpochCheckpoint(keras.callbacks.Callback):
    """Saves the run checkpoint after every epoch and logs the learning rate."""

    def __init__(self, run_checkpoint, epoch_var):
        super().__init__()
        self.run_checkpoint, self.epoch_var = run_checkpoint, epoch_var
        self.seconds_before = self.fit_start = 0.0  # training time of earlier runs

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            lr = self.model.optimizer.learning_rate
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(lr))
        self.epoch_var.assign(epoch + 1)
        self.run_checkpoint.save({"epoch": epoch + 1, "seconds": self.seconds_before + (
            time.time() - self.fit_start), "logs": {k: float(v) for k, v in (logs or {}).items()}})

    def on_train_begin(self, logs=None):
        self.fit_start = time.time()


def train_final(space, arch, images, output_dir, config, runtime=RuntimeConfig(),
                tensorboard_dir=None):
    """Trains ``arch`` on ``images.train`` and evaluates it once on ``images.test``.

    Resumes from ``<output_dir>/final/checkpoints`` when a checkpoint is there; returns the
    results dict that is also written to ``<output_dir>/final/results.json``. The trained
    model is saved for deployment: ``final/model.keras`` takes raw uint8 images (the
    standardization with the training statistics is its first layer) and gives logits,
    ``final/saved_model`` is its SavedModel export giving class probabilities.

    Args:
        space: the search space of ``arch``.
        arch: the architecture to train.
        images: an ``ImageData``.
        output_dir: the run's output directory.
        config: a ``FinalConfig``.
        runtime: a ``RuntimeConfig`` (``seed``, ``profile_steps`` and ``verbose`` are used;
            its precision is the global Keras policy's to set).
        tensorboard_dir: where the training's TensorBoard logs go (None:
            ``<output_dir>/tensorboard/final``).
    """
    arch = space.validate(arch)
    final_dir = os.path.join(output_dir, "final")
    results_path = os.path.join(final_dir, "results.json")
    if os.path.exists(results_path):
        notices.say("final training already finished: %s", results_path)
        return fileio.read_json(results_path, "final results")
    if drawing.drawable(space):
        drawing.write_svg(space, arch, os.path.join(final_dir, "arch.svg"))
    pipeline.check_batchable(images.train_x, config.batch_size, "final training split",
                             "FinalConfig.batch_size")
    mean, std = pipeline.channel_stats(images.train_x)
    steps = len(images.train_x) // config.batch_size
    strategy = make_strategy(config.strategy)
    with strategy.scope():
        model = build_network(space, arch, filters=config.filters,
                              num_classes=images.num_classes, input_shape=images.image_shape)
        compile_child(model, steps, config.first_cycle_epochs, config.lr_max, config.lr_min)
        optimizer = model.optimizer
        optimizer.build(model.trainable_variables)
        epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    run_ckpt = checkpoints.RunCheckpoint(os.path.join(final_dir, "checkpoints"),
                                           model=model, optimizer=optimizer, epoch=epoch_var)
    seconds_before = (run_ckpt.restore() or {}).get("seconds", 0.0)
    initial_epoch = int(epoch_var.numpy())
    if initial_epoch >= config.epochs:
        notices.say("final training already trained all %d epochs; evaluating", config.epochs)
    elif initial_epoch:
        notices.say("resuming final training at epoch %d of %d", initial_epoch + 1,
                     config.epochs)
    params = count_params(model)
    logging.info("final training of %s (%d parameters) for %d epochs", space.readable(arch),
                 params, config.epochs)
    epoch_checkpoint = _EpochCheckpoint(run_ckpt, epoch_var)
    epoch_checkpoint.seconds_before = seconds_before
    callbacks = [
        epoch_checkpoint,
        keras.callbacks.TensorBoard(
            log_dir=tensorboard_dir or os.path.join(output_dir, "tensorboard", "final"),
            profile_batch=tuple(runtime.profile_steps) if runtime.profile_steps else 0),
    ]
    train_ds = pipeline.train_batches(images.train_x, images.train_y, config.batch_size,
                                  runtime.seed, mean, std, first_epoch=initial_epoch,
                                  last_epoch=config.epochs, cutout=config.cutout)
    start = time.time()
    if initial_epoch < config.epochs:
        model.fit(train_ds, epochs=config.epochs, initial_epoch=initial_epoch,
                  steps_per_epoch=steps, callbacks=callbacks, verbose=runtime.verbose,
                  shuffle=False)
    train_seconds = seconds_before + time.time() - start
    trained_epochs = config.epochs - initial_epoch
    test_loss, test_acc = model.evaluate(
        pipeline.eval_batches(images.test_x, images.test_y, config.batch_size, mean, std),
        verbose=0)
    deployable = export.with_standardization(model, mean, std)
    fileio.save_keras_model(deployable, os.path.join(final_dir, "model.keras"))
    export.export_probabilities(deployable, os.path.join(final_dir, "saved_model"))
    results = {
        "test_accuracy": float(test_acc),
        "test_loss": float(test_loss),
        "params": params,
        "epochs": config.epochs,
        "seconds": train_seconds,
        "images_per_second": (trained_epochs * steps * config.batch_size / (
            train_seconds - seconds_before) if trained_epochs and train_seconds > seconds_before
            else None),
        "space": space.config(),
        "architecture": space.to_json(arch),
        "readable": space.readable(arch),
        "dataset": images.source,
        "seed": runtime.seed,
        "dtype_policy": keras.mixed_precision.global_policy().name,
    }
    fileio.write_json(results_path, results)
    logging.info("test accuracy %.4f (%s)", test_acc, results_path)
    return results
