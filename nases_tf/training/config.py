"""The settings of final training (``FinalConfig``) and of a run's process
(``RuntimeConfig``: seed, precision, progress output)."""

import dataclasses

from nases_tf import settings

STRATEGIES = ("default", "mirrored")


@dataclasses.dataclass(frozen=True)
class FinalConfig:
    """Settings of final training (paper 4.2).

    Attributes:
        epochs: training epochs (the paper: 630 = SGDR cycles 10+20+...+320).
        batch_size: examples per batch (the paper: 128).
        filters: channels of the first stage, F.
        cutout: cutout square side, 0 for none.
        strategy: ``default`` or ``mirrored`` (``tf.distribute.MirroredStrategy`` over the
            GPUs, or the logical CPUs); only final training is distributed.
        lr_max, lr_min, first_cycle_epochs: the SGDR schedule (also the search's).
    """

    epochs: int = settings.setting(630, at_least=1)
    batch_size: int = settings.setting(128, at_least=1)
    filters: int = settings.setting(40, at_least=1)
    cutout: int = settings.setting(0, at_least=0, at_most=32)
    strategy: str = settings.setting("default", choices=STRATEGIES)
    lr_max: float = settings.setting(0.05, above=0.0)
    lr_min: float = settings.setting(0.001, at_least=0.0)
    first_cycle_epochs: int = settings.setting(10, at_least=1)

    def __post_init__(self):
        settings.check_settings(self)


@dataclasses.dataclass(frozen=True)
class RuntimeConfig:
    """Process-wide settings of a run.

    Attributes:
        seed: seeds Python, numpy and TensorFlow, the data order and augmentation; CPU
            runs with the same seed give the same metrics.
        mixed_precision: ``mixed_float16`` on a GPU, ``mixed_bfloat16`` on a CPU.
        logical_cpus: split the CPU into this many logical devices (0: no split), so
            ``MirroredStrategy`` can run without GPUs.
        profile_steps: (start, end) batches of final training to trace for the TensorBoard
            profiler, or None.
        verbose: Keras progress bars: 0 silent, 1 bar, 2 line per epoch.
    """

    seed: int = settings.setting(0, at_least=0, at_most=2 ** 32 - 1)
    mixed_precision: bool = settings.setting(False)
    logical_cpus: int = settings.setting(0, at_least=0)
    profile_steps: tuple = settings.setting(None, optional=True, affects_results=False)
    verbose: int = settings.setting(1, at_least=0, at_most=2, affects_results=False)

    def __post_init__(self):
        settings.check_settings(self)
