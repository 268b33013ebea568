"""Resumable checkpoints of a stage: ``RunCheckpoint`` (a ``tf.train.Checkpoint`` with a JSON
sidecar), and the repair of a checkpoint directory damaged by a killed run.

A run killed or a disk filled at the wrong moment can leave an empty or garbled
``checkpoint`` state file, a 0-byte or truncated ``.index`` / ``.data`` file, or the
``ckpt-N_temp`` directory of an unfinished save. TensorFlow ignores a bad state file with a
warning and starts over, overwriting finished work. ``prepare_checkpoint_dir`` instead resumes
from the newest intact checkpoint (saying so), or stops with a one-line DataError naming the
damaged file; it also removes the leftovers of interrupted saves.
"""

import glob
import json
import os
import re
import shutil

from absl import logging

from nases_tf import notices
from nases_tf.errors import DataError
from nases_tf.storage import fileio

STATE_FILE = "checkpoint"


def remove_leftovers(directory):
    """Deletes what interrupted writes left in ``directory`` (``*_temp`` checkpoint
    directories and ``.tmp-*`` files); returns the names removed.

    Args:
        directory: a directory nases_tf writes to (missing: nothing to do).
    """
    removed = []
    if not os.path.isdir(directory):
        return removed
    for name in sorted(os.listdir(directory)):
        full = os.path.join(directory, name)
        if name.startswith(".tmp-") and os.path.isfile(full):
            os.remove(full)
            removed.append(name)
        elif name.endswith("_temp") and os.path.isdir(full):
            shutil.rmtree(full)
            removed.append(name)
    return removed


def _checkpoint_numbers(directory):
    numbers = []
    for path in glob.glob(os.path.join(directory, "ckpt-*.index")):
        match = re.fullmatch(r"ckpt-(\d+)\.index", os.path.basename(path))
        if match:
            numbers.append(int(match.group(1)))
    return sorted(numbers, reverse=True)


def read_state_file(directory):
    """The checkpoint name the ``checkpoint`` state file points to
    (``tf.train.get_checkpoint_state``).

    Returns ``(name, problem)``: ``name`` is None when the file is missing or unreadable,
    and ``problem`` then says why (None when there is simply no file).

    Args:
        directory: the checkpoint directory.
    """
    import tensorflow as tf

    if not os.path.exists(os.path.join(directory, STATE_FILE)):
        return None, None
    try:
        # TensorFlow logs a warning and returns None for a file it cannot parse.
        state = tf.train.get_checkpoint_state(directory)
    except (ValueError, UnicodeDecodeError):  # a file that parses but names no checkpoint
        state = None
    if state is None:
        return None, "not a readable checkpoint state file"
    return os.path.basename(state.model_checkpoint_path), None


def checkpoint_problem(prefix):
    """Why the checkpoint ``prefix`` (``.../ckpt-N``) cannot be restored, or None if every
    tensor in it reads back and its JSON sidecar parses.

    Args:
        prefix: the checkpoint path without ``.index``.
    """
    import tensorflow as tf

    index = prefix + ".index"
    if not os.path.isfile(index):
        return f"{index} is missing"
    if os.path.getsize(index) == 0:
        return f"{index} is empty"
    data_files = glob.glob(glob.escape(prefix) + ".data-*")
    if not data_files:
        return f"{prefix}.data-* is missing"
    for path in data_files:
        if os.path.getsize(path) == 0:
            return f"{path} is empty"
    try:
        reader = tf.train.load_checkpoint(prefix)
        for key in reader.get_variable_to_shape_map():
            reader.get_tensor(key)
    except (tf.errors.OpError, ValueError, RuntimeError, IndexError) as exc:
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        return f"{prefix} is damaged or truncated ({first})"
    sidecar = prefix + ".json"
    if os.path.exists(sidecar):
        try:
            with open(sidecar) as f:
                json.load(f)
        except (OSError, ValueError):
            return f"{sidecar} is not valid JSON"
    return None


def _write_state_file(directory, names):
    """Points the state file at ``names[0]``, keeping ``names`` (newest first)."""
    import tensorflow as tf

    # TensorFlow 2 keeps this writer under compat.v1 only. Relative names under an absolute
    # directory stay relative in the file, as the CheckpointManager writes them, so the
    # run directory can be moved.
    tf.compat.v1.train.update_checkpoint_state(os.path.abspath(directory), names[0],
                                     all_model_checkpoint_paths=list(reversed(names)))


