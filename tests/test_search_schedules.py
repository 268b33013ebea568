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
