#!/usr/bin/env python
"""Micro supernet trace benchmark; flags and example in nases_tf/benchmarks/micro_trace.py."""
from nases_tf.benchmarks.micro_trace import run

if __name__ == "__main__":
    run()
