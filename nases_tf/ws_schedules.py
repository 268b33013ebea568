"""Named settings of the weight-sharing search's levers (``--ws_schedule``).

``paper`` is ENAS's schedule as the paper describes it: the controller's samples train the
supernet from the first step, each controller reward is the accuracy on one validation
minibatch with that batch's own batch-norm statistics, and the final candidates are the
controller's samples and best-rewarded architectures. ``tuned`` is the default: the levers
that moved the search's picks up among random architectures in our measurements (BUILD.md
has the figures, and says where they still fall short).
A lever set explicitly (a ``SearchConfig`` field, a CLI flag) overrides its schedule.
"""

import dataclasses

from nases_tf.errors import ConfigError

PAPER = {
    "uniform_warmup": 0.0,
    "train_paths": "controller",
    "reward_batches": 1,
    "bn_batches": 0,
    "max_skips": -1,
    "max_parameter_free": -1,
    "rescore_random": 0,
    "rerank_top": 0,
    "rerank_epochs": 2,
    "finetune_steps": 0,
    "finetune_lr": 0.05,
}

TUNED = {
    **PAPER,
    # Uniform paths train the supernet throughout (single-path one-shot): the controller's
    # samples would train its favourite paths more and so rank them higher.
    "train_paths": "uniform",
    "uniform_warmup": 0.5,
    "reward_batches": 0,
    "bn_batches": 4,
    "rescore_random": 16,
    "rerank_top": 4,
    "rerank_epochs": 3,
    # A few steps on each final candidate's own path before it is scored: the shared
    # weights as they are rank architectures little better than chance.
    "finetune_steps": 60,
}

SCHEDULES = {"tuned": TUNED, "paper": PAPER}
LEVERS = tuple(PAPER)


def schedule_levers(name, overrides=None):
    """The lever values of schedule ``name``, with ``overrides`` (None values ignored).

    Args:
        name: a key of ``SCHEDULES``.
        overrides: dict of lever -> value set explicitly.
    """
    if name not in SCHEDULES:
        raise ConfigError(f"--ws_schedule={name!r} is unknown, expected one of "
                          f"{', '.join(SCHEDULES)}")
    levers = dict(SCHEDULES[name])
    for key, value in (overrides or {}).items():
        if key not in levers:
            raise ConfigError(f"{key!r} is not a weight-sharing lever ({', '.join(LEVERS)})")
        if value is not None:
            levers[key] = value
    return levers


def apply_schedule(config, name, overrides=None):
    """``config`` (a ``SearchConfig``) with the levers of schedule ``name`` and
    ``overrides``."""
    return dataclasses.replace(config, **schedule_levers(name, overrides))
