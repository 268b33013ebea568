"""Colours of the drawings: one fill per op (the same op looks the same in every space) and
a small cycle of strong colours that tells connections from different sources apart."""

import zlib

OP_FILLS = {
    "identity": "#e4e4e4",
    "skip_connect": "#e4e4e4",
    "sep_conv_3x3": "#a6cee3",
    "sep_conv_5x5": "#74a9cf",
    "nor_conv_1x1": "#c6dbef",
    "nor_conv_3x3": "#74a9cf",
    "avg_pool_3x3": "#b2df8a",
    "max_pool_3x3": "#fdbf6f",
    "none": "#ffffff",
}
# Fills for ops a space adds that OP_FILLS does not know, chosen by a hash of the name.
_SPARE_FILLS = ("#fb9a99", "#cab2d6", "#ffff99", "#d9d9d9", "#ccebc5", "#fddaec")
SOURCE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#e6550d", "#8c564b",
                 "#e377c2", "#17becf")
IO_FILL = "#fff2cc"
NODE_FILL = "#ffffff"
REDUCTION_FILL = "#d9d9d9"


def op_fill(op):
    """The fill colour of op ``op`` (a stable colour for any name).

    Args:
        op: the op's name, e.g. ``sep_conv_3x3``.
    """
    if op in OP_FILLS:
        return OP_FILLS[op]
    return _SPARE_FILLS[zlib.crc32(op.encode()) % len(_SPARE_FILLS)]


def source_color(source):
    """The stroke colour of connections leaving source number ``source``.

    Args:
        source: the index of the layer or node the connection starts from.
    """
    return SOURCE_COLORS[source % len(SOURCE_COLORS)]
