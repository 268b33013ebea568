"""``SearchConfig``: the settings of stage 2, the NASES search."""

import dataclasses

from nases_tf import settings
from nases_tf.embedding.chains import MODES as CHAIN_MODES
from nases_tf.search.schedules import Levers, PAPER

REWARDS = ("weight_sharing", "episodic")


@dataclasses.dataclass(frozen=True)
class SearchConfig:
    """Settings of the search.

    Attributes:
        epochs: search epochs (the paper: 70 = SGDR cycles 10+20+40).
        reward: ``weight_sharing`` or ``episodic``.
        batch_size: child training batch size.
        filters: channels of the first stage of the children / supernet.
        controller_steps: controller updates per epoch.
        chain_mode: how the chains move (``nases_tf.embedding.chains.MODES``).
        episode_epochs: training epochs of each child in episodic mode.
        rescore_samples: controller samples re-scored on the whole validation split at the end.
        rescore_top: best-rewarded architectures seen that are re-scored too.
        cutout: cutout side for shared-weight training (0: off).
        levers: the settings beyond ENAS's schedule (``nases_tf.search.schedules``).
    """

    epochs: int = settings.setting(70, at_least=1)
    reward: str = settings.setting("weight_sharing", choices=REWARDS)
    batch_size: int = settings.setting(128, at_least=1)
    filters: int = settings.setting(40, at_least=1)
    controller_steps: int = settings.setting(50, at_least=1)
    chain_mode: str = settings.setting("decoded", choices=CHAIN_MODES)
    episode_epochs: int = settings.setting(1, at_least=1)
    rescore_samples: int = settings.setting(16, at_least=1)
    rescore_top: int = settings.setting(4, at_least=0)
    cutout: int = settings.setting(0, at_least=0, at_most=32)
    levers: Levers = settings.setting(PAPER)

    def __post_init__(self):
        settings.check_settings(self)

    @property
    def final_candidates(self):
        """The most candidates the final scoring re-scores (before duplicates are dropped):
        the controller's samples, the best-rewarded seen and the uniform extras."""
        return self.rescore_samples + self.rescore_top + self.levers.rescore_random
