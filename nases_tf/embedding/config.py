"""The settings of the NASES embedding core, with one default each.

``EmbeddingConfig`` is read by the command line (``nases_tf.cli``), stage 1 and the search's
controller, and ``nases_tf.oracles.nases.NASESOracle``; a setting's default lives here and
nowhere else.
"""

import dataclasses

from nases_tf import settings
from nases_tf.errors import SettingError

CODERS = ("lstm", "mlp")


def default_embedding_dim(num_decisions):
    """The embedding size n for m decisions when none is given.

    About m/3 (the paper's n < m), between 2 and 32, but at least ``min(m - 1, 8)``: a
    smaller embedding of a small space leaves many of its architectures unreachable through
    the decoder.

    Args:
        num_decisions: m, the number of decisions of the space.
    """
    third = int(max(2, min(32, round(num_decisions / 3))))
    return max(third, min(num_decisions - 1, 8))


@dataclasses.dataclass(frozen=True)
class EmbeddingConfig:
    """Stage-1 coder and stage-2 controller settings shared by the CLI and the Oracle.

    Attributes:
        coder: ``lstm`` (the paper: one LSTM layer each) or ``mlp`` (the authors' code).
        embedding_dim: n; None picks ``default_embedding_dim(m)``.
        hidden_units: decoder LSTM units / mlp hidden width.
        pretrain_steps: Adam steps of stage 1.
        pretrain_learning_rate: Adam learning rate of stage 1 (the paper: 1e-5).
        pretrain_batch_size: uniform samples per stage-1 step.
        controller_learning_rate: Adam learning rate of the policy.
        samples_per_update: chains, and samples per REINFORCE step.
        baseline_decay: decay of the reward moving-average baseline.
        entropy_weight: weight of the policy-entropy bonus.
        initial_sigma: initial standard deviation of the Gaussian policy; the pretrained
            embeddings spread about 0.65.
    """

    coder: str = settings.setting("lstm", choices=CODERS)
    embedding_dim: int = settings.setting(None, optional=True, at_least=1)
    hidden_units: int = settings.setting(64, at_least=1)
    pretrain_steps: int = settings.setting(1000, at_least=1)
    pretrain_learning_rate: float = settings.setting(3e-3, above=0.0)
    pretrain_batch_size: int = settings.setting(128, at_least=1)
    controller_learning_rate: float = settings.setting(3e-3, above=0.0)
    samples_per_update: int = settings.setting(4, at_least=1)
    baseline_decay: float = settings.setting(0.9, at_least=0.0, below=1.0)
    entropy_weight: float = settings.setting(1e-3, at_least=0.0)
    initial_sigma: float = settings.setting(0.3, above=0.0)

    def __post_init__(self):
        settings.check_settings(self)

    def dim_for(self, num_decisions):
        """The embedding size n for a space of ``num_decisions`` decisions: the one set, or
        ``default_embedding_dim``.

        Raises:
            SettingError: when the size set is not smaller than the number of decisions
                (an embedding as large as the decisions compresses nothing).
        """
        if self.embedding_dim is None:
            return default_embedding_dim(num_decisions)
        if self.embedding_dim >= num_decisions:
            raise SettingError("EmbeddingConfig.embedding_dim", self.embedding_dim,
                               f"must be smaller than the space's {num_decisions} decisions")
        return self.embedding_dim


DEFAULTS = EmbeddingConfig()
