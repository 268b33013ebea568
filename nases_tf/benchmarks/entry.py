"""The console entry point the absl benchmarks share: parse the flags, run, and turn bad
input into a one-line error."""

import sys

from absl import app, flags

from nases_tf.errors import NasesError


def run_app(define_flags, main, argv=None):
    """Defines a benchmark's flags, parses the command line into absl's global flags and
    calls ``main(flags.FLAGS)``; a ``NasesError`` exits with a one-line error.

    Args:
        define_flags: the benchmark's ``define_flags()`` (defines on absl's global flags).
        main: the benchmark's ``main(flag_values)``.
        argv: the command line, program name first (None: ``sys.argv``).
    """
    define_flags()

    def app_main(args):
        if len(args) > 1:
            raise app.UsageError(f"unexpected arguments: {' '.join(args[1:])}")
        try:
            main(flags.FLAGS)
        except NasesError as e:
            sys.exit(f"error: {e}")

    app.run(app_main, argv)
