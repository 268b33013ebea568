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
        final_budget: the training steps the final scoring may take (path fine-tuning and
            standalone re-ranking together), as a multiple of the search's shared-weight
            training steps; ``finetune_steps`` and ``rerank_top`` shrink to fit it
            (``final_scoring_levers``). 0: no bound.
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
    final_budget: float = settings.setting(0.0, at_least=0.0)

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
    finetune_steps=60,
    # The final scoring costs at most 15 times the search's training: at the paper's size
    # (70 epochs on CIFAR-10) the levers above take a quarter of one time and at the ranking
    # benchmark's (20 epochs on the shipped photos) under five, so neither changes; a short
    # search gets a shorter final scoring, which keeps the re-ranking first: it is what
    # turns down the parameter-free networks that barely fine-tuned paths favour.
    final_budget=15.0)
# Setting one of these by hand asks for that final scoring as it is: no budget then.
FINAL_SCORING_LEVERS = ("finetune_steps", "rerank_top", "rerank_epochs", "rescore_random")
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
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if "final_budget" not in given and set(given) & set(FINAL_SCORING_LEVERS):
        given["final_budget"] = 0.0
    return dataclasses.replace(SCHEDULES[name], **given)


def final_scoring_levers(levers, search_steps, steps_per_epoch, candidates):
    """``levers`` with ``rerank_top`` and ``finetune_steps`` shrunk until the final scoring's
    training (``candidates * finetune_steps`` path steps and ``rerank_top * rerank_epochs *
    steps_per_epoch`` standalone steps) fits ``final_budget * search_steps``.

    The re-ranking keeps at least half the budget when it needs it, the fine-tuning gets
    the rest; ``levers`` itself when the budget is 0 or not reached.

    Args:
        levers: the search's ``Levers``.
        search_steps: the search's shared-weight training steps (epochs x steps per epoch).
        steps_per_epoch: training steps of one epoch on the search's training split.
        candidates: the most candidates the final scoring re-scores.
    """
    budget = levers.final_budget * search_steps
    per_rerank = levers.rerank_epochs * steps_per_epoch
    finetune = candidates * levers.finetune_steps
    if not budget or finetune + levers.rerank_top * per_rerank <= budget:
        return levers
    rerank_top = min(levers.rerank_top, int(max(budget / 2, budget - finetune) // per_rerank))
    left = budget - rerank_top * per_rerank
    return dataclasses.replace(
        levers, rerank_top=rerank_top,
        finetune_steps=min(levers.finetune_steps, int(left // max(candidates, 1))))
