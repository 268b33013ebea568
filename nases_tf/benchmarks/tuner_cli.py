"""Command line of the keras-tuner benchmark: absl flags -> problems x strategies -> report.

Installed as ``nases-benchmark-tuner``; ``bin/benchmark_tuner.py`` calls the same ``run``.
Example::

    nases-benchmark-tuner --problems=cheap,fcnet_protein,mlp_australian \\
        --hpo_dir=../shared/data/hpo --strategies=random,tpe,nases,nases_frozen \\
        --seeds=30 --trials=30,50,100 --output_json=runs/tuner.json
"""

import os

# Set before keras-tuner brings TensorFlow in: its C++ start-up chatter hides the report.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from nases_tf.benchmarks.entry import run_app  # noqa: E402
from nases_tf.benchmarks.search import _limit_blas_threads  # noqa: E402
from nases_tf.benchmarks.strategies import STRATEGIES  # noqa: E402
from nases_tf.benchmarks.tuner_benchmark import (PROBLEMS, compare, format_report,  # noqa: E402
                                                 load_problem)
from nases_tf.errors import ConfigError  # noqa: E402
from nases_tf.storage.fileio import write_json  # noqa: E402


def define_flags(flag_values=None):
    """Defines the benchmark's absl flags.

    Args:
        flag_values: an absl ``FlagValues`` (absl's global ``FLAGS`` if None).
    """
    fv = flag_values if flag_values is not None else flags.FLAGS
    flags.DEFINE_list("problems", ["cheap"], "Problems among " + ", ".join(PROBLEMS) + ".",
                      flag_values=fv)
    flags.DEFINE_string("hpo_dir", None, "Folder of the HPO tables (e.g. ../shared/data/hpo); "
                        "needed for fcnet_protein and mlp_australian.", flag_values=fv)
    flags.DEFINE_list("strategies", ["random", "tpe", "nases", "nases_frozen"],
                      "Strategies among " + ", ".join(STRATEGIES) + " (local and evolution "
                      "skip problems with a continuous hyperparameter).", flag_values=fv)
    flags.DEFINE_integer("seeds", 10, "Searches per strategy and problem (seeds 0..N-1).",
                         lower_bound=1, flag_values=fv)
    flags.DEFINE_list("trials", ["30", "50", "100"], "Trial counts to report; the largest is "
                      "each search's number of trials.", flag_values=fv)
    flags.DEFINE_string("reference", "nases", "Report this strategy's differences to every "
                        "peer (empty: none).", flag_values=fv)
    flags.DEFINE_string("output_json", None, "Write the reports here.", flag_values=fv)
    flags.DEFINE_integer("blas_threads", 1, "Cap on numpy/scipy BLAS threads (0: no cap).",
                         lower_bound=0, flag_values=fv)


def main(fv):
    """Runs the benchmark the parsed flags ``fv`` describe; prints and writes its reports.

    Args:
        fv: parsed absl ``FlagValues`` holding the flags of ``define_flags``.

    Returns:
        The list of reports (``tuner_benchmark.summarize``'s).
    """
    try:
        budgets = [int(t) for t in fv.trials]
    except ValueError:
        raise ConfigError(f"--trials={','.join(fv.trials)} must be integers") from None
    unknown = [s for s in fv.strategies if s not in STRATEGIES]
    if unknown:
        raise ConfigError(f"--strategies names unknown strategy {unknown[0]!r}, expected "
                          f"some of {', '.join(STRATEGIES)}")
    problems = [load_problem(name, fv.hpo_dir) for name in fv.problems]
    with _limit_blas_threads(fv.blas_threads):
        reports = compare(problems, fv.strategies, fv.seeds, budgets)
    for report in reports:
        print(format_report(report, fv.reference or None))
    if fv.output_json:
        write_json(fv.output_json, {"seeds": fv.seeds, "trials": budgets,
                                    "reports": reports})
        print(f"wrote {fv.output_json}")
    return reports


def run(argv=None):
    """Console entry point (``argv``: the command line, None for ``sys.argv``)."""
    run_app(define_flags, main, argv)


if __name__ == "__main__":
    run()
