"""The macro space drawn as a network: a vertical chain of layer boxes labelled with their op,
a marker where resolution halves, one arc per skip connection on the right-hand side, and a
legend of the op colours and of what an arc's colour says.

Each arc has a port of its own on both boxes (arcs into a layer enter its upper part one
above the other, arcs out of it leave its lower part), so fan-in and fan-out can be counted.
A layer's box is as tall as the most arcs its position allows need (layer i can take i
arcs in and send L-1-i out), whatever the architecture, so every picture of one space has
one size.
"""

from nases_tf.drawing import style
from nases_tf.drawing.scene import FONT_SIZE, MUTED, Box, Curve, Scene, Text, text_width
from nases_tf.spaces.macro import MACRO_OPS

MARGIN = 16
HEADING = 26
INDEX_WIDTH = 26
BOX_HEIGHT = 26
GAP = 20
REDUCTION_HEIGHT = 16
# Horizontal reach of a skip arc: ARC_BASE plus ARC_STEP per layer it jumps, so arcs nest.
ARC_BASE = 14
ARC_STEP = 10
HEAD_LABEL = "pool + classifier"
# Vertical distance of two arc ports on one box.
PORT_GAP = 3
SWATCH = 12
LEGEND_LINE = 16
ARC_NOTE = "skip arc: its colour is that of the layer number it leaves"


def draw_macro(space, arch):
    """The scene of macro architecture ``arch``: images at the top, the L layers, the
    classifier at the bottom; skip arcs leave a layer's lower right and enter the upper
    right of the layer whose output they are added to.

    Args:
        space: a ``MacroSpace``.
        arch: an architecture of ``space``.
    """
    ops, skips = space.split(arch)
    width = max(text_width(label) for label in MACRO_OPS + (HEAD_LABEL,)) + 20
    left = MARGIN + INDEX_WIDTH
    chain, layers, y = [], [], MARGIN + HEADING
    reductions = space.reduction_after()

    def add(box):
        chain.append(box)
        return box.y + box.height + GAP

    y = add(Box(left, y, width, BOX_HEIGHT, "images", style.IO_FILL, "round", kind="input"))
    splits = []
    for i, op in enumerate(ops):
        name = MACRO_OPS[op]
        upper, lower = (_ports_height(i), _ports_height(space.layers - 1 - i))
        layers.append(Box(left, y, width, upper + lower, name, style.op_fill(name), "round",
                          kind="layer", data=(("layer", i), ("op", name))))
        splits.append(y + upper)
        y = add(layers[-1])
        if i in reductions:
            y = add(Box(left + width / 4, y, width / 2, REDUCTION_HEIGHT, "reduce x2",
                        style.REDUCTION_FILL, kind="reduction", data=(("after", i),)))
    y = add(Box(left, y, width, BOX_HEIGHT, HEAD_LABEL, style.IO_FILL, "round",
                kind="output"))
    right = left + width
    items = [Text(MARGIN, MARGIN + HEADING / 2 - 4, f"macro network, {space.layers} layers",
                  kind="heading")]
    items += [Curve(((left + width / 2, a.y + a.height), (left + width / 2, b.y)),
                    kind="chain") for a, b in zip(chain, chain[1:])]
    arcs = [(j, i) for i, row in enumerate(skips) for j, bit in enumerate(row) if bit]
    for j, i in arcs:
        inputs = [a for a, b in arcs if b == i]
        outputs = [b for a, b in arcs if a == j]
        start = (right, splits[j] + 5 + PORT_GAP * outputs.index(i))
        end = (right, splits[i] - 5 - PORT_GAP * (len(inputs) - 1 - inputs.index(j)))
        items.append(_skip_arc(start, end, j, i))
    items += chain
    leaving = {j for j, _ in arcs}
    items += [Text(left - 8, box.center[1], str(k), "end",
                   style.source_color(k) if k in leaving else MUTED, FONT_SIZE - 2, "index")
              for k, box in enumerate(layers)]
    legend, legend_width = _legend(MARGIN, y - GAP + 12)
    items += legend
    reach = ARC_BASE + ARC_STEP * max(space.layers - 1, 1)
    return Scene(max(right + reach, MARGIN + legend_width) + MARGIN,
                 y - GAP + 12 + LEGEND_LINE * (len(MACRO_OPS) + 1) + MARGIN,
                 space.readable(arch), items)


def _ports_height(arcs):
    """Height of the part of a layer box where up to ``arcs`` arcs meet it."""
    return max(BOX_HEIGHT / 2, 8 + PORT_GAP * max(arcs - 1, 0))


def _skip_arc(start, end, j, i):
    """The arc from layer ``j`` to layer ``i`` between ports ``start`` and ``end``."""
    reach = (ARC_BASE + ARC_STEP * (i - j)) * 4 / 3  # a cubic's bulge is 3/4 of its controls'
    right = start[0]
    return Curve((start, (right + reach, start[1]), (right + reach, end[1]), end), bezier=True,
                 color=style.source_color(j), kind="skip", data=(("from", j), ("to", i)))


def _legend(x, y):
    """The legend's items from ``(x, y)`` down: a swatch per op, then the arcs' colour note;
    returns (items, width)."""
    items = []
    for k, name in enumerate(MACRO_OPS):
        top = y + k * LEGEND_LINE
        items.append(Box(x, top, SWATCH, SWATCH, fill=style.op_fill(name), kind="legend",
                         data=(("op", name),)))
        items.append(Text(x + SWATCH + 6, top + SWATCH / 2, name, kind="legend"))
    note_y = y + len(MACRO_OPS) * LEGEND_LINE + SWATCH / 2
    items.append(Text(x, note_y, ARC_NOTE, color=MUTED, size=FONT_SIZE - 2, kind="legend"))
    return items, max(SWATCH + 6 + text_width(max(MACRO_OPS, key=len)),
                      text_width(ARC_NOTE, FONT_SIZE - 2))
