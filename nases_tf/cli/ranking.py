"""The ranking benchmark's command line (``bin/benchmark_ranking.py``,
``nases-benchmark-ranking``): the flags of ``bin/run_nases.py`` describe the search, a few
of its own the benchmark (``nases_tf.benchmarks.ranking``), with the demo's sizes as
defaults."""

import dataclasses
import os

from absl import app, flags

from nases_tf.benchmarks.ranking import RankingSettings, format_report, run_benchmark, write_plot
from nases_tf.cli import config as run_config, flags as cli_flags
from nases_tf.errors import NasesError, SettingError
from nases_tf.storage import fileio

# The help of the flags that set ``RankingSettings`` (their defaults come from it).
_SETTING_HELP = {
    "archs": "Random architectures trained standalone.",
    "arch_seed": "Seed of the random architectures.",
    "standalone_epochs": "Epochs of every standalone training.",
    "standalone_seeds": "Training seeds per standalone architecture.",
    "search_seeds": "Weight-sharing searches (seeds 0, 1, ...).",
    "episodic_seeds": "Episodic searches for comparison (0: none).",
    "episodic_epochs": "Search epochs of an episodic search.",
    "episodic_controller_steps": "Controller steps per epoch of an episodic search (each "
                                 "trains --samples_per_update children; 2 candidates are "
                                 "re-scored).",
}
_DEMO = {"layers": 6, "filters": 16, "batch_size": 64, "search_epochs": 20,
         "controller_steps": 6, "samples_per_update": 4, "rescore_samples": 8,
         "pretrain_steps": 400, "verbose": 0, "stage": "search", "output_dir": "runs/ranking"}


def define_flags():
    """Defines the benchmark's own flags beside the run flags, and sets the run flags'
    defaults to the demo's sizes."""
    for name, help_text in _SETTING_HELP.items():
        cli_flags.define_setting(name, [(RankingSettings, name)], help_text)
    flags.DEFINE_string("cache_dir", None,
                        "Standalone results cache, shareable between runs that compare "
                        "search settings (default <output_dir>/standalone).")
    flags.DEFINE_string("output_json", None, "Report path (default <output_dir>/ranking.json).")
    flags.DEFINE_string("plot", None, "Scatter plot path (default <output_dir>/ranking.png).")
    for name, value in dict(_DEMO, dataset=_default_dataset()).items():
        flags.FLAGS.set_default(name, value)


def _default_dataset():
    here = os.path.dirname(os.path.abspath(__file__))
    npz = os.path.join(here, "..", "..", "..", "shared", "data", "natural-images-10class.npz")
    return f"npz:{os.path.normpath(npz)}" if os.path.isfile(npz) else "cifar10"


def main(argv):
    """absl entry point of the ranking benchmark."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    values = flags.FLAGS
    values.stage = "search"
    config = run_config.read_flags()
    ranking = RankingSettings(**{name: values[name].value for name in _SETTING_HELP})

    def config_for(kind, seed):
        search = dataclasses.replace(config.search, reward=kind)
        if kind == "episodic":
            search = dataclasses.replace(search, epochs=ranking.episodic_epochs,
                                         controller_steps=ranking.episodic_controller_steps,
                                         rescore_samples=2, rescore_top=1)
        return search, config.embedding, dataclasses.replace(config.runtime, seed=seed)

    report = run_benchmark(config.space.build(), config.data.load(), ranking, config_for,
                           config.output_dir, cache_dir=values.cache_dir)
    path = values.output_json or os.path.join(config.output_dir, "ranking.json")
    fileio.write_json(path, report)
    print(format_report(report))
    print(f"report written to {path}")
    print(write_plot(report, values.plot or os.path.join(config.output_dir, "ranking.png")))


def run():
    """Console entry point ``nases-benchmark-ranking``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    define_flags()

    def guarded(argv):
        try:
            main(argv)
        except SettingError as exc:
            raise SystemExit(f"error: {run_config.flag_message(exc)}") from None
        except NasesError as exc:
            raise SystemExit(f"error: {exc}") from None

    app.run(guarded)
