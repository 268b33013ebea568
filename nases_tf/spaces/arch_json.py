"""Architecture JSON as a user hands it in (an ``arch.json`` or its ``architecture``
object): type-checked against the space's own JSON form and validated, each problem one
ArchitectureError line naming the file and the key."""

from nases_tf.errors import ArchitectureError


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
        source: where it came from, for messages (e.g. a file name).
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
