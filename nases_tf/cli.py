"""The ``bin/run_nases.py`` command line: absl flags, validation, and the stages.

Every flag is checked before anything is written under ``--output_dir``; a bad value ends
the run with one line naming the flag and what is allowed, and exit code 2.
"""

import os
import sys

from absl import app, flags, logging

from nases_tf.embedding.chains import MODES as CHAIN_MODES
from nases_tf.embedding.config import CODERS, DEFAULTS as _EMB, EmbeddingConfig
from nases_tf.errors import ConfigError, NasesError

STAGES = ("pretrain", "search", "final", "all")
STRATEGIES = ("default", "mirrored")

FLAGS = flags.FLAGS
flags.DEFINE_string("stage", "final", f"Stage to run: {', '.join(STAGES)}.")
flags.DEFINE_string("output_dir", None, "Directory for checkpoints, logs and results.")
flags.DEFINE_string("dataset", "cifar10", "'cifar10' (tensorflow-datasets) or 'npz:PATH'.")
flags.DEFINE_string("data_dir", None, "tensorflow-datasets data directory.")
flags.DEFINE_boolean("overwrite", False,
                     "Start afresh: delete the outputs of the stages this run runs, instead "
                     "of refusing to resume work done with other settings.")
flags.DEFINE_string("arch", None,
                    "Architecture for --stage=final: 'random' or an arch.json (default: the "
                    "search's <output_dir>/search/arch.json).")
flags.DEFINE_string("space", "macro", "Search space.")
flags.DEFINE_integer("layers", 15, "Layers of the macro space (L).")
flags.DEFINE_integer("nodes", 5, "Nodes per cell of the micro space (B).")
flags.DEFINE_integer("cells_per_stage", 5, "Normal cells per stage of the micro network (N).")
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
# stage 1
flags.DEFINE_string("coder", _EMB.coder, "Stage-1 coder: 'lstm' (paper) or 'mlp' (authors' code).")
flags.DEFINE_integer("embedding_dim", 0, "Embedding size n (0: about m/3, at least min(m-1, 8), at most 32).")
flags.DEFINE_integer("pretrain_steps", _EMB.pretrain_steps, "Adam steps of the stage-1 autoencoder.")
flags.DEFINE_float("pretrain_lr", _EMB.pretrain_learning_rate, "Adam learning rate of stage 1 (the paper: 1e-5).")
flags.DEFINE_integer("pretrain_batch_size", _EMB.pretrain_batch_size, "Uniform samples per stage-1 step.")
flags.DEFINE_integer("coder_units", _EMB.hidden_units, "Decoder LSTM units / mlp hidden width.")
# stage 2
flags.DEFINE_string("reward", "weight_sharing", "Rewards: 'weight_sharing' or 'episodic'.")
flags.DEFINE_integer("search_epochs", 70, "Search epochs (the paper: 70 = SGDR 10+20+40).")
flags.DEFINE_integer("controller_steps", 50, "Controller updates per search epoch.")
flags.DEFINE_integer("samples_per_update", _EMB.samples_per_update, "Chains (architectures) per controller update.")
flags.DEFINE_float("controller_lr", _EMB.controller_learning_rate, "Adam learning rate of the controller.")
flags.DEFINE_float("baseline_decay", _EMB.baseline_decay, "Decay of the reward moving-average baseline.")
flags.DEFINE_float("entropy_weight", _EMB.entropy_weight, "Weight of the policy-entropy bonus.")
flags.DEFINE_float("initial_sigma", _EMB.initial_sigma, "Initial standard deviation of the policy.")
flags.DEFINE_string("chain_mode", "decoded",
                    "How the controller's chains move: 'decoded' (the paper), 'elitist' or 'best'.")
flags.DEFINE_integer("episode_epochs", 1, "Epochs each child trains with --reward=episodic.")
flags.DEFINE_integer("rescore_samples", 16,
                     "Controller samples re-scored on the whole validation split at the end.")
flags.DEFINE_integer("verbose", 1, "Keras progress bars: 0 silent, 1 bar, 2 line per epoch.")
# weight-sharing levers: each defaults to its value in --ws_schedule
flags.DEFINE_string("ws_schedule", "tuned",
                    "Weight-sharing levers: 'tuned' (measured best) or 'paper' (ENAS's "
                    "schedule); the lever flags below override it.")
flags.DEFINE_float("uniform_warmup", None,
                   "Fraction of the search epochs (rounded down) whose shared-weight steps "
                   "take uniform paths before the controller takes over.")
flags.DEFINE_string("train_paths", None,
                    "Paths of shared-weight training after the warm-up: 'controller' or "
                    "'uniform'.")
flags.DEFINE_integer("reward_batches", None,
                     "Validation batches per controller reward (0: the whole split).")
