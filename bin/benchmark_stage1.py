#!/usr/bin/env python
"""Stage 1 at the paper's size: steps per second and decision accuracy of the LSTM coder."""
from nases_tf.benchmarks.stage1 import run

if __name__ == "__main__":
    run()
