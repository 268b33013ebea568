"""Cells drawn as arc diagrams: the cell's inputs and nodes in one row, in the order the
cell computes them, and each edge an arc from its source to its target with the edge's op
written at the arc's top.

An arc's height grows with the number of columns it spans, by more than an op label is
tall, and arcs of one span never share a target, so no two op labels overlap.
"""

import dataclasses

from nases_tf.drawing import style
from nases_tf.drawing.scene import MUTED, Box, Curve, Group, Scene, Text, text_width
from nases_tf.spaces.micro import CELL_KINDS, MICRO_OPS, MicroSpace
from nases_tf.spaces.nasbench201 import EDGES, NUM_NODES, OPS as NB201_OPS

MARGIN = 16
TITLE = 24
NODE_WIDTH = 64
NODE_HEIGHT = 28
PITCH = 132
LABEL_HEIGHT = 18
# Height of an arc's top above (or below) the node row: ARC_BASE plus LEVEL per column spanned.
ARC_BASE = 14
LEVEL = 22
# Unlabelled arcs into the output stay flatter than every labelled one.
CONCAT_BASE = 8
CONCAT_LEVEL = 4
# Arcs leave a node right of its centre and enter left of it, so arrowheads stand apart.
OFFSET = 9
CELL_GAP = 12
NOTE_HEIGHT = 16
MICRO_NOTE = ("arc colour: the column it leaves; op on the arc, its box coloured by op; "
              "dashed: a node the cell output concatenates")
NB201_NOTE = "arc colour: the node it leaves; dashed: none (no connection)"


@dataclasses.dataclass(frozen=True)
class Edge:
    """One arc of a cell.

    Args:
        source, target: the columns it joins.
        op: the op written on it (None: an unlabelled arc into the cell output).
        above: drawn above the node row (else below).
    """

    source: int
    target: int
    op: str = None
    above: bool = True


def draw_micro(space, arch):
    """The scene of micro architecture ``arch``: the normal cell above the reduction cell.

    In each cell, columns 0 and 1 are the cell inputs (the outputs of the two previous
    cells), column ``k >= 2`` is node ``k`` (numbered as in the readable form), and the last
    column is the output, the concatenation of the nodes no node reads. A node's first
    input arrives from above, its second from below.

    Args:
        space: a ``MicroSpace``.
        arch: an architecture of ``space``.
    """
    groups, top = [], MARGIN
    for kind, cell in zip(CELL_KINDS, space.split(arch)):
        output = len(cell) + 2
        nodes = ([("c(k-2)", style.IO_FILL), ("c(k-1)", style.IO_FILL)]
                 + [(f"n{i + 2}", style.NODE_FILL) for i in range(len(cell))]
                 + [("concat", style.IO_FILL)])
        edges = []
        for i, (a, op_a, b, op_b) in enumerate(cell):
            edges.append(Edge(a, i + 2, MICRO_OPS[op_a], above=True))
            edges.append(Edge(b, i + 2, MICRO_OPS[op_b], above=False))
        edges += [Edge(n, output, above=False) for n in MicroSpace.unused_nodes(cell)]
        group, top = _arc_cell(f"{kind} cell", kind, nodes, edges, top, space.nodes + 1,
                               space.nodes + 1)
        groups.append(group)
    groups.append(_note(top, MICRO_NOTE))
    return Scene(_width(space.nodes + 3), top - CELL_GAP + NOTE_HEIGHT + MARGIN,
                 space.readable(arch), groups)


def draw_nasbench201(space, arch):
    """The scene of a NAS-Bench-201 cell: nodes 0 (input) to 3 (output), each of the six
    edges an arc labelled with its op; ``none`` edges are dashed.

    Args:
        space: a ``NasBench201Space``.
        arch: an architecture of ``space``.
    """
    nodes = [(str(k), style.IO_FILL if k in (0, NUM_NODES - 1) else style.NODE_FILL)
             for k in range(NUM_NODES)]
    edges = [Edge(i, j, NB201_OPS[op]) for (j, i), op in zip(EDGES, space.validate(arch))]
    group, bottom = _arc_cell("nasbench201 cell", "cell", nodes, edges, MARGIN,
                              NUM_NODES - 1, 0)
    return Scene(_width(NUM_NODES), bottom - CELL_GAP + NOTE_HEIGHT + MARGIN,
                 space.readable(arch), [group, _note(bottom, NB201_NOTE)])


def _note(top, text):
    """The legend line under the cells (what an arc's colour and dashes say)."""
    return Text(MARGIN, top - CELL_GAP + NOTE_HEIGHT / 2, text, color=MUTED, size=10,
                kind="legend")


def _width(columns):
    return 2 * MARGIN + NODE_WIDTH + (columns - 1) * PITCH


def _reach(span_above):
    """How far the arcs of up to ``span_above`` columns and their labels rise."""
    return ARC_BASE + LEVEL * span_above + LABEL_HEIGHT / 2 if span_above else 0


def _arc_cell(title, kind, nodes, edges, top, max_span_above, max_span_below):
    """One cell as a ``Group`` starting at height ``top``; returns it and the next free y.

    The space above and below the node row is sized for the longest arcs the space allows
    (not those ``edges`` happen to have), so every architecture gets a picture of one size.
    """
    row = top + TITLE + max(_reach(max_span_above), OFFSET)
    bottom = row + NODE_HEIGHT
    centers = [MARGIN + NODE_WIDTH / 2 + k * PITCH for k in range(len(nodes))]
    arcs, labels = [], []
    for edge in edges:
        start_x, end_x = centers[edge.source] + OFFSET, centers[edge.target] - OFFSET
        span = edge.target - edge.source
        if edge.op is None:
            height, base_y = CONCAT_BASE + CONCAT_LEVEL * span, bottom
        else:
            height, base_y = ARC_BASE + LEVEL * span, row if edge.above else bottom
        sign = -1 if edge.above else 1
        control_y = base_y + sign * height * 4 / 3  # a cubic's bulge is 3/4 of its controls'
        none = edge.op == "none"
        arcs.append(Curve(
            ((start_x, base_y), (start_x, control_y), (end_x, control_y), (end_x, base_y)),
            bezier=True, color=MUTED if edge.op is None or none else
            style.source_color(edge.source), dashed=edge.op is None or none,
            width=1.2 if edge.op is None else 1.5,
            kind="edge" if edge.op else "concat",
            data=(("from", edge.source), ("to", edge.target)) + (
                (("op", edge.op),) if edge.op else ())))
        if edge.op:
            width = text_width(edge.op, LABEL_HEIGHT - 6) + 10
            labels.append(Box((start_x + end_x - width) / 2, base_y + sign * height -
                              LABEL_HEIGHT / 2, width, LABEL_HEIGHT, edge.op,
                              style.op_fill(edge.op), "round", kind="op",
                              data=(("op", edge.op),), dashed=none))
    boxes = [Box(x - NODE_WIDTH / 2, row, NODE_WIDTH, NODE_HEIGHT, label, fill,
                 "ellipse" if fill == style.NODE_FILL else "round", kind="node",
                 data=(("node", label),)) for x, (label, fill) in zip(centers, nodes)]
    items = [Text(MARGIN, top + TITLE / 2, title, kind="heading")] + arcs + labels + boxes
    below = max([_reach(max_span_below)] + [CONCAT_BASE + CONCAT_LEVEL * len(nodes)
                                             for edge in edges if edge.op is None])
    return Group("cell", (("cell", kind),), items), bottom + below + CELL_GAP
