"""Known architectures and SVG queries shared by the drawing and nases-draw tests."""

import xml.etree.ElementTree as ET

from nases_tf.spaces import MacroSpace, MicroSpace
from nases_tf.storage import fileio

SVG = "{http://www.w3.org/2000/svg}"
MACRO_OPS_PICKED = [1, 0, 3, 4, 2, 0]
MACRO_SKIPS = [(), (1,), (0, 1), (1, 0, 1), (0, 0, 0, 0), (1, 1, 0, 0, 1)]


def macro_arch():
    """A 6-layer macro space and an architecture of it with 7 skips."""
    space = MacroSpace(6)
    return space, space.join(MACRO_OPS_PICKED, MACRO_SKIPS)


def micro_arch():
    """A B=3 micro space and an architecture of it."""
    space = MicroSpace(nodes=3, cells_per_stage=2)
    normal = [(0, 1, 1, 2), (2, 3, 0, 0), (3, 4, 1, 1)]
    reduction = [(1, 0, 0, 2), (0, 4, 2, 3), (1, 1, 3, 0)]
    return space, space.join(normal, reduction)


def parse_svg(text):
    """The root element of SVG document ``text`` (fails on malformed XML)."""
    return ET.fromstring(text.encode())


def with_class(element, kind, tag="*"):
    """The elements under ``element`` (SVG tag ``tag``, any by default) of class ``kind``."""
    return [e for e in element.iter(f"{SVG}{tag}" if tag != "*" else tag)
            if e.get("class") == kind]


def label(group):
    """The text of the first ``<text>`` in ``group``."""
    return "".join(group.find(f"{SVG}text").itertext())


def write_arch_file(path, space, arch):
    """Writes an arch.json with the keys ``Search._finish`` writes; returns its path."""
    fileio.write_json(str(path), {"space": space.config(), "architecture": space.to_json(arch),
                                  "reward": 0.5, "readable": space.readable(arch)})
    return str(path)
