"""Named weight-sharing schedules and explicit lever overrides."""

import pytest

from nases_tf.errors import ConfigError
from nases_tf.search import SearchConfig
from nases_tf.ws_schedules import LEVERS, PAPER, apply_schedule, schedule_levers


def test_paper_schedule_is_enas_and_overrides_win():
    config = apply_schedule(SearchConfig(epochs=3), "paper", {"bn_batches": 2,
                                                             "max_skips": None})
    assert config.epochs == 3
    assert config.bn_batches == 2
    assert config.max_skips == PAPER["max_skips"] == -1
    assert config.train_paths == "controller" and config.reward_batches == 1
    assert set(schedule_levers("tuned")) == set(LEVERS)


def test_unknown_schedule_or_lever_is_a_config_error():
    with pytest.raises(ConfigError, match="--ws_schedule"):
        schedule_levers("enas")
    with pytest.raises(ConfigError, match="not a weight-sharing lever"):
        schedule_levers("paper", {"epochs": 3})
