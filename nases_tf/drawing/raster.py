"""A ``Scene`` painted into an RGB numpy array (for TensorBoard, which shows images, not SVG).

Plain numpy, no anti-aliasing: shapes are filled by testing pixel centres, curves are
stamped along their sampled points, labels use the bitmap font of ``font``.
"""

import math

import numpy as np

from nases_tf.drawing import font
from nases_tf.drawing.scene import FONT_SIZE, INK, MUTED, PAPER, Box, Curve, Text, walk

DASH_ON, DASH_OFF = 5, 3
STROKE = 1.2


def render_image(scene, scale=1):
    """The picture of ``scene``: a uint8 array of shape (height, width, 3).

    Args:
        scene: a ``Scene``.
        scale: pixels per scene unit (a positive integer).
    """
    scale = int(scale)
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    canvas = np.empty((math.ceil(scene.height) * scale, math.ceil(scene.width) * scale, 3),
                      dtype=np.uint8)
    canvas[:] = _rgb(PAPER)
    for item in walk(scene.items):
        if isinstance(item, Box):
            _paint_box(canvas, item, scale)
        elif isinstance(item, Curve):
            _paint_curve(canvas, item, scale)
        elif isinstance(item, Text):
            _paint_text(canvas, item.text, item.x, item.y, item.anchor, item.color, item.size,
                        scale)
        else:
            raise TypeError(f"cannot paint {item!r}")
    return canvas


def _rgb(color):
    return tuple(int(color[k:k + 2], 16) for k in (1, 3, 5))


def _paint_box(canvas, box, scale):
    # A dashed outline is drawn solid in a muted colour: at raster sizes that reads the same.
    outline = MUTED if box.dashed else INK
    inset = max(1.0, STROKE * scale)
    x0, y0 = box.x * scale, box.y * scale
    x1, y1 = x0 + box.width * scale, y0 + box.height * scale
    radius = min(box.height / 3, 6) * scale if box.shape == "round" else 0
    _fill_shape(canvas, box.shape, x0, y0, x1, y1, radius, _rgb(outline))
    _fill_shape(canvas, box.shape, x0 + inset, y0 + inset, x1 - inset, y1 - inset,
                max(radius - inset, 0), _rgb(box.fill))
    if box.label:
        cx, cy = box.center
        _paint_text(canvas, box.label, cx, cy, "middle", INK, min(FONT_SIZE, box.height - 4),
                    scale)


def _fill_shape(canvas, shape, x0, y0, x1, y1, radius, color):
    """Fills the pixels whose centres lie in the rectangle (rounded by ``radius``) or the
    ellipse inscribed in ``(x0, y0)-(x1, y1)``."""
    region = _region(canvas, x0, y0, x1, y1)
    if region is None:
        return
    window, ys, xs = region
    inside = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
    if shape == "ellipse":
        rx, ry = (x1 - x0) / 2, (y1 - y0) / 2
        inside &= ((xs - x0 - rx) / rx) ** 2 + ((ys - y0 - ry) / ry) ** 2 <= 1
    elif radius > 0:
        # Distance past the inner rectangle; the corners are where both are positive.
        dx = np.maximum(np.maximum(x0 + radius - xs, xs - (x1 - radius)), 0)
        dy = np.maximum(np.maximum(y0 + radius - ys, ys - (y1 - radius)), 0)
        inside &= dx ** 2 + dy ** 2 <= radius ** 2
    window[inside] = color


def _region(canvas, x0, y0, x1, y1):
    """The canvas window over ``(x0, y0)-(x1, y1)`` and its pixel centres' y (a column) and
    x (a row), or None if the box misses the canvas."""
    top, bottom = max(int(math.floor(y0)), 0), min(int(math.ceil(y1)), canvas.shape[0])
    left, right = max(int(math.floor(x0)), 0), min(int(math.ceil(x1)), canvas.shape[1])
    if top >= bottom or left >= right:
        return None
    ys = np.arange(top, bottom)[:, None] + 0.5
    xs = np.arange(left, right)[None, :] + 0.5
    return canvas[top:bottom, left:right], ys, xs


def _paint_curve(canvas, curve, scale):
    points = np.asarray(curve.polyline(), dtype=np.float64) * scale
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    samples, distances = [], []
    for (start, end), length, before in zip(zip(points, points[1:]), steps,
                                            np.concatenate([[0.0], np.cumsum(steps)])):
        t = np.linspace(0.0, 1.0, max(int(length * 2), 1) + 1)[:, None]
        samples.append(start + t * (end - start))
        distances.append(before + t[:, 0] * length)
    samples, distances = np.concatenate(samples), np.concatenate(distances)
    if curve.dashed:
        keep = distances % ((DASH_ON + DASH_OFF) * scale) < DASH_ON * scale
        samples = samples[keep]
    stamp = max(1, round(curve.width * scale))  # each sample inks a stamp x stamp square
    offsets = range(-((stamp - 1) // 2), stamp // 2 + 1)
    height, width = canvas.shape[:2]
    color = _rgb(curve.color)
    for dy in offsets:
        for dx in offsets:
            xs = np.floor(samples[:, 0]).astype(int) + dx
            ys = np.floor(samples[:, 1]).astype(int) + dy
            ok = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
            canvas[ys[ok], xs[ok]] = color
    head = curve.arrowhead()
    if head:
        _fill_triangle(canvas, [(x * scale, y * scale) for x, y in head], color)


def _fill_triangle(canvas, corners, color):
    (ax, ay), (bx, by), (cx, cy) = corners
    region = _region(canvas, min(ax, bx, cx), min(ay, by, cy), max(ax, bx, cx),
                     max(ay, by, cy))
    if region is None:
        return
    window, ys, xs = region

    def side(px, py, qx, qy):
        return (qx - px) * (ys - py) - (qy - py) * (xs - px)

    sides = [side(ax, ay, bx, by), side(bx, by, cx, cy), side(cx, cy, ax, ay)]
    # Inside a triangle, a pixel is on the same side of all three edges, whatever the winding.
    inside = np.all([s >= 0 for s in sides], axis=0) | np.all([s <= 0 for s in sides], axis=0)
    window[inside] = color


def _paint_text(canvas, text, x, y, anchor, color, size, scale):
    """Paints ``text`` with its capitals' vertical middle at ``y`` (scene units)."""
    magnify = max(1, round(size * scale / FONT_SIZE))
    bitmap = font.text_bitmap(text, magnify)
    width = bitmap.shape[1]
    left = round(x * scale - {"start": 0, "middle": width / 2, "end": width}[anchor])
    top = round(y * scale - font.CAP_HEIGHT * magnify / 2)
    rows = slice(max(top, 0), min(top + bitmap.shape[0], canvas.shape[0]))
    cols = slice(max(left, 0), min(left + width, canvas.shape[1]))
    if rows.start >= rows.stop or cols.start >= cols.stop:
        return
    clipped = bitmap[rows.start - top:rows.stop - top, cols.start - left:cols.stop - left]
    canvas[rows, cols][clipped] = _rgb(color)
