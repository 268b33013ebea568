"""A ``Scene`` as an SVG 1.1 document (plain text, no dependencies).

Every box becomes a ``<g>`` holding its shape and label, carrying the box's ``kind`` as its
``class`` and its ``data`` as ``data-*`` attributes, so the file can be read by programs as
well as by eyes (``<g class="layer" data-op="sep_conv_3x3">``). Arrowheads are drawn as
polygons rather than markers, so every viewer colours them alike.
"""

from xml.sax.saxutils import escape, quoteattr

from nases_tf.drawing.scene import FONT_SIZE, INK, PAPER, Box, Curve, Group, Text

FONT_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, monospace"
# From a text's vertical middle to its baseline, as a fraction of the font size.
BASELINE_SHIFT = 0.35
DASHES = "5,3"


def render_svg(scene):
    """The SVG document of ``scene``, as a string.

    Args:
        scene: a ``Scene``.
    """
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(scene.width)}" '
        f'height="{_num(scene.height)}" viewBox="0 0 {_num(scene.width)} '
        f'{_num(scene.height)}" font-family={quoteattr(FONT_FAMILY)} font-size="{FONT_SIZE}">',
        f"<title>{escape(scene.title)}</title>",
        f'<rect width="100%" height="100%" fill="{PAPER}"/>',
    ]
    lines += _items(scene.items)
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def _items(items):
    out = []
    for item in items:
        if isinstance(item, Group):
            out.append(f"<g{_attrs(item.kind, item.data)}>")
            out += _items(item.items)
            out.append("</g>")
        elif isinstance(item, Box):
            out.append(_box(item))
        elif isinstance(item, Curve):
            out.append(_curve(item))
        elif isinstance(item, Text):
            out.append(_text(item))
        else:
            raise TypeError(f"cannot draw {item!r} in SVG")
    return out


def _box(box):
    dash = f' stroke-dasharray="{DASHES}"' if box.dashed else ""
    paint = f'fill="{box.fill}" stroke="{INK}" stroke-width="1.2"{dash}'
    if box.shape == "ellipse":
        cx, cy = box.center
        shape = (f'<ellipse cx="{_num(cx)}" cy="{_num(cy)}" rx="{_num(box.width / 2)}" '
                 f'ry="{_num(box.height / 2)}" {paint}/>')
    else:
        radius = min(box.height / 3, 6) if box.shape == "round" else 0
        shape = (f'<rect x="{_num(box.x)}" y="{_num(box.y)}" width="{_num(box.width)}" '
                 f'height="{_num(box.height)}" rx="{_num(radius)}" {paint}/>')
    size = min(12, box.height - 4)
    label = _text(Text(box.center[0], box.center[1], box.label, "middle", size=size)) \
        if box.label else ""
    return f"<g{_attrs(box.kind, box.data)}>{shape}{label}</g>"


def _curve(curve):
    points = curve.points
    if curve.bezier:
        path = "M {} C {} {} {}".format(*(f"{_num(x)},{_num(y)}" for x, y in points))
    else:
        path = "M " + " L ".join(f"{_num(x)},{_num(y)}" for x, y in points)
    dash = f' stroke-dasharray="{DASHES}"' if curve.dashed else ""
    out = (f'<path{_attrs(curve.kind, curve.data)} d="{path}" fill="none" '
           f'stroke="{curve.color}" stroke-width="{_num(curve.width)}"{dash}/>')
    head = curve.arrowhead()
    if head:
        corners = " ".join(f"{_num(x)},{_num(y)}" for x, y in head)
        out += f'<polygon class="arrowhead" points="{corners}" fill="{curve.color}"/>'
    return out


def _text(text):
    baseline = text.y + BASELINE_SHIFT * text.size
    kind = f' class="{text.kind}"' if text.kind else ""
    return (f'<text{kind} x="{_num(text.x)}" y="{_num(baseline)}" text-anchor="{text.anchor}" '
            f'font-size="{_num(text.size)}" fill="{text.color}">{escape(text.text)}</text>')


def _attrs(kind, data):
    out = f' class="{kind}"' if kind else ""
    for key, value in data:
        out += f" data-{key}={quoteattr(str(value))}"
    return out


def _num(value):
    return f"{value:.1f}".rstrip("0").rstrip(".")
