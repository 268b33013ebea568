"""The ``nases-draw`` command: draws the architecture of an arch.json as an SVG.

    nases-draw runs/c10/search/arch.json                 # writes runs/c10/search/arch.svg
    nases-draw runs/c10/final/results.json --output=best.svg

Any JSON with the ``space`` and ``architecture`` keys that the search and final training
write is accepted. Bad input ends with one line naming the file, and exit code 2.
"""

import argparse
import os
import sys

from nases_tf import drawing, spaces
from nases_tf.errors import DataError, NasesError
from nases_tf.storage import fileio

PROG = "nases-draw"


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (like every other nases_tf error)."""

    def error(self, message):
        _fail(message)


def read_arch_file(path):
    """The search space and the architecture that an arch.json describes.

    Args:
        path: a JSON file with keys ``space`` (the space's config) and ``architecture``.

    Raises:
        DataError: if the file is missing, not JSON, not an arch.json, or its architecture
            does not belong to its space.
    """
    obj = fileio.read_json(path, "architecture file")
    if not (isinstance(obj, dict) and isinstance(obj.get("space"), dict)
            and "name" in obj["space"] and "architecture" in obj):
        raise DataError(f"{path}: not an arch.json (needs a 'space' config with a 'name' and "
                        "an 'architecture')")
    try:
        space = spaces.space_from_config(obj["space"])
    except (NasesError, TypeError) as exc:
        raise DataError(f"{path}: cannot rebuild its search space {obj['space']} ({exc})") \
            from None
    try:
        return space, space.from_json(obj["architecture"])
    except NasesError as exc:
        raise DataError(f"{path}: {exc}") from None


def main(argv=None):
    """Runs the command on ``argv`` (default: the process's arguments); returns the exit code.

    Args:
        argv: the arguments after the program name.
    """
    parser = _OneLineParser(prog=PROG, description="Draw the architecture of an arch.json "
                            "(from a nases_tf search or final training) as an SVG.")
    parser.add_argument("arch_json", help="the arch.json (or final/results.json) to draw")
    parser.add_argument("--output", help="the SVG to write (default: beside the input, .svg)")
    args = parser.parse_args(argv)
    output = args.output or os.path.splitext(args.arch_json)[0] + ".svg"
    try:
        space, arch = read_arch_file(args.arch_json)
        drawing.write_svg(space, arch, output)
    except NasesError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"--output={output}: cannot write ({exc.strerror or exc})")
    print(output)
    return 0


def _fail(message):
    print(f"{PROG}: error: {message}", file=sys.stderr)
    sys.exit(2)


def run():
    """Entry point of the ``nases-draw`` console script."""
    sys.exit(main())