flags.DEFINE_integer("bn_batches", None,
                     "Training batches that re-estimate batch-norm statistics of each "
                     "scored path (0: batch statistics of the scored batch).")
flags.DEFINE_integer("max_skips", None, "Skip inputs allowed per layer (-1: no cap).")
flags.DEFINE_integer("max_parameter_free", None,
                     "Layers allowed a parameter-free op (-1: no cap).")
flags.DEFINE_integer("rescore_random", None,
                     "Uniformly sampled architectures added to the final re-scoring.")
flags.DEFINE_integer("rerank_top", None,
                     "Best final candidates trained standalone to pick the result (0: off).")
flags.DEFINE_integer("rerank_epochs", None,
                     "Training epochs of each --rerank_top candidate.")
flags.DEFINE_integer("finetune_steps", None,
                     "SGD steps each final candidate's path takes alone, from the shared "
                     "weights, before it is scored (0: none).")
flags.DEFINE_float("finetune_lr", None,
                   "Constant learning rate of the --finetune_steps steps.")
flags.DEFINE_integer("compare_random", 0,
                     "After final training, train this seeded random architecture of the "
                     "same space the same way and print both accuracies (0: off).")


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
    from nases_tf import fileio, validation
    from nases_tf.random_baseline import random_architecture

    if text == "random":
        return random_architecture(space, seed)
    return validation.load_architecture(space, fileio.read_json(text, "--arch"), f"--arch={text}")


def validate_flags():
    """Checks every flag that needs no data; returns the parsed extras. Writes nothing."""
    from nases_tf import cli_checks, spaces  # no TensorFlow import here: errors come out fast

    if FLAGS.stage not in STAGES:
        raise ConfigError(f"--stage={FLAGS.stage!r} is unknown, expected one of {', '.join(STAGES)}")
    if not FLAGS.output_dir:
        raise ConfigError("--output_dir is required")
    cli_checks.check_flags(FLAGS.flag_values_dict())
    for name in ("layers", "nodes", "cells_per_stage", "filters", "batch_size", "final_epochs", "pretrain_steps",
                 "pretrain_batch_size", "coder_units", "search_epochs", "controller_steps",
                 "samples_per_update", "episode_epochs", "rescore_samples"):
        _positive(name)
    for name in ("pretrain_lr", "controller_lr", "initial_sigma"):
        if not getattr(FLAGS, name) > 0:
            raise ConfigError(f"--{name}={getattr(FLAGS, name)} must be positive")
    if not 0 <= FLAGS.baseline_decay < 1:
        raise ConfigError(f"--baseline_decay={FLAGS.baseline_decay} must be in [0, 1)")
    if FLAGS.entropy_weight < 0:
        raise ConfigError(f"--entropy_weight={FLAGS.entropy_weight} must be >= 0")
    if FLAGS.coder not in CODERS:
        raise ConfigError(f"--coder={FLAGS.coder!r} is unknown, expected one of {', '.join(CODERS)}")
    if FLAGS.chain_mode not in CHAIN_MODES:
        raise ConfigError(f"--chain_mode={FLAGS.chain_mode!r} is unknown, expected one of "
                          f"{', '.join(CHAIN_MODES)}")
    if FLAGS.uniform_warmup is not None and not 0 <= FLAGS.uniform_warmup <= 1:
        raise ConfigError(f"--uniform_warmup={FLAGS.uniform_warmup} must be in [0, 1]")
    for name in ("reward_batches", "bn_batches", "rescore_random",
                 "rerank_top", "compare_random", "finetune_steps"):
        if (getattr(FLAGS, name) or 0) < 0:
            raise ConfigError(f"--{name}={getattr(FLAGS, name)} must be >= 0")
    if FLAGS.rerank_epochs is not None:
        _positive("rerank_epochs")
    if FLAGS.finetune_lr is not None and not FLAGS.finetune_lr > 0:
        raise ConfigError(f"--finetune_lr={FLAGS.finetune_lr} must be positive")
    for name in ("max_skips", "max_parameter_free"):
        if (getattr(FLAGS, name) or 0) < -1:
            raise ConfigError(f"--{name}={getattr(FLAGS, name)} must be >= 0 (or -1: off)")
    if FLAGS.train_paths not in (None, "controller", "uniform"):
        raise ConfigError(f"--train_paths={FLAGS.train_paths!r} is unknown, expected "
                          "'controller' or 'uniform'")
    from nases_tf.ws_schedules import SCHEDULES
    if FLAGS.ws_schedule not in SCHEDULES:
        raise ConfigError(f"--ws_schedule={FLAGS.ws_schedule!r} is unknown, expected one of "
                          f"{', '.join(SCHEDULES)}")
    if FLAGS.reward not in ("weight_sharing", "episodic"):
        raise ConfigError(f"--reward={FLAGS.reward!r} is unknown, expected 'weight_sharing' "
                          "or 'episodic'")
    if FLAGS.embedding_dim < 0:
        raise ConfigError(f"--embedding_dim={FLAGS.embedding_dim} must be >= 0 (0: automatic)")
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
    kwargs = {"macro": {"layers": FLAGS.layers},
              "micro": {"nodes": FLAGS.nodes, "cells_per_stage": FLAGS.cells_per_stage}
              }.get(FLAGS.space, {})
    space = spaces.make_space(FLAGS.space, **kwargs)
    extras = {"space": space, "profile_steps": parse_profile_steps(FLAGS.profile_steps)}
    if FLAGS.stage == "final":
        searched = os.path.join(FLAGS.output_dir, "search", "arch.json")
        arch = FLAGS.arch or (searched if os.path.isfile(searched) else None)
        if not arch:
            raise ConfigError("--stage=final needs --arch=random or --arch=PATH.json (or a "
                              f"finished search in {searched})")
        extras["arch"] = load_arch(space, arch, FLAGS.seed)
    extras.update(cli_checks.check_inputs(FLAGS.flag_values_dict(), space, extras.get("arch")))
    return extras


