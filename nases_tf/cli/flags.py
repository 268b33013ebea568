"""The flags of ``bin/run_nases.py``, each bound to the config settings it sets.

A flag bound to settings takes its default and its allowed values from their declarations
(``nases_tf.settings``): absl checks enums and inclusive bounds, validators check open
bounds and finite numbers, so a bad value is refused as the command line is parsed, in one
line naming the flag. ``BINDINGS`` says which ``(config class, field)`` pairs each flag
sets: ``nases_tf.cli.config`` reads the flags into a ``RunConfig`` with it, and messages
name a setting by its flag with it. Nothing here imports TensorFlow.
"""

import dataclasses

from absl import flags

from nases_tf import settings, spaces
from nases_tf.data.images import DataConfig, dataset_problem
from nases_tf.embedding.config import EmbeddingConfig
from nases_tf.search.config import SearchConfig
from nases_tf.search.schedules import SCHEDULES, Levers
from nases_tf.spaces.config import SpaceConfig, size_defaults
from nases_tf.training.config import FinalConfig, RuntimeConfig

STAGES = ("pretrain", "search", "final", "all")
FLAGS = flags.FLAGS


@dataclasses.dataclass(frozen=True)
class Binding:
    """The settings one flag sets.

    Attributes:
        targets: ``(config class, field name)`` pairs.
        convert: turns the flag's value into the settings' value (None: the same value).
    """

    targets: tuple
    convert: object = None

    def value(self, flag_value):
        """The settings' value for the flag's value ``flag_value``."""
        return self.convert(flag_value) if self.convert else flag_value


BINDINGS = {}
_FROM_SETTING = object()


def _field(owner, name):
    return next(f for f in dataclasses.fields(owner) if f.name == name)


def _check_with(flag, check):
    """Registers ``check(value) -> problem or None`` as ``--flag``'s validator."""
    def validator(value):
        found = check(value)
        if found:
            raise flags.ValidationError(f"{value} {found}")
        return True
    flags.register_validator(flag, validator)


def define_setting(flag, targets, help_text, default=_FROM_SETTING, convert=None):
    """Defines ``--flag`` for the settings ``targets``, with the first target's default and
    allowed values unless given.

    Args:
        flag: the flag name.
        targets: ``(config class, field name)`` pairs the flag sets (one or more).
        help_text: the flag's help.
        default: the flag's default (default: the setting's; None for a setting that
            something else decides unless the flag is given, such as a lever).
        convert: function from the flag's value to the settings' value; the allowed values
            are then checked on the converted value.
    """
    targets = tuple(targets)
    field = _field(*targets[0])
    spec, kind = dict(field.metadata), field.type
    if default is _FROM_SETTING:
        default = field.default
    elif default is None:
        spec["optional"] = True  # not given: decided elsewhere
    if spec.get("choices") is not None and kind is str:
        flags.DEFINE_enum(flag, default, list(spec["choices"]), help_text)
    elif kind is bool:
        flags.DEFINE_boolean(flag, default, help_text)
    elif kind in (int, float) and convert is None:
        define = flags.DEFINE_integer if kind is int else flags.DEFINE_float
        define(flag, default, help_text, lower_bound=spec.get("at_least"),
               upper_bound=spec.get("at_most"))
        if kind is float or spec.get("above") is not None or spec.get("below") is not None:
            _check_with(flag, lambda v: settings.problem(v, spec))
    else:
        define = {int: flags.DEFINE_integer, float: flags.DEFINE_float}.get(
            kind, flags.DEFINE_string)
        define(flag, default, help_text)
        _check_with(flag, lambda v: settings.problem(convert(v) if convert else v, spec))
    BINDINGS[flag] = Binding(targets, convert)


def profile_steps(text):
    """``"START,END"`` -> (start, end); ``""`` -> None (the ``--profile_steps`` value).

    Raises:
        flags.ValidationError: unless ``text`` is empty or two batch numbers with
            1 <= START <= END.
    """
    if not text:
        return None
    try:
        start, end = (int(p) for p in text.split(","))
    except ValueError:
        raise flags.ValidationError(f"{text!r} must be START,END (two batch numbers)") from None
    if not 1 <= start <= end:
        raise flags.ValidationError(f"{text!r} needs 1 <= START <= END")
    return start, end


