#!/usr/bin/env python
"""NASES against keras-tuner's and Optuna's searches on keras-tuner projects: a cheap objective
and two real tabular HPO benchmarks."""
from nases_tf.benchmarks.tuner_cli import run

if __name__ == "__main__":
    run()
