"""A NASES keras-tuner search on a cheap objective, run as a subprocess that tests kill.

``python tests/tuner_kill_worker.py DIRECTORY MAX_TRIALS`` resumes (``overwrite=False``)
the project in DIRECTORY and prints ``END_ORDER <json>`` when the search finishes.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_tuner  # noqa: E402

from nases_tf.tuner import NASES  # noqa: E402


class CheapNASES(NASES):
    """The NASES tuner with trials that score their values without training a model."""

    def run_trial(self, trial, *args, **kwargs):
        values = trial.hyperparameters.values
        time.sleep(0.03)  # long enough for a kill to land inside a trial too
        return {"score": values["x"] / 20.0 + (0.3 if values["act"] == "b" else 0.0)}


def space():
    """A small space of a Choice and an Int."""
    hp = keras_tuner.HyperParameters()
    hp.Int("x", 0, 20)
    hp.Choice("act", ["a", "b", "c"])
    return hp


def main(directory, max_trials):
    tuner = CheapNASES(objective=keras_tuner.Objective("score", "max"), max_trials=max_trials,
                       seed=3, hyperparameters=space(), pretrain_steps=100,
                       samples_per_update=2, directory=directory, project_name="kills",
                       overwrite=False)
    tuner.search(verbose=0)
    print("END_ORDER " + json.dumps(tuner.oracle.end_order), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
