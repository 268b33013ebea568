"""What a stage's results depend on, recorded beside them, so a rerun into the same
``--output_dir`` resumes or reuses only work done with the same settings.

Each stage directory (``autoencoder/``, ``search/``, ``final/``) gets a ``run.json`` of the
flag values that determine its results (the final stage also records the architecture it
trains, so a new ``arch.json`` is not answered with the old result). A rerun whose settings
differ is refused with one line listing each differing flag with its old and new value;
``--overwrite`` removes the stages the run will redo, and a new ``--output_dir`` starts afresh.
"""

import hashlib
import json
import os
import shutil

from absl import logging

from nases_tf import fileio
from nases_tf.checkpoints import remove_leftovers
from nases_tf.errors import ConfigError

RECORD_FILE = "run.json"
STAGE_DIRS = {"pretrain": "autoencoder", "search": "search", "final": "final"}
# The stages each --stage value runs, in order.
STAGES_RUN = {"pretrain": ("pretrain",), "search": ("pretrain", "search"),
              "final": ("final",), "all": ("pretrain", "search", "final")}
PRETRAIN_FLAGS = ("coder", "embedding_dim", "pretrain_steps", "pretrain_lr",
                  "pretrain_batch_size", "coder_units", "seed")
SEARCH_FLAGS = ("dataset", "reward", "search_epochs", "batch_size", "filters",
                "controller_steps", "samples_per_update", "controller_lr", "baseline_decay",
                "entropy_weight", "initial_sigma", "episode_epochs", "rescore_samples", "cutout",
                "seed", "mixed_precision")
FINAL_FLAGS = ("dataset", "final_epochs", "batch_size", "filters", "cutout", "seed",
               "mixed_precision", "strategy")


def dataset_digest(spec):
    """SHA-256 of an ``npz:PATH`` dataset's file (None for a named dataset).

    Args:
        spec: the ``--dataset`` value.
    """
    if not spec.startswith("npz:"):
        return None
    digest = hashlib.sha256()
    with open(spec[4:], "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def stage_settings(stage, flag_values, space, arch=None, dataset_sha256=None):
    """The settings that determine ``stage``'s results, keyed by flag name.

    Args:
        stage: ``pretrain``, ``search`` or ``final``.
        flag_values: dict of flag name -> value (``FLAGS.flag_values_dict()``).
        space: the search space (its name and size settings are recorded).
        arch: the architecture the final stage trains.
        dataset_sha256: ``dataset_digest`` of ``--dataset``.
    """
    config = dict(space.config())
    settings = {"space": config.pop("name"), **config}
    names = {"pretrain": PRETRAIN_FLAGS, "search": PRETRAIN_FLAGS + SEARCH_FLAGS,
             "final": FINAL_FLAGS}[stage]
    settings.update({name: flag_values[name] for name in names})
    if stage != "pretrain":
        settings["dataset contents"] = dataset_sha256
    if stage == "final" and arch is not None:
        settings["arch"] = space.to_json(arch)
    return settings


def _shown(value):
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    if len(text) <= 48:
        return text
    return f"{text[:32]}...(sha {hashlib.sha256(text.encode()).hexdigest()[:8]})"


def _holds_results(directory):
    return os.path.isdir(directory) and any(
        not name.startswith(".tmp-") for name in os.listdir(directory))


def differences(output_dir, stage, settings, partial=False):
    """How ``settings`` differ from the record in ``stage``'s directory: a list of
    ``"--flag: old -> new"`` strings (empty when they match or nothing is there yet).

    Args:
        output_dir: the run's ``--output_dir``.
        stage: ``pretrain``, ``search`` or ``final``.
        settings: ``stage_settings`` of this run.
        partial: compare only the keys ``settings`` has (some are not known yet).
    """
    directory = os.path.join(output_dir, STAGE_DIRS[stage])
    path = os.path.join(directory, RECORD_FILE)
    if not os.path.exists(path):
        if _holds_results(directory):
            return [f"{directory} holds results without a record of their settings"]
        return []
    old = fileio.read_json(path, "run settings")
    if not isinstance(old, dict):
        return [f"{path} is not a settings record"]
    out = []
    for name in sorted(set(settings) if partial else set(old) | set(settings)):
        if old.get(name) != settings.get(name):
            label = name if " " in name else f"--{name}"
            out.append(f"{label}: {_shown(old.get(name))} -> {_shown(settings.get(name))}")
    return out


def refuse_if_different(output_dir, found):
    """Raises one ConfigError listing ``found`` differences (deduplicated), if any.

    Args:
        output_dir: the run's ``--output_dir``.
        found: difference strings from ``differences``.
    """
    found = list(dict.fromkeys(found))
    if found:
        raise ConfigError(f"--output_dir={output_dir} holds a run with other settings ("
                          f"{'; '.join(found)}): rerun with --overwrite to start afresh, or "
                          "use another --output_dir")


def record(output_dir, stage, settings):
    """Writes ``stage``'s settings record (before the stage writes anything else).

    Args:
        output_dir: the run's ``--output_dir``.
        stage: ``pretrain``, ``search`` or ``final``.
        settings: ``stage_settings`` of this run.
    """
    fileio.write_json(os.path.join(output_dir, STAGE_DIRS[stage], RECORD_FILE), settings)


def remove_stages(output_dir, stages):
    """Deletes the directories (and TensorBoard logs) of ``stages`` for ``--overwrite``.

    Args:
        output_dir: the run's ``--output_dir``.
        stages: stage names.
    """
    for stage in stages:
        for path in (os.path.join(output_dir, STAGE_DIRS[stage]),
                     os.path.join(output_dir, "tensorboard", stage)):
            if os.path.isdir(path):
                shutil.rmtree(path)


def check_run(output_dir, stage, flag_values, space, arch, dataset_sha256, overwrite):
    """Refuses (ConfigError) a run whose settings differ from those recorded in
    ``output_dir`` for any stage it runs or reuses; checks nothing with ``overwrite``.

    Args:
        output_dir: the run's ``--output_dir``.
        stage: the ``--stage`` value.
        flag_values: dict of flag name -> value.
        space: the search space.
        arch: the architecture ``--stage=final`` trains (None: decided by the search).
        dataset_sha256: ``dataset_digest`` of ``--dataset``.
        overwrite: the ``--overwrite`` flag.
    """
    if overwrite:
        return
    found = []
    for name in STAGES_RUN[stage]:
        settings = stage_settings(name, flag_values, space, arch, dataset_sha256)
        found += differences(output_dir, name, settings, partial=arch is None)
    refuse_if_different(output_dir, found)


def begin_stage(output_dir, stage, flag_values, space, arch=None, dataset_sha256=None):
    """Called as ``stage`` starts: refuses it if its record differs (the final stage's
    architecture is known only now with ``--stage=all``), else writes the record.

    Args:
        output_dir: the run's ``--output_dir``.
        stage: ``pretrain``, ``search`` or ``final``.
        flag_values: dict of flag name -> value.
        space: the search space.
        arch: the final stage's architecture.
        dataset_sha256: ``dataset_digest`` of ``--dataset``.
    """
    settings = stage_settings(stage, flag_values, space, arch, dataset_sha256)
    refuse_if_different(output_dir, differences(output_dir, stage, settings))
    directory = os.path.join(output_dir, STAGE_DIRS[stage])
    removed = remove_leftovers(directory)
    if removed:
        logging.warning("removed leftovers of interrupted writes in %s: %s", directory,
                        ", ".join(removed))
    record(output_dir, stage, settings)
