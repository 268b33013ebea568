#!/usr/bin/env python
"""Throughput of the weight-sharing search: supernet vs standalone training, input pipeline.

Example:
    python bin/benchmark_throughput.py --layers=12 --filters=36 --batch_size=128 --archs=5 \
        --output_json=runs/throughput.json

Ratios are reported with their goals; nothing asserts on time. See
nases_tf/benchmark_throughput.py.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from nases_tf import benchmark_throughput  # noqa: E402

benchmark_throughput.define_flags()


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    benchmark_throughput.main(flags.FLAGS)


if __name__ == "__main__":
    app.run(main)
