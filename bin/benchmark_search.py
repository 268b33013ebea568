#!/usr/bin/env python
"""NAS-Bench-201 search benchmark; flags and example in nases_tf/benchmarks/search_cli.py."""
from nases_tf.benchmarks.search_cli import run

if __name__ == "__main__":
    run()
