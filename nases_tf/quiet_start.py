"""A start without TensorFlow's C++ start-up noise, for the command line and the
keras-tuner entry points.

Importing TensorFlow prints lines that look like failures on a CPU-only machine (``I0000``
lines about oneDNN and missing CUDA drivers), before its log level applies, and its first
look for devices prints ``failed call to cuInit``. ``import_tensorflow`` captures standard
error while TensorFlow loads and looks for devices, and passes on every line that is not
such a known start-up message. When a user's script imported TensorFlow first, only the
device look is left to quiet.
"""

import os
import re
import sys
import tempfile

_STARTUP_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IW]\d{4} .*\] "  # C++ INFO and WARNING lines of the start-up
    r"|E\d{4} .*failed call to cuInit"
    r"|To enable the following instructions"
    r"|This TensorFlow binary is optimized)")


def is_startup_noise(line):
    """Whether ``line`` is one of TensorFlow's known start-up messages.

    Args:
        line: one line of standard error.
    """
    return bool(_STARTUP_NOISE.match(line))


def import_tensorflow(cpp_log_level=None):
    """Imports TensorFlow and Keras and initializes the devices with the start-up noise
    filtered out of standard error; returns the ``tensorflow`` module.

    Args:
        cpp_log_level: the ``TF_CPP_MIN_LOG_LEVEL`` to set unless the environment sets it
            (None: leave TensorFlow's own C++ logging as it is).
    """
    if cpp_log_level is not None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", str(cpp_log_level))
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401
            import tensorflow as tf
            tf.config.list_physical_devices("GPU")
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        text = captured.read().decode("utf-8", errors="replace")
    kept = [line for line in text.splitlines() if line and not is_startup_noise(line)]
    if kept:
        print("\n".join(kept), file=sys.stderr)
    return tf
