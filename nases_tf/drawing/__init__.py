"""Pictures of architectures: an SVG for files and a raster image for TensorBoard.

Each space kind has one layout function, chosen by the space's name from a registry
(``register_drawing`` adds one for a new space); the layout builds a ``Scene`` that the
SVG and the Pillow renderer both draw.
"""

from nases_tf.drawing.cells import draw_micro, draw_nasbench201
from nases_tf.drawing.macro import draw_macro
from nases_tf.drawing.svg import render_svg
from nases_tf.errors import ConfigError
from nases_tf.storage import fileio

_LAYOUTS = {"macro": draw_macro, "micro": draw_micro, "nasbench201": draw_nasbench201}


def register_drawing(space_name, layout):
    """Makes the spaces called ``space_name`` drawable.

    Args:
        space_name: the ``name`` of a search space.
        layout: a function ``(space, arch) -> Scene``.
    """
    _LAYOUTS[space_name] = layout


def drawable(space):
    """Whether ``space`` has a drawing.

    Args:
        space: a search space.
    """
    return space.name in _LAYOUTS


def draw_scene(space, arch):
    """The ``Scene`` of architecture ``arch`` of ``space``.

    Args:
        space: a search space with a drawing.
        arch: an architecture of ``space``.

    Raises:
        ConfigError: if no drawing is registered for ``space``.
    """
    if not drawable(space):
        raise ConfigError(f"no drawing for search space {space.name!r}, only for "
                          f"{', '.join(sorted(_LAYOUTS))}")
    return _LAYOUTS[space.name](space, space.validate(arch))


def draw_svg(space, arch):
    """The SVG document (a string) of architecture ``arch`` of ``space``.

    Args:
        space: a search space with a drawing.
        arch: an architecture of ``space``.
    """
    return render_svg(draw_scene(space, arch))


def write_svg(space, arch, path):
    """Writes the SVG of ``arch`` to ``path`` atomically.

    Args:
        space: a search space with a drawing.
        arch: an architecture of ``space``.
        path: the ``.svg`` file to write.
    """
    fileio.write_text(path, draw_svg(space, arch))


def draw_image(space, arch, scale=1):
    """The raster picture of ``arch``: a uint8 RGB array of shape (height, width, 3).

    Args:
        space: a search space with a drawing.
        arch: an architecture of ``space``.
        scale: pixels per SVG unit (an integer, 1 or more).
    """
    from nases_tf.drawing.image import render_image  # Pillow: only for TensorBoard images
    return render_image(draw_scene(space, arch), scale)


def log_architecture_image(space, arch, step, writer=None, name="search/architecture"):
    """Logs the raster picture of ``arch`` as a TensorBoard image.

    Args:
        space: a search space with a drawing.
        arch: an architecture of ``space``.
        step: the summary step (the search epoch).
        writer: a ``tf.summary`` writer; None uses the default writer.
        name: the image's tag.
    """
    import tensorflow as tf  # only the TensorBoard hook needs TensorFlow

    image = tf.constant(draw_image(space, arch)[None])
    description = space.readable(arch)
    if writer is None:
        tf.summary.image(name, image, step=step, description=description)
        return
    with writer.as_default():
        tf.summary.image(name, image, step=step, description=description)
    writer.flush()


__all__ = ["draw_svg", "write_svg", "draw_image", "draw_scene", "drawable", "register_drawing",
           "log_architecture_image"]