def _embedding_dim(value):
    """``--embedding_dim`` -> ``EmbeddingConfig.embedding_dim`` (0: the space's default size).

    Raises:
        flags.ValidationError: for a negative value.
    """
    if value < 0:
        raise flags.ValidationError(f"{value} must be >= 1, or 0 for the space's default size")
    return value or None


# -- the run --------------------------------------------------------------------------------
flags.DEFINE_enum("stage", "final", STAGES, "Stage to run.")
flags.DEFINE_string("output_dir", None, "Directory for checkpoints, logs and results.")
flags.mark_flag_as_required("output_dir")
flags.DEFINE_boolean("overwrite", False,
                     "Start afresh: delete the outputs of the stages this run runs, instead "
                     "of refusing to resume work done with other settings.")
flags.DEFINE_string("arch", None,
                    "Architecture for --stage=final: 'random' or an arch.json (default: the "
                    "search's <output_dir>/search/arch.json).")
flags.DEFINE_integer("compare_random", 0,
                     "After final training, train this seeded random architecture of the "
                     "same space the same way and print both accuracies (0: off).",
                     lower_bound=0)
define_setting("dataset", [(DataConfig, "dataset")],
               "'cifar10' (tensorflow-datasets) or 'npz:PATH'.")
_check_with("dataset", dataset_problem)
define_setting("data_dir", [(DataConfig, "data_dir")], "tensorflow-datasets data directory.")
define_setting("seed", [(RuntimeConfig, "seed")],
               "Seed: CPU runs with the same seed give the same metrics.")
define_setting("mixed_precision", [(RuntimeConfig, "mixed_precision")],
               "mixed_float16 on a GPU; mixed_bfloat16 on a CPU-only machine.")
define_setting("logical_cpus", [(RuntimeConfig, "logical_cpus")],
               "Split the CPU into this many logical devices (tests MirroredStrategy).")
define_setting("profile_steps", [(RuntimeConfig, "profile_steps")],
               "START,END batches of final training to trace for the TensorBoard profiler "
               "(empty: off).", default="", convert=profile_steps)
define_setting("verbose", [(RuntimeConfig, "verbose")],
               "Keras progress bars: 0 silent, 1 bar, 2 line per epoch.")
# -- the space and the children --------------------------------------------------------------
_SIZES = size_defaults()
flags.DEFINE_enum("space", SpaceConfig.name, spaces.space_names(), "Search space.")
BINDINGS["space"] = Binding(((SpaceConfig, "name"),))
define_setting("layers", [(SpaceConfig, "layers")], "Layers of the macro space (L).",
               default=_SIZES["layers"])
define_setting("nodes", [(SpaceConfig, "nodes")], "Nodes per cell of the micro space (B).",
               default=_SIZES["nodes"])
define_setting("cells_per_stage", [(SpaceConfig, "cells_per_stage")],
               "Normal cells per stage of the micro network (N).",
               default=_SIZES["cells_per_stage"])
define_setting("filters", [(SearchConfig, "filters"), (FinalConfig, "filters")],
               "Channels of the first stage (F).")
define_setting("batch_size", [(SearchConfig, "batch_size"), (FinalConfig, "batch_size")],
               "Training batch size.")
define_setting("cutout", [(SearchConfig, "cutout"), (FinalConfig, "cutout")],
               "Cutout square side in pixels (0: off; the paper: 16).")
define_setting("final_epochs", [(FinalConfig, "epochs")],
               "Epochs of final training (630 = SGDR 10+...+320).")
define_setting("strategy", [(FinalConfig, "strategy")], "Distribution of final training.")
# -- stage 1 -------------------------------------------------------------------------------
define_setting("coder", [(EmbeddingConfig, "coder")],
               "Stage-1 coder: 'lstm' (paper) or 'mlp' (authors' code).")
define_setting("embedding_dim", [(EmbeddingConfig, "embedding_dim")],
               "Embedding size n (0: about m/3, at least min(m-1, 8), at most 32).",
               default=0, convert=_embedding_dim)
define_setting("pretrain_steps", [(EmbeddingConfig, "pretrain_steps")],
               "Adam steps of the stage-1 autoencoder.")
