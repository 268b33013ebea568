"""The ``bin/run_nases.py`` command line: flags -> ``RunConfig`` -> checks -> the stages.

Every flag is checked as the command line is parsed, and the run as a whole before anything
is written under ``--output_dir``; a bad value ends the run with one line naming the flag
and what is allowed, and exit code 2. A file-system fault while the run writes (a full disk,
a read-only file) ends it the same way, with one line naming the path: the atomic writes
leave no half-written file, and a rerun resumes from the last checkpoint.
"""

import os
import sys
import time

from absl import app, flags, logging

from nases_tf.cli import checks, config as run_config, flags as cli_flags, run_record
from nases_tf.errors import ConfigError, NasesError, SettingError
from nases_tf.storage import fileio, run_lock

FLAGS = cli_flags.FLAGS


def _pretrain(config, space):
    """Stage 1: the coder of ``--output_dir``, loaded or trained (and its figures said)."""
    from nases_tf.embedding.coder import load_or_pretrain

    out, start = config.output_dir, time.time()
    coder, metrics = load_or_pretrain(
        space, os.path.join(out, "autoencoder"), config.embedding, config.runtime.seed,
        os.path.join(out, "tensorboard", "pretrain"), verbose=config.runtime.verbose)
    if metrics:
        print(f"stage 1: decision accuracy {metrics['decision_accuracy']:.3f} (untrained "
              f"{metrics.get('untrained_decision_accuracy', float('nan')):.3f}), mse "
              f"{metrics['mse']:.4f}, exact reconstruction "
              f"{metrics['exact_reconstruction']:.3f}, {metrics['distinct_architectures']} "
              f"distinct architectures from {metrics['random_embeddings']} random embeddings "
              f"({time.time() - start:.0f} s)")
    return coder


def _search(config, space, coder, images):
    """Stage 2: runs or resumes the search; returns the arch.json content."""
    from nases_tf.search.loop import Search

    start = time.time()
    result = Search(space, coder, images, config.output_dir, config.search, config.embedding,
                    config.runtime).run()
    reranked = result.get("standalone_rerank")  # best first: the returned one leads
    trained = ("" if not reranked else
               f", standalone validation accuracy {reranked[0]['standalone_accuracy']:.4f} "
               f"after {config.search.levers.rerank_epochs} epochs")
    print(f"search ({time.time() - start:.0f} s): returned {result['readable']}, final score "
          f"{result['reward']:.4f} (result/final_score){trained} "
          f"({os.path.join(config.output_dir, 'search', 'arch.json')})")
    return result


def _final(config, space, arch, images):
    """Final training of ``arch``, and the random architecture it is compared with."""
    from nases_tf.training.final import train_final
    from nases_tf.training.random_baseline import compare_with_random

    start = time.time()
    results = train_final(space, arch, images, config.output_dir, config.final,
                          config.runtime)
    print(f"final training ({time.time() - start:.0f} s): "
          f"test_accuracy={results['test_accuracy']:.4f} params={results['params']} "
          f"results={os.path.join(config.output_dir, 'final', 'results.json')}")
    if config.compare_random:
        start = time.time()
        results = compare_with_random(space, images, config.output_dir, config.final,
                                      config.runtime, config.compare_random, results)
        baseline = results["random_baseline"]
        print(f"random architecture (--arch=random --seed={config.compare_random}), same "
              f"training ({time.time() - start:.0f} s): "
              f"test_accuracy={baseline['test_accuracy']:.4f} params={baseline['params']}; "
              f"searched: "
              f"test_accuracy={results['test_accuracy']:.4f} params={results['params']}")


