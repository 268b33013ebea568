"""The ENAS micro (cell) space: a normal and a reduction cell of B nodes.

Within a cell, the two cell inputs are numbered 0 and 1 (the outputs of the two previous
cells) and node ``i`` (0-based) is numbered ``i + 2``. Node ``i`` picks two inputs among the
``i + 2`` earlier numbers and, for each, one of ``MICRO_OPS``; its output is
``op_a(input_a) + op_b(input_b)``. The cell output concatenates the nodes no other node of
the cell reads.
"""

from nases_tf.errors import ArchitectureError
from nases_tf.spaces.base import SearchSpace
from nases_tf.spaces.macro import MACRO_OPS

MICRO_OPS = MACRO_OPS  # ENAS: the same five ops in both spaces
CELL_KINDS = ("normal", "reduction")
# Decisions per node, in vector order.
NODE_FIELDS = ("input_a", "op_a", "input_b", "op_b")


class MicroSpace(SearchSpace):
    """ENAS's cell space: B nodes per cell, a normal cell then a reduction cell.

    The flat vector lists the normal cell's nodes, then the reduction cell's; per node
    ``input_a, op_a, input_b, op_b`` (inputs index ``0 .. i+1`` for node ``i``, ops index
    ``MICRO_OPS``), so ``m = 2 * 4 * B`` (40 for ENAS's B=5).

    ``cells_per_stage`` (N) does not change the decisions: it sizes the network (three
    stages of N normal cells separated by two reduction cells) and is kept in ``config()``
    so that saved architectures and coders record it.

    Args:
        nodes: nodes per cell, B (at least 1).
        cells_per_stage: normal cells per stage, N (at least 1).
    """

    name = "micro"

    def __init__(self, nodes=5, cells_per_stage=5):
        if int(nodes) < 1:
            raise ArchitectureError(f"micro space needs at least 1 node per cell, got {nodes}")
        if int(cells_per_stage) < 1:
            raise ArchitectureError(
                f"micro space needs at least 1 cell per stage, got {cells_per_stage}")
        self.nodes = int(nodes)
        self.cells_per_stage = int(cells_per_stage)
        names, sizes = [], []
        for kind in CELL_KINDS:
            for i in range(self.nodes):
                for field in NODE_FIELDS:
                    names.append(f"{kind}_node{i + 2}_{field}")
                    sizes.append(i + 2 if field.startswith("input") else len(MICRO_OPS))
        self._define_decisions(names, sizes)

    identity_keys = ("name", "nodes")  # N sizes the network, not the cell: search small, train big

    def config(self):
        return {"name": self.name, "nodes": self.nodes, "cells_per_stage": self.cells_per_stage}

    def position(self, kind, node, field):
        """Flat index of decision ``field`` (``NODE_FIELDS``) of node ``node`` (0-based) of
        cell ``kind`` (``"normal"`` or ``"reduction"``)."""
        return (CELL_KINDS.index(kind) * self.nodes + node) * len(NODE_FIELDS) + \
            NODE_FIELDS.index(field)

    def split(self, arch):
        """Returns ``(normal_cell, reduction_cell)``, each a tuple of B nodes
        ``(input_a, op_a, input_b, op_b)``."""
        arch = self.validate(arch)
        cells = []
        for c in range(len(CELL_KINDS)):
            start = c * self.nodes * 4
            cells.append(tuple(tuple(arch[start + 4 * i:start + 4 * i + 4])
                               for i in range(self.nodes)))
        return tuple(cells)

    def join(self, normal, reduction):
        """Inverse of ``split``: the flat vector of two cells' nodes, validated."""
        flat = []
        for kind, cell in zip(CELL_KINDS, (normal, reduction)):
            cell = list(cell)
            if len(cell) != self.nodes:
                raise ArchitectureError(
                    f"micro {kind} cell has {len(cell)} nodes, expected {self.nodes}")
            for i, node in enumerate(cell):
                node = list(node)
                if len(node) != 4:
                    raise ArchitectureError(
                        f"micro {kind} cell node {i + 2} has {len(node)} entries, expected 4 "
                        f"(input_a, op_a, input_b, op_b)")
                flat.extend(node)
        return self.validate(flat)

    @staticmethod
    def unused_nodes(cell):
        """Numbers (``2 .. B+1``) of the nodes of ``cell`` that no other node reads: the
        nodes the cell output concatenates, in increasing order."""
        used = {node[0] for node in cell} | {node[2] for node in cell}
        return tuple(i + 2 for i in range(len(cell)) if i + 2 not in used)

    def to_json(self, arch):
        cells = self.split(arch)
        return {kind: [[a, MICRO_OPS[oa], b, MICRO_OPS[ob]] for a, oa, b, ob in cell]
                for kind, cell in zip(CELL_KINDS, cells)}

    def from_json(self, obj):
        if not isinstance(obj, dict) or any(kind not in obj for kind in CELL_KINDS):
            raise ArchitectureError(
                "micro architecture JSON needs keys 'normal' and 'reduction', each a list of "
                "nodes [input_a, op_a, input_b, op_b]")
        cells = []
        for kind in CELL_KINDS:
            nodes = obj[kind]
            if not isinstance(nodes, (list, tuple)) or len(nodes) != self.nodes:
                raise ArchitectureError(
                    f"micro {kind} cell must list {self.nodes} nodes, got {nodes!r}")
            cell = []
            for i, node in enumerate(nodes):
                if not isinstance(node, (list, tuple)) or len(node) != 4:
                    raise ArchitectureError(
                        f"micro {kind} cell node {i + 2} is {node!r}, expected "
                        f"[input_a, op_a, input_b, op_b]")
                values = []
                for field, value in zip(NODE_FIELDS, node):
                    if field.startswith("op"):
                        if value not in MICRO_OPS:
                            raise ArchitectureError(
                                f"micro {kind} cell node {i + 2} {field} is unknown op "
                                f"{value!r}, expected one of {', '.join(MICRO_OPS)}")
                        values.append(MICRO_OPS.index(value))
                    else:
                        if (isinstance(value, bool) or not isinstance(value, int)
                                or not 0 <= value < i + 2):
                            raise ArchitectureError(
                                f"micro {kind} cell node {i + 2} {field} is {value!r}, "
                                f"expected an input number in [0, {i + 2})")
                        values.append(value)
                cell.append(values)
            cells.append(cell)
        return self.join(*cells)

    def readable(self, arch):
        parts = []
        for kind, cell in zip(CELL_KINDS, self.split(arch)):
            nodes = [f"n{i + 2}={MICRO_OPS[oa]}({a})+{MICRO_OPS[ob]}({b})"
                     for i, (a, oa, b, ob) in enumerate(cell)]
            parts.append(f"{kind}: " + " ".join(nodes))
        return " || ".join(parts)
