"""Did the search earn its time? A random architecture of the same space, trained the same.

After final training, ``compare_with_random`` trains one seeded random architecture of the
same space with the same ``FinalConfig`` (under ``<output_dir>/random_baseline``, its
TensorBoard logs beside the run's own in ``<output_dir>/tensorboard/random_baseline``) and
adds its figures to the run's ``final/results.json`` as ``random_baseline``.
"""

import os

import numpy as np

from nases_tf.storage import fileio


def random_architecture(space, seed):
    """The uniformly sampled architecture of ``space`` that ``seed`` gives.

    Args:
        space: the search space.
        seed: the sampling seed.
    """
    return space.sample(np.random.default_rng(seed))


def compare_with_random(space, images, output_dir, config, runtime, arch_seed, results):
    """Trains the random architecture of ``arch_seed`` like the searched one; returns
    ``results`` with a ``random_baseline`` entry, also written to ``final/results.json``.

    Args:
        space: the search space.
        images: an ``ImageData``.
        output_dir: the run's output directory.
        config: the ``FinalConfig`` the searched architecture was trained with.
        runtime: the run's ``RuntimeConfig``.
        arch_seed: seed of the random architecture.
        results: the searched architecture's final results.
    """
    from nases_tf.training.final import train_final  # TensorFlow: not for flag checks

    arch = random_architecture(space, arch_seed)
    baseline = train_final(space, arch, images, os.path.join(output_dir, "random_baseline"),
                           config, runtime, tensorboard_dir=os.path.join(
                               output_dir, "tensorboard", "random_baseline"))
    results = dict(results, random_baseline={
        "test_accuracy": baseline["test_accuracy"], "params": baseline["params"],
        "readable": baseline["readable"], "architecture": baseline["architecture"],
        "arch_seed": int(arch_seed), "epochs": baseline["epochs"]})
    fileio.write_json(os.path.join(output_dir, "final", "results.json"), results)
    return results
