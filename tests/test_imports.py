"""How the package's modules import each other: no module imports one that imports it back
(counting imports at module level and inside functions alike), only the command line
imports the command line, and only it reads the flags."""

import ast
import pathlib

PACKAGE_DIR = pathlib.Path(__file__).resolve().parents[1] / "nases_tf"


def _module_name(path):
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules():
    """Every module of the package: ``{dotted name: path}``."""
    return {_module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _imported(node, module, is_package, known):
    """The nases_tf modules an ``import`` or ``from ... import`` statement loads."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parent = module.split(".") if is_package else module.split(".")[:-1]
        parent = parent[:len(parent) - (node.level - 1)]
        base = ".".join(parent + ([base] if base else []))
    # ``from pkg import name`` loads the submodule ``pkg.name`` when there is one.
    names = [f"{base}.{alias.name}" for alias in node.names]
    return [name for name in names if name in known] or [base]


def import_graph():
    """``{module: set of nases_tf modules it imports}`` over the whole package."""
    modules = _modules()
    graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for name in _imported(node, module, path.name == "__init__.py", modules):
                    if name in modules and name != module:
                        targets.add(name)
        graph[module] = targets
    return graph


def find_cycle(graph):
    """One import cycle as a list of modules (first == last), or None."""
    state, stack = {}, []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def test_graph_sees_function_level_and_relative_imports():
    graph = import_graph()
    assert "nases_tf.networks.layers" in graph["nases_tf.networks.macro"]
    assert "nases_tf.networks.registry" in graph["nases_tf.networks"]
    # the search loop imports the networks inside a method
    assert "nases_tf.networks" in graph["nases_tf.search.loop"]


def test_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_one_that_imports_it_back():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_only_the_command_line_imports_the_command_line():
    for module, targets in import_graph().items():
        if not module.startswith("nases_tf.cli"):
            assert not any(t.startswith("nases_tf.cli") for t in targets), module


def test_the_flags_are_read_in_one_place():
    readers = [path.relative_to(PACKAGE_DIR).as_posix() for path in PACKAGE_DIR.rglob("*.py")
               if "flag_values_dict()" in path.read_text()]
    assert readers == ["cli/config.py"]
