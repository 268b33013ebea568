#!/usr/bin/env python
"""Throughput benchmark; flags and example in nases_tf/benchmarks/throughput.py."""
from nases_tf.benchmarks.throughput import run

if __name__ == "__main__":
    run()
