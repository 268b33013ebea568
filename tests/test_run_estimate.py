"""The run-time estimate of micro-space runs and the warning the command line gives before a
run that would take hours."""

import pathlib

import pytest

from nases_tf import run_estimate
from nases_tf.spaces import MacroSpace, MicroSpace
from nases_tf.ws_schedules import TUNED

CONFIGS = pathlib.Path(__file__).resolve().parents[1] / "configs"
CIFAR10_TRAIN, NATURAL_TRAIN = 50_000, 1_500


def _flag_values(*configs):
    from nases_tf import cli
    cli.FLAGS.unparse_flags()
    try:
        cli.FLAGS(["run_nases.py", *(f"--flagfile={CONFIGS / c}" for c in configs)])
        return cli.FLAGS.flag_values_dict()
    finally:
        cli.FLAGS.unparse_flags()


def _space(values):
    return MicroSpace(values["nodes"], values["cells_per_stage"])


def test_cost_grows_with_every_size():
    base = run_estimate.micro_run_seconds(2, 5, 20, 1000, search_epochs=1)
    for sizes in [(4, 5, 20), (2, 6, 20), (2, 5, 40)]:
        assert run_estimate.micro_run_seconds(*sizes, 1000, search_epochs=1) > base
    assert run_estimate.micro_run_seconds(2, 5, 20, 1000, search_epochs=2) > base
    # four times the filters, about sixteen times the work
    work = [run_estimate.micro_run_seconds(2, 5, f, 1000, final_epochs=1) for f in (10, 40)]
    assert work[1] == pytest.approx(16 * work[0])


def test_paper_sized_runs_warn_with_an_estimate_in_one_line():
    for config in ("paper_search_micro.cfg", "paper_final_micro.cfg"):
        values = _flag_values(config)
        warning = run_estimate.warning_for_flags(values, _space(values), CIFAR10_TRAIN)
        assert warning and "\n" not in warning
        assert "--space=micro" in warning and "hours" in warning
        assert int(warning.split("about ")[1].split(" hours")[0]) >= 3


def test_the_demo_config_does_not_warn():
    values = _flag_values("demo_micro.cfg")
    assert values["space"] == "micro" and values["stage"] == "all"
    seconds = run_estimate.micro_run_seconds(
        values["cells_per_stage"], values["nodes"], values["filters"], NATURAL_TRAIN,
        values["search_epochs"], values["controller_steps"] * values["samples_per_update"] *
        values["batch_size"], values["final_epochs"])
    assert seconds < 600
    assert run_estimate.warning_for_flags(values, _space(values), NATURAL_TRAIN) is None


def test_the_final_candidates_fine_tuning_is_in_the_estimate():
    values = _flag_values("paper_search_micro.cfg")
    tuned = run_estimate.finetune_images(values)
    steps = TUNED["finetune_steps"]
    # (16 controller samples + 4 best seen + 16 random candidates) x steps x 128 images
    assert steps > 0 and tuned == 36 * steps * 128
    assert run_estimate.finetune_images({**values, "ws_schedule": "paper"}) == 0
    assert run_estimate.finetune_images({**values, "finetune_steps": 10}) == 36 * 10 * 128
    with_it = run_estimate.micro_run_seconds(2, 5, 20, 1000, search_epochs=1,
                                             finetune_images=tuned)
    assert with_it > run_estimate.micro_run_seconds(2, 5, 20, 1000, search_epochs=1)


def test_macro_runs_get_no_micro_estimate():
    values = _flag_values("paper_search.cfg")
    assert run_estimate.warning_for_flags(values, MacroSpace(15), CIFAR10_TRAIN) is None
