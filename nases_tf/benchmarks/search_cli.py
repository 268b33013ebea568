"""Command line of the NAS-Bench-201 search benchmark: absl flags -> run -> report files.

Installed as ``nases-benchmark-search``; ``bin/benchmark_search.py`` calls the same ``run``.
Example::

    nases-benchmark-search --table=../shared/data/nasbench201_200ep_seeds.csv \\
        --strategies=random,local,tpe,evolution,reinforce,nases,bayesian:2 --budget=200 \\
        --seeds=50 --output_json=runs/nb201.json --plot=runs/nb201.png

By default a query is rewarded with one training seed's validation accuracy and a search is
judged by the seed-mean test accuracy of what it returns; ``--reward=noise_free`` rewards
with that truth itself (see ``nases_tf.benchmarks.protocol``).
"""

import os

# Set before keras-tuner brings TensorFlow in: its C++ start-up chatter hides the report.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from nases_tf.benchmarks.entry import run_app  # noqa: E402
from nases_tf.benchmarks.nasbench201 import DATASET_COLUMNS, NasBench201Table  # noqa: E402
from nases_tf.benchmarks.plots import plot_report  # noqa: E402
from nases_tf.benchmarks.protocol import REWARDS  # noqa: E402
from nases_tf.benchmarks.search import differences, format_report, run_benchmark  # noqa: E402
from nases_tf.benchmarks.strategies import STRATEGIES, parse_strategies  # noqa: E402
from nases_tf.errors import ConfigError  # noqa: E402
from nases_tf.storage.fileio import write_json  # noqa: E402


def define_flags(flag_values=None):
    """Defines the benchmark's absl flags.

    Args:
        flag_values: an absl ``FlagValues`` (absl's global ``FLAGS`` if None).
    """
    fv = flag_values if flag_values is not None else flags.FLAGS
    flags.DEFINE_string("table", None, "NAS-Bench-201 CSV: the per-seed table (e.g. "
                        "../shared/data/nasbench201_200ep_seeds.csv), or the test-only "
                        "table for --reward=noise_free.", flag_values=fv)
    flags.DEFINE_enum("dataset", "cifar10", list(DATASET_COLUMNS),
                      "Which dataset's columns of the table to search.", flag_values=fv)
    flags.DEFINE_enum("reward", "seed_validation", list(REWARDS),
                      "How a query is answered: seed_validation (one training seed's "
                      "validation accuracy; the field's protocol) or noise_free (the "
                      "seed-mean test accuracy the search is judged by).", flag_values=fv)
    flags.DEFINE_string("reference", "nases", "Report this strategy's differences to every "
                        "peer, in standard errors of the difference (empty: none).",
                        flag_values=fv)
    flags.DEFINE_string("strategies", "random,local,tpe,evolution,reinforce,nases,"
                        "nases_frozen,nases_paper,bayesian:2",
                        "Comma-separated strategies among " + ", ".join(STRATEGIES) +
                        "; NAME:N runs NAME on the first N seeds only.", flag_values=fv)
    flags.DEFINE_integer("budget", 200, "Queries (training runs) each run may make.",
                         flag_values=fv)
    flags.DEFINE_integer("seeds", 50, "Runs per strategy (seeds 0..N-1).", flag_values=fv)
    flags.DEFINE_string("output_json", None, "Write the summary JSON here.", flag_values=fv)
    flags.DEFINE_string("plot", None, "Write a PNG of best-so-far curves here.",
                        flag_values=fv)
    flags.DEFINE_integer("population", 20, "Regularized evolution: population size.",
                         flag_values=fv)
    flags.DEFINE_integer("tournament", 10, "Regularized evolution: tournament sample size.",
                         flag_values=fv)
    flags.DEFINE_float("reinforce_lr", 0.2, "REINFORCE: learning rate on the logits.",
                       flag_values=fv)
    flags.DEFINE_float("reinforce_entropy", 0.01, "REINFORCE: entropy bonus weight.",
                       flag_values=fv)
    flags.DEFINE_integer("local_initial_random", 10, "Local search: random trials before "
                         "the first climb.", flag_values=fv)
    flags.DEFINE_enum("nases_proposals", "trust_region",
                      ["trust_region", "decoded", "elitist", "best"],
                      "NASES: how trials are proposed (NASESOracle's proposals; nases_paper "
                      "always uses the paper's decoded chain).", flag_values=fv)
    flags.DEFINE_integer("nases_initial_points", 10, "NASES trust region: random trials "
                         "before the first region.", flag_values=fv)
    flags.DEFINE_enum("nases_predictor", "auto", ["auto", "linear", "gp"],
                      "NASES trust region: the reward predictor.", flag_values=fv)
    flags.DEFINE_integer("nases_samples_per_update", 8, "NASES chains: chains, and trials "
                         "per REINFORCE step (tuned on held-out seeds 1000-1019).",
                         flag_values=fv)
    flags.DEFINE_float("nases_initial_sigma", 0.3, "NASES chains: initial policy standard "
                       "deviation (tuned on held-out seeds 1000-1019).", flag_values=fv)
    flags.DEFINE_integer("nases_embedding_dim", None, "NASES: embedding size (None: the "
                         "Oracle's default).", flag_values=fv)
    flags.DEFINE_float("max_proposals_factor", 2.0, "Each oracle may propose this many "
                       "times --budget trials (duplicates included).", flag_values=fv)
    flags.DEFINE_integer("blas_threads", 1, "Cap on numpy/scipy BLAS and OpenMP threads "
                         "during the search (0: no cap); one is fastest for these tiny "
                         "problems.", flag_values=fv)
    flags.DEFINE_string("workdir", None, "Scratch folder for oracle project directories "
                        "(default: /dev/shm if writable, else the system temp).",
                        flag_values=fv)


