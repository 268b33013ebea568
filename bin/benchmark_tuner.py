#!/usr/bin/env python
"""NASES against keras-tuner's random search and Bayesian optimization on a cheap objective."""
from nases_tf.benchmarks.tuner_objective import run

if __name__ == "__main__":
    run()