define_setting("pretrain_lr", [(EmbeddingConfig, "pretrain_learning_rate")],
               "Adam learning rate of stage 1 (the paper: 1e-5).")
define_setting("pretrain_batch_size", [(EmbeddingConfig, "pretrain_batch_size")],
               "Uniform samples per stage-1 step.")
define_setting("coder_units", [(EmbeddingConfig, "hidden_units")],
               "Decoder LSTM units / mlp hidden width.")
# -- stage 2 -------------------------------------------------------------------------------
define_setting("reward", [(SearchConfig, "reward")], "Rewards of the search.")
define_setting("search_epochs", [(SearchConfig, "epochs")],
               "Search epochs (the paper: 70 = SGDR 10+20+40).")
define_setting("controller_steps", [(SearchConfig, "controller_steps")],
               "Controller updates per search epoch.")
define_setting("samples_per_update", [(EmbeddingConfig, "samples_per_update")],
               "Chains (architectures) per controller update.")
define_setting("controller_lr", [(EmbeddingConfig, "controller_learning_rate")],
               "Adam learning rate of the controller.")
define_setting("baseline_decay", [(EmbeddingConfig, "baseline_decay")],
               "Decay of the reward moving-average baseline.")
define_setting("entropy_weight", [(EmbeddingConfig, "entropy_weight")],
               "Weight of the policy-entropy bonus.")
define_setting("initial_sigma", [(EmbeddingConfig, "initial_sigma")],
               "Initial standard deviation of the policy.")
define_setting("chain_mode", [(SearchConfig, "chain_mode")],
               "How the controller's chains move: 'decoded' (the paper), 'elitist' or 'best'.")
define_setting("episode_epochs", [(SearchConfig, "episode_epochs")],
               "Epochs each child trains with --reward=episodic.")
define_setting("rescore_samples", [(SearchConfig, "rescore_samples")],
               "Controller samples re-scored on the whole validation split at the end.")
# -- the weight-sharing levers: each defaults to its value in --ws_schedule -----------------
flags.DEFINE_enum("ws_schedule", "tuned", list(SCHEDULES),
                  "Weight-sharing levers: 'tuned' (measured best) or 'paper' (ENAS's "
                  "schedule); the lever flags below override it. In 'tuned' the pick comes "
                  "from the final scoring, not from the controller: on the ranking benchmark "
                  "(3 search seeds) the controller's final candidates never won it, and "
                  "uniform samples in their place picked as well (docs/benchmarks.md).")
_LEVER_HELP = {
    "uniform_warmup": "Fraction of the search epochs (rounded down) whose shared-weight "
                      "steps take uniform paths before the controller takes over.",
    "train_paths": "Paths of shared-weight training after the warm-up.",
    "reward_batches": "Validation batches per controller reward (0: the whole split).",
    "bn_batches": "Training batches that re-estimate batch-norm statistics of each scored "
                  "path (0: batch statistics of the scored batch).",
    "max_skips": "Skip inputs allowed per layer (-1: no cap).",
    "max_parameter_free": "Layers allowed a parameter-free op (-1: no cap).",
    "rescore_random": "Uniformly sampled architectures added to the final re-scoring.",
    "rerank_top": "Best final candidates trained standalone to pick the result (0: off).",
    "rerank_epochs": "Training epochs of each --rerank_top candidate.",
    "finetune_steps": "SGD steps each final candidate's path takes alone, from the shared "
                      "weights, before it is scored (0: none).",
    "finetune_lr": "Constant learning rate of the --finetune_steps steps.",
    "final_budget": "Training steps of the final scoring (fine-tuning and re-ranking) as a "
                    "multiple of the search's training steps; --finetune_steps and "
                    "--rerank_top shrink to fit (0: no bound; setting a final-scoring lever "
                    "by hand turns it off).",
}
for _lever in (field.name for field in dataclasses.fields(Levers)):
    define_setting(_lever, [(Levers, _lever)], _LEVER_HELP[_lever], default=None)


def flag_of(owner, field):
    """The flag that sets field ``field`` of config class ``owner`` (None: no flag does).

    Args:
        owner: a config class.
        field: a field name.
    """
    return next((flag for flag, binding in BINDINGS.items()
                 if (owner, field) in binding.targets), None)