def embedding_config():
    """The ``EmbeddingConfig`` the stage-1 and controller flags describe."""
    return EmbeddingConfig(
        coder=FLAGS.coder, embedding_dim=FLAGS.embedding_dim or None,
        hidden_units=FLAGS.coder_units, pretrain_steps=FLAGS.pretrain_steps,
        pretrain_learning_rate=FLAGS.pretrain_lr, pretrain_batch_size=FLAGS.pretrain_batch_size,
        controller_learning_rate=FLAGS.controller_lr,
        samples_per_update=FLAGS.samples_per_update, baseline_decay=FLAGS.baseline_decay,
        entropy_weight=FLAGS.entropy_weight, initial_sigma=FLAGS.initial_sigma)


def _coder(space):
    """Stage 1 of ``--output_dir`` (see ``pretrained_coder``)."""
    return pretrained_coder(space, FLAGS.output_dir, FLAGS.seed, embedding_config(),
                            FLAGS.verbose)


def pretrained_coder(space, output_dir, seed, embedding, verbose=1):
    """Stage 1: loads the coder of ``output_dir`` (checking it fits), or trains one with
    ``embedding``'s settings and ``seed``, so ``--stage=search`` on a fresh directory
    pretrains first.

    Args:
        space: the search space.
        output_dir: the run directory (the coder lives in its ``autoencoder/``).
        seed: seed of a newly trained coder.
        embedding: an ``EmbeddingConfig`` (coder kind, size, pretraining).
        verbose: progress bar verbosity of pretraining.
    """
    from nases_tf.embedding.coder import Coder

    directory = os.path.join(output_dir, "autoencoder")
    if Coder.exists(directory):
        coder = Coder.load(directory, space, embedding.embedding_dim, embedding.coder)
        logging.info("using the stage-1 coder in %s", directory)
        return coder
    coder = Coder(space, embedding, seed=seed)
    metrics = coder.pretrain(directory, os.path.join(output_dir, "tensorboard",
                                                     "pretrain"), verbose=verbose)
    coder.save(directory)
    print(f"stage 1: decision accuracy {metrics['decision_accuracy']:.3f} (untrained "
          f"{metrics.get('untrained_decision_accuracy', float('nan')):.3f}), mse "
          f"{metrics['mse']:.4f}, exact reconstruction {metrics['exact_reconstruction']:.3f}, "
          f"{metrics['distinct_architectures']} distinct architectures from "
          f"{metrics['random_embeddings']} random embeddings")
    return coder


def search_config(**overrides):
    """The ``SearchConfig`` the stage-2 flags describe (``--ws_schedule`` and the lever
    flags included); ``overrides`` replace fields (e.g. ``seed``)."""
    import dataclasses

    from nases_tf.search import SearchConfig
    from nases_tf.ws_schedules import LEVERS, apply_schedule

    config = SearchConfig(
        epochs=FLAGS.search_epochs, reward=FLAGS.reward, batch_size=FLAGS.batch_size,
        filters=FLAGS.filters, controller_steps=FLAGS.controller_steps,
        embedding=embedding_config(), chain_mode=FLAGS.chain_mode,
        episode_epochs=FLAGS.episode_epochs, rescore_samples=FLAGS.rescore_samples,
        cutout=FLAGS.cutout, seed=FLAGS.seed, verbose=FLAGS.verbose)
    config = apply_schedule(config, FLAGS.ws_schedule,
                            {name: getattr(FLAGS, name) for name in LEVERS})
    return dataclasses.replace(config, **overrides)


