#!/usr/bin/env python
"""NASES from the command line: python bin/run_nases.py --flagfile=configs/demo.cfg"""
from absl import flags

from nases_tf.cli import flags as run_flags, main

flags.adopt_module_key_flags(run_flags)  # --help lists the project's flags

if __name__ == "__main__":
    main.run()
