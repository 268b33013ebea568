"""Process-wide TensorFlow settings: seeds, precision policy, distribution strategy."""

from absl import logging
import keras
import tensorflow as tf

from nases_tf import notices
from nases_tf.errors import SettingError


def split_cpu(logical_cpus):
    """Splits the physical CPU into ``logical_cpus`` logical devices (before TF starts), so
    MirroredStrategy can be exercised without GPUs."""
    if logical_cpus and logical_cpus > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(logical_cpus)])


def set_seed(seed):
    """Seeds Python, numpy and TensorFlow and turns on deterministic ops, so CPU runs repeat."""
    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


def has_gpu():
    """Whether TensorFlow sees a GPU."""
    return bool(tf.config.list_physical_devices("GPU"))


def precision_policy(mixed_precision):
    """The Keras dtype policy mixed precision selects: ``mixed_float16`` on a GPU,
    ``mixed_bfloat16`` on a CPU-only machine (float16 has no fast CPU kernels), None when off."""
    if not mixed_precision:
        return None
    return "mixed_float16" if has_gpu() else "mixed_bfloat16"


def set_precision(mixed_precision):
    """Sets the global Keras dtype policy for mixed precision (or float32); returns its name."""
    policy = precision_policy(mixed_precision) or "float32"
    if policy == "mixed_bfloat16":
        logging.warning("mixed precision on a machine without GPU: using mixed_bfloat16")
    keras.mixed_precision.set_global_policy(policy)
    return policy


def make_strategy(name):
    """The ``tf.distribute`` strategy ``name`` (``default`` or ``mirrored``)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")]
        if len(devices) < 2:
            devices = [d.name for d in tf.config.list_logical_devices("CPU")] if len(
                tf.config.list_logical_devices("CPU")) > 1 else None
        strategy = tf.distribute.MirroredStrategy(devices=devices)
        notices.say("MirroredStrategy over %s", ", ".join(strategy.extended.worker_devices))
        return strategy
    raise SettingError("FinalConfig.strategy", name, "is unknown, expected 'default' or "
                       "'mirrored'")
