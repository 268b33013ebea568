#!/usr/bin/env python
"""Side-by-side search benchmark on NAS-Bench-201 (random, bayesian, evolution, reinforce, nases).

Example:
    python bin/benchmark_search.py --table=../shared/data/nasbench201_cifar10.csv \
        --strategies=random,evolution,reinforce,nases,bayesian:2 --budget=200 --seeds=50 \
        --output_json=runs/nb201.json --plot=runs/nb201.png

Rewards are the table's test accuracies without noise; see nases_tf/benchmark_search.py.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from nases_tf import benchmark_search  # noqa: E402
from nases_tf.errors import NasesError  # noqa: E402

benchmark_search.define_flags()


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        benchmark_search.main(flags.FLAGS)
    except NasesError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    app.run(main)
