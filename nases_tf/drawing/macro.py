"""The macro space drawn as a network: a vertical chain of layer boxes labelled with their op,
a marker where resolution halves, and one arc per skip connection on the right-hand side."""

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
    for i, op in enumerate(ops):
        name = MACRO_OPS[op]
        layers.append(Box(left, y, width, BOX_HEIGHT, name, style.op_fill(name), "round",
                          kind="layer", data=(("layer", i), ("op", name))))
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
    for i, row in enumerate(skips):
        for j, bit in enumerate(row):
            if bit:
                items.append(_skip_arc(layers[j], layers[i], right, j, i))
    items += chain
    items += [Text(left - 8, box.center[1], str(k), "end", MUTED, FONT_SIZE - 2, "index")
              for k, box in enumerate(layers)]
    reach = ARC_BASE + ARC_STEP * max(space.layers - 1, 1)
    return Scene(right + reach + MARGIN, y - GAP + MARGIN, space.readable(arch), items)


def _skip_arc(source, target, right, j, i):
    """The arc from layer box ``source`` (index ``j``) to layer box ``target`` (index ``i``)."""
    reach = (ARC_BASE + ARC_STEP * (i - j)) * 4 / 3  # a cubic's bulge is 3/4 of its controls'
    start = (right, source.center[1] + 5)
    end = (right, target.center[1] - 5)
    return Curve((start, (right + reach, start[1]), (right + reach, end[1]), end), bezier=True,
                 color=style.source_color(j), kind="skip", data=(("from", j), ("to", i)))
