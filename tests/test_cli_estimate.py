"""The run-time estimate of micro-space runs and the warning the command line gives before a
run that would take hours."""

import pathlib

import pytest

from cli_helpers import parse_run
from nases_tf.cli import estimate
from nases_tf.search.schedules import TUNED

CONFIGS = pathlib.Path(__file__).resolve().parents[1] / "configs"
CIFAR10_TRAIN, NATURAL_TRAIN = 50_000, 1_500


def _config(name, *flags):
    return parse_run(f"--flagfile={CONFIGS / name}", "--output_dir=/tmp/never-made", *flags)


def test_cost_grows_with_every_size():
    base = estimate.micro_run_seconds(2, 5, 20, 1000, search_epochs=1)
    for sizes in [(4, 5, 20), (2, 6, 20), (2, 5, 40)]:
        assert estimate.micro_run_seconds(*sizes, 1000, search_epochs=1) > base
    assert estimate.micro_run_seconds(2, 5, 20, 1000, search_epochs=2) > base
    # four times the filters, about sixteen times the work
    work = [estimate.micro_run_seconds(2, 5, f, 1000, final_epochs=1) for f in (10, 40)]
    assert work[1] == pytest.approx(16 * work[0])


def test_paper_sized_runs_warn_with_an_estimate_in_one_line():
    for name in ("paper_search_micro.cfg", "paper_final_micro.cfg"):
        config = _config(name)
        warning = estimate.warning_for_run(config, config.space.build(), CIFAR10_TRAIN)
        assert warning and "\n" not in warning
        assert "--space=micro" in warning and "hours" in warning
        assert int(warning.split("about ")[1].split(" hours")[0]) >= 3


def test_the_demo_config_does_not_warn():
    config = _config("demo_micro.cfg")
    space = config.space.build()
    assert space.name == "micro" and config.stage == "all"
    seconds = estimate.micro_run_seconds(
        space.cells_per_stage, space.nodes, config.search.filters, NATURAL_TRAIN,
        config.search.epochs, config.search.controller_steps *
        config.embedding.samples_per_update * config.search.batch_size, config.final.epochs)
    assert seconds < 600
    assert estimate.warning_for_run(config, space, NATURAL_TRAIN) is None


def test_the_final_candidates_fine_tuning_is_in_the_estimate():
    tuned = estimate.finetune_images(_config("paper_search_micro.cfg").search, CIFAR10_TRAIN)
    steps = TUNED.finetune_steps
    # (16 controller samples + 4 best seen + 16 random candidates) x steps x 128 images
    assert steps > 0 and tuned == 36 * steps * 128
    assert estimate.finetune_images(_config("paper_search_micro.cfg", "--ws_schedule=paper")
                                    .search, CIFAR10_TRAIN) == 0
    assert estimate.finetune_images(_config("paper_search_micro.cfg", "--finetune_steps=10")
                                    .search, CIFAR10_TRAIN) == 36 * 10 * 128
    # a short search gets a short final scoring
    short = _config("paper_search_micro.cfg", "--search_epochs=1").search
    assert estimate.finetune_images(short, NATURAL_TRAIN) < tuned
    with_it = estimate.micro_run_seconds(2, 5, 20, 1000, search_epochs=1,
                                         finetune_images=tuned)
    assert with_it > estimate.micro_run_seconds(2, 5, 20, 1000, search_epochs=1)


def test_macro_runs_get_no_micro_estimate():
    config = _config("paper_search.cfg")
    assert estimate.warning_for_run(config, config.space.build(), CIFAR10_TRAIN) is None
