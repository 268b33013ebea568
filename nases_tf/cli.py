"""The ``bin/run_nases.py`` command line: absl flags, validation, and the stages.

Every flag is checked before anything is written under ``--output_dir``; a bad value ends
the run with one line naming the flag and what is allowed, and exit code 2.
"""

import os
import sys

from absl import app, flags, logging

from nases_tf.errors import ConfigError, NasesError

STAGES = ("final",)
STRATEGIES = ("default", "mirrored")

FLAGS = flags.FLAGS
flags.DEFINE_string("stage", "final", f"Stage to run: {', '.join(STAGES)}.")
flags.DEFINE_string("output_dir", None, "Directory for checkpoints, logs and results.")
flags.DEFINE_string("dataset", "cifar10", "'cifar10' (tensorflow-datasets) or 'npz:PATH'.")
flags.DEFINE_string("data_dir", None, "tensorflow-datasets data directory.")
flags.DEFINE_string("arch", None, "Architecture for --stage=final: 'random' or an arch.json.")
flags.DEFINE_string("space", "macro", "Search space.")
flags.DEFINE_integer("layers", 15, "Layers of the macro space (L).")
flags.DEFINE_integer("filters", 40, "Channels of the first stage (F).")
flags.DEFINE_integer("batch_size", 128, "Training batch size.")
flags.DEFINE_integer("final_epochs", 630, "Epochs of final training (630 = SGDR 10+...+320).")
flags.DEFINE_integer("cutout", 0, "Cutout square side in pixels (0: off; the paper: 16).")
flags.DEFINE_boolean("mixed_precision", False,
                     "mixed_float16 on a GPU; mixed_bfloat16 on a CPU-only machine.")
flags.DEFINE_string("strategy", "default", "Distribution: 'default' or 'mirrored'.")
flags.DEFINE_integer("logical_cpus", 0,
                     "Split the CPU into this many logical devices (tests MirroredStrategy).")
flags.DEFINE_integer("seed", 0, "Seed: CPU runs with the same seed give the same metrics.")
flags.DEFINE_string("profile_steps", "",
                    "START,END batches of final training to trace for the TensorBoard "
                    "profiler (empty: off).")
flags.DEFINE_integer("verbose", 1, "Keras progress bars: 0 silent, 1 bar, 2 line per epoch.")


def _positive(name):
    value = getattr(FLAGS, name)
    if value is None or value < 1:
        raise ConfigError(f"--{name}={value} must be a positive integer")


def parse_profile_steps(text):
    """``"START,END"`` -> (start, end) with 1 <= start <= end; ``""`` -> None."""
    if not text:
        return None
    parts = text.split(",")
    try:
        start, end = (int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"--profile_steps={text!r} must be START,END (two batch numbers)") from None
    if not 1 <= start <= end:
        raise ConfigError(f"--profile_steps={text!r} needs 1 <= START <= END")
    return start, end


def load_arch(space, text, seed):
    """The architecture ``--arch`` names: ``random`` (seeded) or a JSON file."""
    import numpy as np

    from nases_tf import checkpointing

    if text == "random":
        return space.sample(np.random.default_rng(seed))
    obj = checkpointing.read_json(text, "--arch")
    if isinstance(obj, dict) and "space" in obj and "architecture" in obj:
        space.check_config(obj["space"], f"--arch={text}")
        obj = obj["architecture"]
    return space.from_json(obj)


def validate_flags():
    """Checks every flag that needs no data; returns the parsed extras. Writes nothing."""
    from nases_tf import spaces  # no TensorFlow import here: errors come out fast and clean

    if FLAGS.stage not in STAGES:
        raise ConfigError(f"--stage={FLAGS.stage!r} is unknown, expected one of {', '.join(STAGES)}")
    if not FLAGS.output_dir:
        raise ConfigError("--output_dir is required")
    for name in ("layers", "filters", "batch_size", "final_epochs"):
        _positive(name)
    if FLAGS.cutout < 0 or FLAGS.cutout > 32:
        raise ConfigError(f"--cutout={FLAGS.cutout} must be between 0 and 32")
    if FLAGS.strategy not in STRATEGIES:
        raise ConfigError(f"--strategy={FLAGS.strategy!r} is unknown, expected one of "
                          f"{', '.join(STRATEGIES)}")
    if not (FLAGS.dataset == "cifar10" or FLAGS.dataset.startswith("npz:")):
        raise ConfigError(f"--dataset={FLAGS.dataset!r} is not supported, expected 'cifar10' "
                          "or 'npz:PATH'")
    if FLAGS.dataset.startswith("npz:") and not os.path.isfile(FLAGS.dataset[4:]):
        raise ConfigError(f"--dataset={FLAGS.dataset}: file not found")
    kwargs = {"layers": FLAGS.layers} if FLAGS.space == "macro" else {}
    space = spaces.make_space(FLAGS.space, **kwargs)
    extras = {"space": space, "profile_steps": parse_profile_steps(FLAGS.profile_steps)}
    if FLAGS.stage == "final":
        if not FLAGS.arch:
            raise ConfigError("--stage=final needs --arch=random or --arch=PATH.json")
        extras["arch"] = load_arch(space, FLAGS.arch, FLAGS.seed)
    return extras


def run_stages(extras):
    """Runs the stage ``--stage`` selects, after flags were validated."""
    from nases_tf import data, runtime
    from nases_tf.final_training import FinalConfig, train_final

    runtime.split_cpu(FLAGS.logical_cpus)
    runtime.set_seed(FLAGS.seed)
    runtime.set_precision(FLAGS.mixed_precision)
    images = data.load_images(FLAGS.dataset, FLAGS.data_dir)
    os.makedirs(FLAGS.output_dir, exist_ok=True)
    space = extras["space"]
    if FLAGS.stage == "final":
        config = FinalConfig(epochs=FLAGS.final_epochs, batch_size=FLAGS.batch_size,
                             filters=FLAGS.filters, cutout=FLAGS.cutout, seed=FLAGS.seed,
                             strategy=FLAGS.strategy, profile_steps=extras["profile_steps"],
                             verbose=FLAGS.verbose)
        results = train_final(space, extras["arch"], images, FLAGS.output_dir, config)
        print(f"test_accuracy={results['test_accuracy']:.4f} params={results['params']} "
              f"results={os.path.join(FLAGS.output_dir, 'final', 'results.json')}")


def _fail(message):
    prog = os.path.basename(sys.argv[0]) if sys.argv else "run_nases.py"
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(2)


def _parse_flags(argv):
    try:
        return FLAGS(argv)
    except flags.Error as exc:
        _fail(str(exc).splitlines()[0])


def main(argv):
    """absl entry point: validates flags, then runs the selected stage."""
    if len(argv) > 1:
        _fail(f"unexpected arguments {' '.join(argv[1:])!r} (flags start with --)")
    try:
        extras = validate_flags()
        run_stages(extras)
    except NasesError as exc:
        _fail(str(exc))


def run():
    """Runs the command line (what ``bin/run_nases.py`` calls)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main, flags_parser=_parse_flags)