def main(fv):
    """Runs the benchmark the parsed flags ``fv`` describe; prints and writes its report.

    Args:
        fv: parsed absl ``FlagValues`` holding the flags of ``define_flags``.

    Returns:
        The report dict (``nases_tf.benchmarks.search.summarize``'s, plus ``interrupted``
        and ``settings``).
    """
    if not fv.table:
        raise ConfigError("--table is required (the NAS-Bench-201 CSV)")
    strategies = parse_strategies(fv.strategies)
    names = [name for name, _ in strategies]
    if fv.reference and fv.reference not in names and fv["reference"].present:
        raise ConfigError(f"--reference={fv.reference} is not among --strategies "
                          f"({', '.join(names)})")
    table = NasBench201Table.load(fv.table, fv.dataset)
    strategy_flags = {"population": fv.population, "tournament": fv.tournament,
                      "reinforce_lr": fv.reinforce_lr,
                      "reinforce_entropy": fv.reinforce_entropy,
                      "local_initial_random": fv.local_initial_random,
                      "nases_proposals": fv.nases_proposals,
                      "nases_initial_points": fv.nases_initial_points,
                      "nases_predictor": fv.nases_predictor,
                      "nases_samples_per_update": fv.nases_samples_per_update,
                      "nases_initial_sigma": fv.nases_initial_sigma,
                      "nases_embedding_dim": fv.nases_embedding_dim}
    report = run_benchmark(table, strategies, fv.budget, fv.seeds, strategy_flags,
                           fv.workdir, fv.max_proposals_factor,
                           blas_threads=fv.blas_threads, reward=fv.reward)
    reference = fv.reference if fv.reference in report["strategies"] else None
    if reference:
        report["differences"] = {"reference": reference,
                                 "peers": differences(report, reference)}
    report["settings"] = {"strategies": fv.strategies, "budget": fv.budget,
                          "reward": fv.reward, "dataset": fv.dataset,
                          "seeds": fv.seeds, **strategy_flags,
                          "max_proposals_factor": fv.max_proposals_factor,
                          "blas_threads": fv.blas_threads}
    print(format_report(report, reference))
    if report["interrupted"]:
        print("(interrupted: strategies and seeds that did not finish are missing)")
    if fv.output_json:
        write_json(fv.output_json, report)
        print(f"wrote {fv.output_json}")
    if fv.plot and plot_report(report, fv.plot):
        print(f"wrote {fv.plot}")
    return report


def run(argv=None):
    """Console entry point (``argv``: the command line, None for ``sys.argv``)."""
    run_app(define_flags, main, argv)


if __name__ == "__main__":
    run()
