"""What a stage's results depend on, recorded beside them, so a rerun into the same
``--output_dir`` resumes or reuses only work done with the same settings.

Each stage directory (``autoencoder/``, ``search/``, ``final/``) gets a ``run.json``: the
result-affecting fields (``nases_tf.settings.result_settings``) of the configs the stage
depends on, and for the final stage the architecture it trains, so a new ``arch.json`` is
not answered with the old result. A rerun whose record differs is refused with one line
naming each changed setting by its flag, old and new; ``--overwrite`` removes the stages
the run will redo, and a new ``--output_dir`` starts afresh. A record in another format (an
earlier nases_tf's) is refused the same way, never read as if it matched.
"""

import hashlib
import json
import os
import shutil

from absl import logging

from nases_tf.errors import ConfigError
from nases_tf.settings import result_settings
from nases_tf.storage import fileio
from nases_tf.storage.checkpoints import remove_leftovers

RECORD_FILE = "run.json"
RECORD_FORMAT = "nases_tf run record 2"
STAGE_DIRS = {"pretrain": "autoencoder", "search": "search", "final": "final"}
# The stages each --stage value runs, in order.
STAGES_RUN = {"pretrain": ("pretrain",), "search": ("pretrain", "search"),
              "final": ("final",), "all": ("pretrain", "search", "final")}
# The parts of a RunConfig each stage's results depend on.
STAGE_CONFIGS = {"pretrain": ("space", "embedding", "runtime"),
                 "search": ("space", "data", "embedding", "search", "runtime"),
                 "final": ("space", "data", "final", "runtime")}


def stage_record(config, stage, arch_json=None):
    """The record of ``stage``: ``{"format", "settings"}``, the settings being the
    result-affecting fields of the configs the stage depends on (and ``arch``).

    Args:
        config: the run's ``RunConfig``.
        stage: ``pretrain``, ``search`` or ``final``.
        arch_json: the JSON form of the architecture the final stage trains (None: not
            known yet, the search decides it).
    """
    settings = {part: result_settings(getattr(config, part)) for part in STAGE_CONFIGS[stage]}
    if stage == "final" and arch_json is not None:
        settings["arch"] = arch_json
    return {"format": RECORD_FORMAT, "settings": settings}


def _flat(settings, prefix=""):
    out = {}
    for key, value in settings.items():
        if isinstance(value, dict) and key != "arch":
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _shown(value):
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    if len(text) <= 48:
        return text
    return f"{text[:32]}...(sha {hashlib.sha256(text.encode()).hexdigest()[:8]})"


def _holds_results(directory):
    return os.path.isdir(directory) and any(
        not name.startswith(".tmp-") for name in os.listdir(directory))


def differences(output_dir, stage, record, labels, partial=False):
    """How ``record`` differs from the one in ``stage``'s directory: a list of
    ``"--flag: old -> new"`` strings (empty when they match or nothing is there yet).

    Args:
        output_dir: the run's ``--output_dir``.
        stage: ``pretrain``, ``search`` or ``final``.
        record: ``stage_record`` of this run.
        labels: ``{setting path: label}`` (``nases_tf.cli.config.setting_labels``);
            ``arch`` is labelled ``--arch``.
        partial: compare only the settings ``record`` has (the architecture is not known
            yet).
    """
    directory = os.path.join(output_dir, STAGE_DIRS[stage])
    path = os.path.join(directory, RECORD_FILE)
    if not os.path.exists(path):
        if _holds_results(directory):
            return [f"{directory} holds results without a record of their settings"]
        return []
    old = fileio.read_json(path, "run settings")
    if not isinstance(old, dict) or old.get("format") != RECORD_FORMAT:
        return [f"{path} is a record of another format (written by an earlier nases_tf), "
                "which this one does not compare"]
    old, new = _flat(old.get("settings", {})), _flat(record["settings"])
    names = set(new) if partial else set(old) | set(new)
    out = []
    for name in sorted(names, key=lambda n: (labels.get(n, n), n)):
        if old.get(name) != new.get(name):
            label = labels.get(name, "--arch" if name == "arch" else name)
            out.append(f"{label}: {_shown(old.get(name))} -> {_shown(new.get(name))}")
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


def _stage_paths(output_dir, stages):
    for stage in stages:
        for path in (os.path.join(output_dir, STAGE_DIRS[stage]),
                     os.path.join(output_dir, "tensorboard", stage)):
            if os.path.isdir(path):
                yield path


def check_removable(output_dir, stages):
    """Raises ConfigError unless ``--overwrite`` can delete the directories of ``stages``
    whole (every directory in them, and the one holding each, writable), so a refusal
    comes before anything is deleted, not half-way.

    Args:
        output_dir: the run's ``--output_dir``.
        stages: stage names.
    """
    for path in _stage_paths(output_dir, stages):
        folders = [os.path.dirname(os.path.abspath(path))]
        folders += [root for root, _, _ in os.walk(path)]
        for folder in folders:
            if not os.access(folder, os.W_OK | os.X_OK):
                raise ConfigError(f"--overwrite cannot remove {path}: {folder} is not "
                                  "writable")


def remove_stages(output_dir, stages):
    """Deletes the directories (and TensorBoard logs) of ``stages`` for ``--overwrite``
    (``check_run`` has made sure it can, with ``check_removable``).

    Args:
        output_dir: the run's ``--output_dir``.
        stages: stage names.
    """
    for path in list(_stage_paths(output_dir, stages)):
        shutil.rmtree(path)


def check_run(config, labels, arch_json=None):
    """Refuses (ConfigError) a run whose settings differ from those recorded in its
    output directory for any stage it runs or reuses; with ``overwrite``, refuses it
    when the stages to redo cannot be deleted.

    Args:
        config: the run's ``RunConfig``.
        labels: ``{setting path: label}`` of ``config``.
        arch_json: the JSON form of the architecture ``--stage=final`` trains (None: the
            search decides it).
    """
    if config.overwrite:
        check_removable(config.output_dir, STAGES_RUN[config.stage])
        return
    found = []
    for stage in STAGES_RUN[config.stage]:
        record = stage_record(config, stage, arch_json)
        found += differences(config.output_dir, stage, record, labels,
                             partial=arch_json is None)
    refuse_if_different(config.output_dir, found)


def begin_stage(config, stage, labels, arch_json=None):
    """Called as ``stage`` starts: refuses it if its record differs (the final stage's
    architecture is known only now with ``--stage=all``), else writes the record.

    Args:
        config: the run's ``RunConfig``.
        stage: ``pretrain``, ``search`` or ``final``.
        labels: ``{setting path: label}`` of ``config``.
        arch_json: the JSON form of the final stage's architecture.
    """
    record = stage_record(config, stage, arch_json)
    refuse_if_different(config.output_dir,
                        differences(config.output_dir, stage, record, labels))
    directory = os.path.join(config.output_dir, STAGE_DIRS[stage])
    removed = remove_leftovers(directory)
    if removed:
        logging.warning("removed leftovers of interrupted writes in %s: %s", directory,
                        ", ".join(removed))
    fileio.write_json(os.path.join(directory, RECORD_FILE), record)
