"""``RunConfig``: the whole of a command-line run, read from the flags once.

``read_flags`` is the one place that reads the flag values; everything below the command
line takes the frozen configs it builds (``SpaceConfig``, ``DataConfig``,
``EmbeddingConfig``, ``SearchConfig`` with its ``--ws_schedule`` levers applied,
``FinalConfig``, ``RuntimeConfig``). ``setting_labels`` names each of their fields by the
flag that sets it, for the run record's messages.
"""

import dataclasses

from nases_tf.cli import flags as cli_flags
from nases_tf.data.images import DataConfig
from nases_tf.embedding.config import EmbeddingConfig
from nases_tf.search.config import SearchConfig
from nases_tf.search.schedules import Levers, schedule_levers
from nases_tf.spaces.config import SIZE_SETTINGS, SpaceConfig
from nases_tf.training.config import FinalConfig, RuntimeConfig

# Fields no flag sets, named in messages: the dataset's digest follows --dataset.
_DERIVED_LABELS = {(DataConfig, "sha256"): "--dataset (file contents)"}


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One run of ``bin/run_nases.py``.

    Attributes:
        stage: ``pretrain``, ``search``, ``final`` or ``all``.
        output_dir: the run's directory.
        overwrite: start the selected stages afresh.
        arch: ``--arch`` as given (``random``, a path, or None: the search's result).
        compare_random: seed of the random architecture trained for comparison (0: none).
        space, data, embedding, search, final, runtime: the settings of the stages.
    """

    stage: str
    output_dir: str
    overwrite: bool
    arch: str
    compare_random: int
    space: SpaceConfig
    data: DataConfig
    embedding: EmbeddingConfig
    search: SearchConfig
    final: FinalConfig
    runtime: RuntimeConfig


def _settings_of(owner, values):
    """The keyword arguments of config class ``owner`` that flags set."""
    kwargs = {}
    for flag, binding in cli_flags.BINDINGS.items():
        for target, field in binding.targets:
            if target is owner:
                kwargs[field] = binding.value(values[flag])
    return kwargs


def read_flags(flag_values=None):
    """The ``RunConfig`` the parsed flags describe (the dataset's file is read for its
    digest). Raises SettingError naming a config field when a combination is refused.

    Args:
        flag_values: parsed absl flags (default: the global ``FLAGS``).
    """
    values = (flag_values or cli_flags.FLAGS).flag_values_dict()
    sizes = _settings_of(SpaceConfig, values)
    levers = schedule_levers(values["ws_schedule"], _settings_of(Levers, values))
    return RunConfig(
        stage=values["stage"], output_dir=values["output_dir"], overwrite=values["overwrite"],
        arch=values["arch"], compare_random=values["compare_random"],
        space=SpaceConfig.of(sizes.pop("name"), **{k: sizes[k] for k in SIZE_SETTINGS}),
        data=DataConfig.of(**_settings_of(DataConfig, values)),
        embedding=EmbeddingConfig(**_settings_of(EmbeddingConfig, values)),
        search=SearchConfig(**_settings_of(SearchConfig, values), levers=levers),
        final=FinalConfig(**_settings_of(FinalConfig, values)),
        runtime=RuntimeConfig(**_settings_of(RuntimeConfig, values)))


def label_of(owner, field):
    """How messages name field ``field`` of config class ``owner``: its flag (``--flag``),
    or ``Class.field`` when no flag sets it.

    Args:
        owner: a config class.
        field: a field name.
    """
    flag = cli_flags.flag_of(owner, field)
    if flag:
        return f"--{flag}"
    return _DERIVED_LABELS.get((owner, field), f"{owner.__name__}.{field}")


def setting_labels(config, prefix=""):
    """``{dotted path: label}`` of every field under ``config`` (nested configs opened),
    the paths being those of ``nases_tf.settings.result_settings``.

    Args:
        config: a config dataclass instance.
        prefix: the path of ``config`` itself.
    """
    out = {}
    for field in dataclasses.fields(config):
        path = f"{prefix}{field.name}"
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            out.update(setting_labels(value, path + "."))
        else:
            out[path] = label_of(type(config), field.name)
    return out


def record_labels(config):
    """``{setting path: label}`` of a ``RunConfig``'s settings as the run record names
    them (``space.layers``, ``search.levers.bn_batches``, ..., and ``arch``).

    Args:
        config: a ``RunConfig``.
    """
    labels = {"arch": "--arch"}
    for part in ("space", "data", "embedding", "search", "final", "runtime"):
        labels.update(setting_labels(getattr(config, part), part + "."))
    return labels


def flag_message(error):
    """The one-line message of a ``SettingError``, naming the setting by its flag.

    Args:
        error: a ``SettingError`` (its ``setting`` is ``Class.field``).
    """
    owner_name, _, field = error.setting.rpartition(".")
    flag = next((flag for flag, binding in cli_flags.BINDINGS.items()
                 if any(cls.__name__ == owner_name and name == field
                        for cls, name in binding.targets)), None)
    if flag is None:
        return str(error)
    return f"--{flag}={error.value} {error.problem}"


__all__ = ["RunConfig", "read_flags", "setting_labels", "record_labels", "label_of",
           "flag_message"]
