#!/usr/bin/env python
"""Ranking benchmark: search reward against standalone accuracy, picks against random.

Example (the small default: demo sizes on the shipped natural images):
    python bin/benchmark_ranking.py --output_dir=runs/ranking

Every flag of bin/run_nases.py describes the search (e.g. --ws_schedule=paper,
--flagfile=configs/paper_search.cfg on a GPU); see nases_tf/benchmarks/ranking.py and nases_tf/cli/ranking.py.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nases_tf.cli import ranking  # noqa: E402

if __name__ == "__main__":
    ranking.run()
