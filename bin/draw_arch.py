#!/usr/bin/env python
"""Draws an arch.json as an SVG: python bin/draw_arch.py runs/demo/search/arch.json [--output=x.svg]"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nases_tf.cli import draw  # noqa: E402

if __name__ == "__main__":
    draw.run()
