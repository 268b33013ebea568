"""Messages a user must see whatever the log level: a stage resumed, reused or recovered."""

import sys

from absl import logging


def say(message, *args):
    """Prints ``message % args`` to standard error (and logs it at INFO level).

    Args:
        message: a %-format string.
        *args: its arguments.
    """
    text = message % args if args else message
    logging.info(text)
    if logging.get_verbosity() < logging.INFO:  # absl: lower is quieter; else the line is shown
        print(text, file=sys.stderr, flush=True)
