"""Running bin/run_nases.py as a user would, in a subprocess."""

import glob
import hashlib
import json
import os
import subprocess
import sys

from conftest import REPO

SCRIPT = str(REPO / "bin" / "run_nases.py")


def command(*flags):
    """The argv of ``bin/run_nases.py`` with ``flags``."""
    return [sys.executable, SCRIPT, *flags]


def run(*flags, timeout=600):
    """Runs the CLI to completion; returns the CompletedProcess (text output)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(command(*flags), capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=str(REPO))


def read_json(path):
    with open(path) as f:
        return json.load(f)


def scalar_tags(log_dir):
    """Set of scalar tags in the TensorBoard event files under ``log_dir``."""
    import tensorflow as tf
    tags = set()
    for path in glob.glob(os.path.join(log_dir, "**", "events.out.tfevents.*"), recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tags.add(value.tag)
    return tags


def parse_run(*flags):
    """The ``RunConfig`` that ``bin/run_nases.py`` reads from ``flags`` (in this process;
    absl's global flags are left unparsed again)."""
    from nases_tf.cli import config, flags as cli_flags

    cli_flags.FLAGS.unparse_flags()
    try:
        cli_flags.FLAGS(["run_nases.py", *flags])
        return config.read_flags()
    finally:
        cli_flags.FLAGS.unparse_flags()


def error_line(stderr):
    """The one ``run_nases.py: error:`` line of ``stderr`` (asserting there is exactly one,
    and no traceback)."""
    errors = [l for l in stderr.splitlines() if "run_nases.py: error:" in l]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr[-2000:]
    return errors[0]


def assert_refused(done, *words):
    """Exit 2 and exactly one error line, containing ``words``, with no traceback."""
    assert done.returncode == 2, done.stderr[-2000:]
    line = error_line(done.stderr)
    for word in words:
        assert word in line, line


def snapshot(directory):
    """{relative path: sha256} of every file under ``directory``."""
    out = {}
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, directory)] = hashlib.sha256(f.read()).hexdigest()
    return out


def run_main(*flags):
    """Runs ``bin/run_nases.py``'s ``main`` with ``flags`` in this process; returns its exit
    code (0 when it returns). What it prints is the caller's to capture (``capsys``)."""
    from nases_tf.cli import flags as cli_flags, main

    argv0, sys.argv[0] = sys.argv[0], "run_nases.py"
    cli_flags.FLAGS.unparse_flags()
    try:
        main.main(cli_flags.FLAGS(["run_nases.py", *flags]))
        return 0
    except SystemExit as exc:
        return exc.code
    finally:
        cli_flags.FLAGS.unparse_flags()
        sys.argv[0] = argv0
