"""The weight-sharing search's levers and their named schedules.

``Levers`` holds the settings that depart from ENAS's schedule; its defaults are ENAS's
schedule as the paper describes it (``PAPER``): the controller's samples train the
supernet from the first step, each controller reward is the accuracy on one validation
minibatch with that batch's own batch-norm statistics, and the final candidates are the
controller's samples and best-rewarded architectures. ``TUNED`` is the command line's
default: the levers that moved the search's picks up among random architectures in our
measurements (docs/benchmarks.md has the figures, and says where they still fall short).
A lever set explicitly overrides its schedule (``schedule_levers``).
"""

import dataclasses

from nases_tf import settings
from nases_tf.errors import ConfigError

TRAIN_PATHS = ("controller", "uniform")


@dataclasses.dataclass(frozen=True)
class Levers:
    """Settings of the weight-sharing search beyond ENAS's schedule.

    Attributes:
        uniform_warmup: fraction of the epochs (rounded down), at the start, whose
            shared-weight steps take uniformly sampled paths, with no controller steps.
        train_paths: after the warm-up: ``controller`` (ENAS: the controller's samples
            train the supernet) or ``uniform`` (uniform paths).
        reward_batches: validation batches per controller reward (0: all).
        bn_batches: training batches that re-estimate the batch-norm statistics of each
            scored path (0: the validation batch's own statistics).
        max_skips: skip inputs allowed per layer of every architecture (-1: no cap).
        max_parameter_free: layers allowed a parameter-free op (-1: no cap).
        rescore_random: uniformly sampled architectures added to the final re-scoring.
        rerank_top: best supernet-rewarded candidates trained standalone at the end, the
            best of them by validation accuracy being the result (0: off).
        rerank_epochs: training epochs of each ``rerank_top`` candidate.
        finetune_steps: SGD steps each finally re-scored candidate's path takes alone,
            from the shared weights, before it is scored (0: none).
        finetune_lr: the constant learning rate of those steps.
    """

    uniform_warmup: float = settings.setting(0.0, at_least=0.0, at_most=1.0)
    train_paths: str = settings.setting("controller", choices=TRAIN_PATHS)
    reward_batches: int = settings.setting(1, at_least=0)
    bn_batches: int = settings.setting(0, at_least=0)
    max_skips: int = settings.setting(-1, at_least=-1)
    max_parameter_free: int = settings.setting(-1, at_least=-1)
    rescore_random: int = settings.setting(0, at_least=0)
    rerank_top: int = settings.setting(0, at_least=0)
    rerank_epochs: int = settings.setting(2, at_least=1)
    finetune_steps: int = settings.setting(0, at_least=0)
    finetune_lr: float = settings.setting(0.05, above=0.0)

    def __post_init__(self):
        settings.check_settings(self)


PAPER = Levers()
TUNED = dataclasses.replace(
    PAPER,
    # Uniform paths train the supernet throughout (single-path one-shot): the controller's
    # samples would train its favourite paths more and so rank them higher.
    train_paths="uniform", uniform_warmup=0.5, reward_batches=0, bn_batches=4,
    rescore_random=16, rerank_top=4, rerank_epochs=3,
    # A few steps on each final candidate's own path before it is scored: the shared
    # weights as they are rank architectures little better than chance.
    finetune_steps=60)
SCHEDULES = {"tuned": TUNED, "paper": PAPER}
LEVERS = tuple(field.name for field in dataclasses.fields(Levers))


def schedule_levers(name, overrides=None):
    """The ``Levers`` of schedule ``name``, with ``overrides`` (None values ignored).

    Args:
        name: a key of ``SCHEDULES``.
        overrides: dict of lever -> value set explicitly.
    """
    if name not in SCHEDULES:
        raise ConfigError(f"schedule {name!r} is unknown, expected one of "
                          f"{', '.join(SCHEDULES)}")
    unknown = sorted(set(overrides or {}) - set(LEVERS))
    if unknown:
        raise ConfigError(f"{unknown[0]!r} is not a weight-sharing lever ({', '.join(LEVERS)})")
    return dataclasses.replace(SCHEDULES[name], **{k: v for k, v in (overrides or {}).items()
                                                   if v is not None})