def prepare_checkpoint_dir(directory):
    """Makes ``directory`` safe to resume from before a ``CheckpointManager`` reads it.

    Removes leftovers of interrupted saves; if the state file or the checkpoint it names is
    damaged, points the state file at the newest intact checkpoint (with a warning), or
    raises DataError naming the damaged file when none is intact.

    Args:
        directory: a ``RunCheckpoint`` directory (missing: nothing to do).
    """
    removed = remove_leftovers(directory)
    if removed:
        logging.warning("removed leftovers of an interrupted save in %s: %s", directory,
                        ", ".join(removed))
    numbers = _checkpoint_numbers(directory) if os.path.isdir(directory) else []
    name, state_problem = read_state_file(directory)
    state_path = os.path.join(directory, STATE_FILE)
    if name is None and state_problem is None and not numbers:
        return
    if name is not None:
        problem = checkpoint_problem(os.path.join(directory, name))
        if problem is None:
            return
    else:
        problem = f"{state_path} is {state_problem or 'missing'}"
    intact = [n for n in numbers
              if f"ckpt-{n}" != name and checkpoint_problem(
                  os.path.join(directory, f"ckpt-{n}")) is None]
    if not intact:
        raise DataError(f"{problem}, and no intact checkpoint is left in {directory}: "
                        "remove the directory to start the stage afresh")
    _write_state_file(directory, [f"ckpt-{n}" for n in intact])
    logging.warning("%s; resuming from the newest intact checkpoint, %s", problem,
                    os.path.join(directory, f"ckpt-{intact[0]}"))


class RunCheckpoint:
    """The resumable state of one stage: a ``tf.train.Checkpoint`` of trackable objects and
    a JSON sidecar of plain Python state, kept by a ``tf.train.CheckpointManager``.

    TensorFlow writes checkpoint data to temporary files and renames them, and updates the
    ``checkpoint`` index last, so a run killed mid-save resumes from the previous epoch.

    Args:
        directory: where the checkpoints live.
        max_to_keep: how many recent checkpoints to keep.
        **objects: trackable objects (models, optimizers, variables) to save and restore.
    """

    def __init__(self, directory, max_to_keep=2, **objects):
        import tensorflow as tf  # lazily: reading JSON results needs no TensorFlow

        prepare_checkpoint_dir(directory)
        self.directory = directory
        self.checkpoint = tf.train.Checkpoint(**objects)
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep)

    @property
    def exists(self):
        """Whether a previous checkpoint is there to resume from."""
        return self.manager.latest_checkpoint is not None

    def restore(self):
        """Restores the latest checkpoint, if any; returns its JSON sidecar (or None)."""
        path = self.manager.latest_checkpoint
        if path is None:
            return None
        try:
            # every object of this run must find its values; values nothing reads (an
            # optimizer's slots a finished stage never builds) are fine
            self.checkpoint.restore(path).assert_existing_objects_matched().expect_partial()
        except (AssertionError, ValueError) as exc:
            # The messages list every variable (kilobytes); the first line says enough.
            first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
            raise DataError(f"checkpoint {path} does not fit this run's model (was it made "
                            f"with other settings?): {first}") from None
        notices.say("resuming from checkpoint %s", path)
        sidecar = path + ".json"
        return fileio.read_json(sidecar, "checkpoint state") if os.path.exists(sidecar) else {}

    def _remove_unfinished(self, prefix):
        """Deletes what a failed save (a full disk) of ``prefix`` left, unless the state file
        names it: its ``_temp`` directory, sidecar and partly merged files. The previous
        checkpoint stays the one to resume from."""
        name, _ = read_state_file(self.directory)
        if name == os.path.basename(prefix):
            return
        for path in [prefix + ".json", prefix + ".index", *glob.glob(
                glob.escape(prefix) + ".data-*")]:
            if os.path.exists(path):
                os.remove(path)
        remove_leftovers(self.directory)

    def save(self, state=None):
        """Saves the objects, and ``state`` (JSON-able dict) beside them; returns the path."""
        # The sidecar is written before the checkpoint index names the new checkpoint, so
        # whichever checkpoint the index names always has its sidecar.
        number = int(self.checkpoint.save_counter.numpy()) + 1
        prefix = os.path.join(self.directory, f"ckpt-{number}")
        fileio.write_json(prefix + ".json", state or {})
        try:
            path = self.manager.save(checkpoint_number=number)
        except BaseException:
            self._remove_unfinished(prefix)
            raise
        kept = {p + ".json" for p in self.manager.checkpoints}
        for name in os.listdir(self.directory):
            full = os.path.join(self.directory, name)
            if name.startswith("ckpt-") and name.endswith(".json") and full not in kept:
                os.remove(full)
        return path