def _search(space, coder, images):
    """Stage 2: runs or resumes the search; returns the arch.json content."""
    from nases_tf.search import Search

    result = Search(space, coder, images, FLAGS.output_dir, search_config()).run()
    print(f"search: best validation accuracy {result['reward']:.4f}: {result['readable']} "
          f"({os.path.join(FLAGS.output_dir, 'search', 'arch.json')})")
    return result


def run_stages(extras):
    """Runs the stage ``--stage`` selects, after flags were validated."""
    from nases_tf import quiet_start

    quiet_start.import_tensorflow()
    from nases_tf import cli_checks, data, run_identity, runtime
    from nases_tf.final_training import FinalConfig, train_final

    if extras["onednn_off"]:
        logging.warning("images larger than %dx%d: oneDNN custom ops are off "
                        "(TF_ENABLE_ONEDNN_OPTS=0), as they crash this TensorFlow build",
                        cli_checks.ONEDNN_SAFE_SIDE, cli_checks.ONEDNN_SAFE_SIDE)
    runtime.split_cpu(FLAGS.logical_cpus)
    runtime.set_seed(FLAGS.seed)
    runtime.set_precision(FLAGS.mixed_precision)
    images = data.load_images(FLAGS.dataset, FLAGS.data_dir) if FLAGS.stage != "pretrain" else None
    os.makedirs(FLAGS.output_dir, exist_ok=True)
    space = extras["space"]
    if images is not None and not runtime.has_gpu():
        from nases_tf.run_estimate import warning_for_flags
        slow = warning_for_flags(FLAGS.flag_values_dict(), space, len(images.train_x))
        if slow:
            logging.warning(slow)
    if FLAGS.reward == "weight_sharing" and FLAGS.stage in ("search", "all"):
        from nases_tf.networks import has_supernet
        if not has_supernet(space.name):
            raise ConfigError(f"--reward=weight_sharing has no supernet for --space="
                              f"{space.name}; use --reward=episodic")

    def begin(stage):  # records the stage's settings in output_dir, refusing other ones
        run_identity.begin_stage(FLAGS.output_dir, stage, FLAGS.flag_values_dict(), space,
                                 extras.get("arch"), extras["dataset_sha256"])
        # Each stage starts from the seed, not from whatever the stages before it drew: a
        # rerun that reuses a finished stage initializes the next one identically.
        runtime.set_seed(FLAGS.seed)

    if FLAGS.overwrite:
        run_identity.remove_stages(FLAGS.output_dir, run_identity.STAGES_RUN[FLAGS.stage])
    coder = None
    if FLAGS.stage in ("pretrain", "search", "all"):
        begin("pretrain")
        coder = _coder(space)
    if FLAGS.stage in ("search", "all"):
        begin("search")
        result = _search(space, coder, images)
        extras["arch"] = space.from_json(result["architecture"])
    if FLAGS.stage in ("final", "all"):
        begin("final")
        config = FinalConfig(epochs=FLAGS.final_epochs, batch_size=FLAGS.batch_size,
                             filters=FLAGS.filters, cutout=FLAGS.cutout, seed=FLAGS.seed,
                             strategy=FLAGS.strategy, profile_steps=extras["profile_steps"],
                             verbose=FLAGS.verbose)
        results = train_final(space, extras["arch"], images, FLAGS.output_dir, config)
        print(f"test_accuracy={results['test_accuracy']:.4f} params={results['params']} "
              f"results={os.path.join(FLAGS.output_dir, 'final', 'results.json')}")
        if FLAGS.compare_random:
            _compare_random(space, images, config, results)


def _compare_random(space, images, config, results):
    """``--compare_random``: trains a random architecture the same way, prints both."""
    from nases_tf.random_baseline import compare_with_random

    results = compare_with_random(space, images, FLAGS.output_dir, config,
                                  FLAGS.compare_random, results)
    baseline = results["random_baseline"]
    print(f"random architecture (--arch=random --seed={FLAGS.compare_random}), same "
          f"training: test_accuracy={baseline['test_accuracy']:.4f} "
          f"params={baseline['params']}; searched: "
          f"test_accuracy={results['test_accuracy']:.4f} params={results['params']}")


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
    if not FLAGS["verbosity"].present:  # progress bars and prints say what INFO lines would
        logging.set_verbosity(logging.WARNING)
    if len(argv) > 1:
        _fail(f"unexpected arguments {' '.join(argv[1:])!r} (flags start with --)")
    existed = bool(FLAGS.output_dir) and os.path.exists(FLAGS.output_dir)
    try:
        extras = validate_flags()
        run_stages(extras)
    except NasesError as exc:
        from nases_tf.cli_checks import remove_if_left_empty
        remove_if_left_empty(FLAGS.output_dir, existed)
        _fail(str(exc))


def run():
    """Runs the command line (what ``bin/run_nases.py`` calls)."""
    app.run(main, flags_parser=_parse_flags)
