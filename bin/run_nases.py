#!/usr/bin/env python
"""NASES from the command line: python bin/run_nases.py --flagfile=configs/demo.cfg"""
from absl import flags

from nases_tf import cli

flags.adopt_module_key_flags(cli)  # --help lists the project's flags

if __name__ == "__main__":
    cli.run()
