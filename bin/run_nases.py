#!/usr/bin/env python
"""NASES from the command line: python bin/run_nases.py --flagfile=configs/demo.cfg"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nases_tf import cli  # noqa: E402

if __name__ == "__main__":
    cli.run()
