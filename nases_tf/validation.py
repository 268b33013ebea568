"""Checks of command-line input that need no TensorFlow: numbers, seeds, the output
directory and architecture JSON. Each raises a one-line ConfigError / ArchitectureError
naming the flag or file, and none of them writes anything."""

import math
import os
import tempfile

from nases_tf.errors import ArchitectureError, ConfigError

SEED_LIMIT = 2 ** 32  # numpy and Keras seeds are unsigned 32-bit


def check_finite(name, value):
    """Raises ConfigError unless the float flag ``--name`` is a finite number.

    Args:
        name: the flag name (without dashes).
        value: its value.
    """
    if value is None or not math.isfinite(value):
        raise ConfigError(f"--{name}={value} must be a finite number")


def check_seed(seed):
    """Raises ConfigError unless ``--seed`` is in [0, 2**32).

    Args:
        seed: the flag's value.
    """
    if seed is None or not 0 <= seed < SEED_LIMIT:
        raise ConfigError(f"--seed={seed} must be between 0 and {SEED_LIMIT - 1}")


def check_output_dir(path):
    """Raises ConfigError unless ``--output_dir`` is, or can be created as, a writable
    directory. Probes with a temporary file that is removed at once.

    Args:
        path: the flag's value.
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise ConfigError(f"--output_dir={path} is a file, not a directory")
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ConfigError(f"--output_dir={path} cannot be created: {existing} is a file")
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".nases-write-test-")
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        raise ConfigError(f"--output_dir={path} is not writable ({exc.strerror or exc} "
                          f"in {existing})") from None


def _check_shape(obj, template, where):
    """Raises ArchitectureError where ``obj`` does not have the JSON types of ``template``
    (an architecture the space wrote itself); list lengths are the space's to check."""
    if isinstance(template, dict):
        if not isinstance(obj, dict):
            raise ArchitectureError(f"{where} must be an object, got {obj!r:.60}")
        for key, sub in template.items():
            if key in obj:
                _check_shape(obj[key], sub, f"{where}.{key}")
    elif isinstance(template, list):
        if not isinstance(obj, list):
            raise ArchitectureError(f"{where} must be a list, got {obj!r:.60}")
        for i, item in enumerate(obj):
            if template:
                _check_shape(item, template[min(i, len(template) - 1)], f"{where}[{i}]")
    elif isinstance(template, bool) or isinstance(obj, bool):
        if type(obj) is not type(template):
            raise ArchitectureError(f"{where} is {obj!r}, expected {type(template).__name__}")
    elif isinstance(template, int):
        if not isinstance(obj, int):
            raise ArchitectureError(f"{where} is {obj!r:.60}, expected an integer")
    elif isinstance(template, str) and not isinstance(obj, str):
        raise ArchitectureError(f"{where} is {obj!r:.60}, expected a string")


def check_architecture_json(space, obj, source):
    """Raises ArchitectureError unless ``obj`` has the JSON types of ``space``'s
    architectures (a skip bit of 1.5 or true is refused, not rounded).

    Args:
        space: the search space.
        obj: the parsed ``architecture`` object.
        source: where it came from, for messages (e.g. ``--arch=a.json``).
    """
    template = space.to_json(tuple(0 for _ in space.sizes))
    if isinstance(template, dict) and isinstance(obj, dict):
        missing = [k for k in template if k not in obj]
        if missing:
            raise ArchitectureError(f"{source}: missing key(s) {', '.join(map(repr, missing))}")
    _check_shape(obj, template, f"{source}: architecture")


def load_architecture(space, obj, source):
    """The architecture in a parsed ``arch.json`` (``{"space", "architecture"}`` or the bare
    architecture object), type-checked and validated against ``space``.

    Args:
        space: the search space this run uses.
        obj: the parsed JSON.
        source: where it came from, for messages.
    """
    if isinstance(obj, dict) and "architecture" in obj:
        if "space" in obj:
            if not isinstance(obj["space"], dict):
                raise ArchitectureError(f"{source}: 'space' must be an object")
            space.check_config(obj["space"], source)
        obj = obj["architecture"]
    check_architecture_json(space, obj, source)
    try:
        return space.from_json(obj)
    except ArchitectureError as exc:
        raise ArchitectureError(f"{source}: {exc}") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise ArchitectureError(f"{source}: not an architecture of the {space.name} space "
                                f"({type(exc).__name__}: {exc})") from None
