"""A command-line start without TensorFlow's C++ start-up noise.

Importing TensorFlow prints lines that look like failures on a CPU-only machine (``I0000``
lines about oneDNN and missing CUDA drivers, ``failed call to cuInit``), before its log
level applies. ``import_tensorflow`` captures standard error while TensorFlow loads and
looks for devices, and passes on every line that is not such a known start-up message.
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


def import_tensorflow():
    """Imports TensorFlow and Keras and initializes the devices with the start-up noise
    filtered out of standard error; returns the ``tensorflow`` module."""
    # TensorFlow's own C++ errors after start-up are mostly format warnings of tf.data
    # here; Python exceptions carry the real failures. TF_CPP_MIN_LOG_LEVEL=0 shows all.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
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
