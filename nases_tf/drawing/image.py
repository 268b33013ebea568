"""A ``Scene`` painted with Pillow's ``ImageDraw`` into an RGB array (for TensorBoard, which
shows images, not SVG).

Labels are set in Pillow's bundled font without anti-aliasing, so their ink is exactly the
scene's text colour; a dashed outline is drawn solid in a muted colour, which reads the same
at raster sizes.
"""

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nases_tf.drawing.scene import FONT_SIZE, INK, MUTED, PAPER, Box, Curve, Text, walk

_ANCHORS = {"start": "lm", "middle": "mm", "end": "rm"}  # Pillow: horizontal, then middle


def render_image(scene, scale=1):
    """The picture of ``scene``: a uint8 array of shape (height, width, 3).

    Args:
        scene: a ``Scene``.
        scale: pixels per scene unit (a positive integer).
    """
    scale = int(scale)
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    size = (math.ceil(scene.width) * scale, math.ceil(scene.height) * scale)
    image = Image.new("RGB", size, PAPER)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"  # no anti-aliasing: text pixels are the text colour
    for item in walk(scene.items):
        if isinstance(item, Box):
            _box(draw, item, scale)
        elif isinstance(item, Curve):
            _curve(draw, item, scale)
        elif isinstance(item, Text):
            _text(draw, item.text, item.x, item.y, item.anchor, item.color, item.size, scale)
        else:
            raise TypeError(f"cannot paint {item!r}")
    return np.asarray(image, dtype=np.uint8)


def _box(draw, box, scale):
    corners = [box.x * scale, box.y * scale, (box.x + box.width) * scale,
               (box.y + box.height) * scale]
    outline = MUTED if box.dashed else INK
    width = max(1, round(1.2 * scale))
    if box.shape == "ellipse":
        draw.ellipse(corners, fill=box.fill, outline=outline, width=width)
    else:
        radius = min(box.height / 3, 6) * scale if box.shape == "round" else 0
        draw.rounded_rectangle(corners, radius=radius, fill=box.fill, outline=outline,
                               width=width)
    if box.label:
        cx, cy = box.center
        _text(draw, box.label, cx, cy, "middle", INK, min(FONT_SIZE, box.height - 4), scale)


def _curve(draw, curve, scale):
    points = [(x * scale, y * scale) for x, y in curve.polyline()]
    width = max(1, round(curve.width * scale))
    if curve.dashed:
        for start, end in _dashes(points, 5 * scale, 3 * scale):
            draw.line([start, end], fill=curve.color, width=width)
    else:
        draw.line(points, fill=curve.color, width=width, joint="curve")
    head = curve.arrowhead()
    if head:
        draw.polygon([(x * scale, y * scale) for x, y in head], fill=curve.color)


def _dashes(points, on, off):
    """The (start, end) segments of a dashed polyline through ``points``."""
    out, phase = [], 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        length = math.hypot(x1 - x0, y1 - y0)
        t = 0.0
        while t < length:
            position = phase % (on + off)
            run = (on - position) if position < on else (on + off - position)
            step = min(run, length - t)
            if position < on:
                a, b = t / length, (t + step) / length
                out.append(((x0 + a * (x1 - x0), y0 + a * (y1 - y0)),
                            (x0 + b * (x1 - x0), y0 + b * (y1 - y0))))
            t += step
            phase += step
    return out


def _text(draw, text, x, y, anchor, color, size, scale):
    font = ImageFont.load_default(size=max(1, round(size * scale)))
    draw.text((x * scale, y * scale), text, fill=color, font=font, anchor=_ANCHORS[anchor])
