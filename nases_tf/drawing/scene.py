"""What a drawing holds, independent of how it is rendered: boxes, curves and text in pixel
coordinates (origin top left, y down), grouped and tagged so an SVG keeps their meaning.

Layouts build a ``Scene``; ``svg.render_svg`` and ``image.render_image`` turn the same
scene into an SVG document or an RGB array, so the two renderings never disagree.
"""

import dataclasses
import math

FONT_SIZE = 12
INK = "#333333"
MUTED = "#888888"
PAPER = "#ffffff"


def text_width(text, size=FONT_SIZE):
    """Width in pixels of ``text`` set in a monospace font of ``size`` pixels (a monospace
    character advances 0.6 of the font size).

    Args:
        text: the string.
        size: font size in pixels.
    """
    return len(text) * 0.6 * size


@dataclasses.dataclass(frozen=True)
class Box:
    """A labelled shape: a layer, a cell node, an op on an edge.

    Args:
        x, y: top-left corner.
        width, height: size.
        label: text centred in the box.
        fill: fill colour (``#rrggbb``).
        shape: ``rect``, ``round`` (rounded corners) or ``ellipse``.
        kind: what the box stands for (the SVG ``class``), e.g. ``layer`` or ``op``.
        data: extra facts kept as SVG ``data-*`` attributes, e.g. ``{"op": "identity"}``.
        dashed: draw the outline dashed (an op that is no connection).
    """

    x: float
    y: float
    width: float
    height: float
    label: str = ""
    fill: str = PAPER
    shape: str = "rect"
    kind: str = ""
    data: tuple = ()
    dashed: bool = False

    @property
    def center(self):
        """The centre point ``(x, y)``."""
        return self.x + self.width / 2, self.y + self.height / 2


@dataclasses.dataclass(frozen=True)
class Curve:
    """A connection: a straight polyline, or a cubic Bézier ``(start, control, control, end)``.

    Args:
        points: the polyline's points, or the Bézier's four points.
        bezier: whether ``points`` are Bézier control points.
        color: stroke colour.
        width: stroke width in pixels.
        dashed: draw dashed.
        arrow: end in an arrowhead.
        kind: what the curve stands for (the SVG ``class``), e.g. ``skip`` or ``edge``.
        data: extra facts kept as SVG ``data-*`` attributes.
    """

    points: tuple
    bezier: bool = False
    color: str = INK
    width: float = 1.5
    dashed: bool = False
    arrow: bool = True
    kind: str = ""
    data: tuple = ()

    def polyline(self, samples=48):
        """The curve as a list of points (a Bézier sampled at ``samples`` + 1 points).

        Args:
            samples: segments a Bézier is cut into.
        """
        if not self.bezier:
            return list(self.points)
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.points
        out = []
        for k in range(samples + 1):
            t = k / samples
            a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3
            out.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
        return out

    def arrowhead(self, length=8.0, half_width=4.0):
        """The arrowhead triangle at the curve's end, as three points (empty without arrow).

        Args:
            length: from tip to base, in pixels.
            half_width: half the base, in pixels.
        """
        if not self.arrow:
            return ()
        tip = self.points[-1]
        before = next(p for p in reversed(self.points[:-1]) if p != tip)
        dx, dy = tip[0] - before[0], tip[1] - before[1]
        norm = math.hypot(dx, dy)
        dx, dy = dx / norm, dy / norm
        bx, by = tip[0] - dx * length, tip[1] - dy * length
        return (tip, (bx - dy * half_width, by + dx * half_width),
                (bx + dy * half_width, by - dx * half_width))


@dataclasses.dataclass(frozen=True)
class Text:
    """A free-standing label (a title, a layer number, a reduction note).

    Args:
        x, y: anchor point; ``y`` is the vertical middle of the text.
        text: the string.
        anchor: ``start``, ``middle`` or ``end``: which part of the text sits at ``x``.
        color: text colour.
        size: font size in pixels.
        kind: the SVG ``class``.
    """

    x: float
    y: float
    text: str
    anchor: str = "start"
    color: str = INK
    size: float = FONT_SIZE
    kind: str = ""


@dataclasses.dataclass
class Group:
    """Items that belong together (one cell), kept as an SVG ``<g>``.

    Args:
        kind: the SVG ``class``, e.g. ``cell``.
        data: extra facts kept as SVG ``data-*`` attributes.
        items: the boxes, curves, texts and groups inside, drawn in order.
    """

    kind: str
    data: tuple = ()
    items: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Scene:
    """A whole drawing: its size and its items, drawn in order (later on top).

    Args:
        width, height: size in pixels.
        title: a one-line description (the architecture's readable form).
        items: boxes, curves, texts and groups.
    """

    width: float
    height: float
    title: str = ""
    items: list = dataclasses.field(default_factory=list)


def walk(items):
    """Every box, curve and text in ``items``, groups opened, in drawing order.

    Args:
        items: a list of scene items.
    """
    for item in items:
        if isinstance(item, Group):
            yield from walk(item.items)
        else:
            yield item
