"""Named weight-sharing schedules, explicit lever overrides, and the levers' checks."""

import dataclasses

import pytest

from nases_tf.errors import ConfigError, SettingError
from nases_tf.search.config import SearchConfig
from nases_tf.search.schedules import LEVERS, PAPER, TUNED, Levers, schedule_levers


def test_paper_schedule_is_enas_and_overrides_win():
    levers = schedule_levers("paper", {"bn_batches": 2, "max_skips": None})
    assert levers.bn_batches == 2
    assert levers.max_skips == PAPER.max_skips == -1
    assert levers.train_paths == "controller" and levers.reward_batches == 1
    assert schedule_levers("tuned") == TUNED
    assert SearchConfig().levers == PAPER == Levers()  # each lever's default has one home
    assert {f.name for f in dataclasses.fields(Levers)} == set(LEVERS)


def test_unknown_schedule_or_lever_is_a_config_error():
    with pytest.raises(ConfigError, match="schedule 'enas' is unknown"):
        schedule_levers("enas")
    with pytest.raises(ConfigError, match="not a weight-sharing lever"):
        schedule_levers("paper", {"epochs": 3})


@pytest.mark.parametrize("change,message", [
    ({"max_skips": -2}, "Levers.max_skips=-2 must be >= -1"),
    ({"train_paths": "both"}, "Levers.train_paths='both' is unknown"),
    ({"uniform_warmup": 1.5}, "Levers.uniform_warmup=1.5 must be <= 1.0"),
    ({"finetune_lr": 0.0}, "Levers.finetune_lr=0.0 must be > 0.0"),
])
def test_a_bad_lever_is_refused_naming_its_field(change, message):
    with pytest.raises(SettingError, match=message.replace("(", r"\(")):
        Levers(**change)


def test_the_final_scoring_fits_its_budget_and_shrinks_only_for_short_searches():
    from nases_tf.search.schedules import final_scoring_levers

    def cost(levers, steps_per_epoch, candidates):
        return (candidates * levers.finetune_steps +
                levers.rerank_top * levers.rerank_epochs * steps_per_epoch)

    # the paper's size (70 epochs of 351 steps) and the ranking benchmark's (20 of 21)
    assert final_scoring_levers(TUNED, 70 * 351, 351, 36) == TUNED
    assert final_scoring_levers(TUNED, 20 * 21, 21, 28) == TUNED
    demo = final_scoring_levers(TUNED, 3 * 21, 21, 28)  # the demo: 3 epochs of 21 steps
    assert (demo.rerank_top, demo.finetune_steps) == (4, 24)
    assert cost(demo, 21, 28) <= TUNED.final_budget * 3 * 21 < cost(TUNED, 21, 28)
    assert dataclasses.replace(demo, rerank_top=4, finetune_steps=60) == TUNED
    tiny = final_scoring_levers(TUNED, 1, 21, 28)
    assert (tiny.rerank_top, tiny.finetune_steps) == (0, 0)
    assert final_scoring_levers(PAPER, 1, 21, 28) == PAPER  # no budget


def test_a_final_scoring_lever_set_by_hand_is_taken_as_it_is():
    assert schedule_levers("tuned", {"finetune_steps": 20}).final_budget == 0
    assert schedule_levers("tuned", {"rerank_top": 2, "final_budget": 3.0}).final_budget == 3
    assert schedule_levers("tuned", {"bn_batches": 2}).final_budget == TUNED.final_budget