def run_stages(config, inputs):
    """Runs the stages ``config.stage`` selects, after the checks.

    Args:
        config: the ``RunConfig``.
        inputs: the checks' ``RunInputs``.
    """
    from nases_tf import quiet_start

    # TensorFlow's own C++ errors after start-up are mostly format warnings of tf.data
    # here; Python exceptions carry the real failures. TF_CPP_MIN_LOG_LEVEL=0 shows all.
    quiet_start.import_tensorflow(cpp_log_level=3)
    from nases_tf.cli.estimate import warning_for_run
    from nases_tf.networks import has_supernet
    from nases_tf.training import runtime

    if inputs.onednn_off:
        logging.warning("images larger than %dx%d: oneDNN custom ops are off "
                        "(TF_ENABLE_ONEDNN_OPTS=0), as they crash this TensorFlow build",
                        checks.ONEDNN_SAFE_SIDE, checks.ONEDNN_SAFE_SIDE)
    space, seed = inputs.space, config.runtime.seed
    runtime.split_cpu(config.runtime.logical_cpus)
    runtime.set_seed(seed)
    runtime.set_precision(config.runtime.mixed_precision)
    images = config.data.load() if config.stage != "pretrain" else None
    os.makedirs(config.output_dir, exist_ok=True)
    if images is not None and not runtime.has_gpu():
        slow = warning_for_run(config, space, len(images.train_x))
        if slow:
            logging.warning(slow)
    searches = config.stage in ("search", "all")
    if searches and config.search.reward == "weight_sharing" and not has_supernet(space.name):
        raise ConfigError(f"--reward=weight_sharing has no supernet for --space={space.name}; "
                          "use --reward=episodic")

    def begin(stage, arch=None):  # records the stage's settings, refusing other ones
        run_record.begin_stage(config, stage, inputs.labels,
                               space.to_json(arch) if arch is not None else None)
        # Each stage starts from the seed, not from whatever the stages before it drew: a
        # rerun that reuses a finished stage initializes the next one identically.
        runtime.set_seed(seed)

    if config.overwrite:
        run_record.remove_stages(config.output_dir, run_record.STAGES_RUN[config.stage])
    arch = inputs.arch
    if config.stage in ("pretrain", "search", "all"):
        begin("pretrain")
        coder = _pretrain(config, space)
    if searches:
        begin("search")
        arch = space.from_json(_search(config, space, coder, images)["architecture"])
    if config.stage in ("final", "all"):
        begin("final", arch)
        _final(config, space, arch, images)


def _fail(message):
    prog = os.path.basename(sys.argv[0]) if sys.argv else "run_nases.py"
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(2)


def error_line(error):
    """The one line a ``NasesError`` is reported in: a setting named by its flag.

    Args:
        error: the error.
    """
    if isinstance(error, SettingError):
        return run_config.flag_message(error)
    return str(error)


def _flag_error_line(error):
    """absl's message for a command line it cannot parse, as one line a user can act on."""
    line = str(error).splitlines()[0]
    if "Unable to open flagfile" in line:
        # absl: "ERROR:: Unable to open flagfile: [Errno 2] No such file or directory: 'x'"
        name = line.rsplit(": ", 1)[-1].strip("'")
        reason = line.split("] ", 1)[-1].rsplit(": ", 1)[0] if "] " in line else "unreadable"
        return f"--flagfile={name}: {reason.lower()}"
    if "--output_dir must have a value other than None" in line:
        return "--output_dir is required: the directory for checkpoints, logs and results"
    return line


def _parse_flags(argv):
    if any(arg in ("--help", "-h", "--helpshort", "-?") for arg in argv[1:]):
        from nases_tf.cli.help import grouped_help

        print(grouped_help())
        sys.exit(0)
    try:
        return FLAGS(argv)
    except flags.Error as exc:
        _fail(_flag_error_line(exc))


def main(argv):
    """absl entry point: reads the flags into a ``RunConfig``, checks it, runs the stages."""
    if not FLAGS["verbosity"].present:  # progress bars and prints say what INFO lines would
        logging.set_verbosity(logging.WARNING)
    if len(argv) > 1:
        _fail(f"unexpected arguments {' '.join(argv[1:])!r} (flags start with --)")
    existed = os.path.exists(FLAGS.output_dir)
    try:
        config = run_config.read_flags()
        inputs = checks.check_inputs(config)
        with run_lock.DirectoryLock(config.output_dir, f"--output_dir={config.output_dir}"):
            run_stages(config, inputs)
    except NasesError as exc:
        checks.remove_if_left_empty(FLAGS.output_dir, existed)
        _fail(error_line(exc))
    except Exception as exc:  # noqa: BLE001 - only file-system faults are caught
        line = fileio.fault_line(exc)
        if line is None:
            raise
        # a full disk or a read-only file is the user's to fix; the traceback is for
        # --verbosity=1
        logging.debug("file-system fault", exc_info=True)
        checks.remove_if_left_empty(FLAGS.output_dir, existed)
        _fail(line)


def run():
    """Runs the command line (what ``bin/run_nases.py`` calls)."""
    app.run(main, flags_parser=_parse_flags)
