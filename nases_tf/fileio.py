"""Atomic file I/O: JSON, `.keras` models, SavedModel directories and resumable checkpoints.
Every file nases_tf writes goes through here (temp file, then rename), so a killed run never
leaves half a file."""

import json
import os
import uuid

from absl import logging

from nases_tf import messages
from nases_tf.errors import DataError


def _atomic_replace(path, write):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    # Not tempfile.mkstemp: its files are private (0600), and the rename would keep that.
    # Created with 0666, the file gets the permissions the user's umask gives any new file.
    tmp = os.path.join(directory, f".tmp-{uuid.uuid4().hex[:12]}{os.path.basename(path)}")
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write(path, write_fn):
    """Writes the file ``path`` atomically: ``write_fn`` fills a temporary file beside it,
    which then replaces ``path`` in one rename, so readers see the old file or the whole new
    one, never a part.

    Args:
        path: the file to write; its folder is created if missing.
        write_fn: a function taking the temporary file's path and writing the content there
            (e.g. ``figure.savefig``); the temporary name ends with ``path``'s base name, so
            a writer that picks the format from the extension picks the same one.
    """
    _atomic_replace(path, write_fn)


def write_json(path, obj, indent=2):
    """Writes ``obj`` as JSON to ``path`` atomically (temp file + rename).

    Args:
        path: the file to write.
        obj: a JSON-able object.
        indent: indentation of the JSON text (None: one compact line).
    """
    write_text(path, json.dumps(obj, indent=indent, sort_keys=indent is not None) + "\n")


def write_text(path, text):
    """Writes the string ``text`` to ``path`` atomically (temp file + rename), UTF-8.

    Args:
        path: the file to write.
        text: its whole content.
    """
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    _atomic_replace(path, write)


def read_json(path, what, required=()):
    """Reads JSON from ``path``; a missing or malformed file is a DataError naming ``what``.

    Args:
        path: the file to read.
        what: what the file is, for error messages.
        required: keys the JSON object must have.
    """
    if not os.path.isfile(path):
        raise DataError(f"{what} {path}: file not found")
    try:
        with open(path) as f:
            obj = json.load(f)
    except (OSError, ValueError) as exc:
        raise DataError(f"{what} {path}: not valid JSON ({exc})") from None
    missing = [k for k in required if not isinstance(obj, dict) or k not in obj]
    if missing:
        raise DataError(f"{what} {path}: missing key(s) {', '.join(map(repr, missing))}")
    return obj


def load_keras_model(path, what):
    """Loads a ``.keras`` model; a missing, truncated or unreadable file is a DataError.

    Args:
        path: the ``.keras`` file.
        what: what the model is, for error messages.
    """
    import zipfile

    import keras

    if not os.path.isfile(path):
        raise DataError(f"{what} {path}: file not found")
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"{what} {path}: damaged or truncated .keras file ({exc})") from None
    if damaged is not None:
        raise DataError(f"{what} {path}: damaged .keras file (bad member {damaged})")
    try:
        return keras.models.load_model(path)
    except Exception as exc:  # noqa: BLE001 - Keras raises many kinds for one bad file
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{what} {path}: cannot be loaded ({first})") from None


def save_keras_model(model, path):
    """Saves ``model`` in the ``.keras`` format atomically."""
    if not path.endswith(".keras"):
        raise ValueError(f"{path}: Keras models are saved with the .keras extension")
    _atomic_replace(path, model.save)


def write_directory(path, write_fn):
    """Writes the directory ``path`` atomically: ``write_fn`` fills a temporary directory
    beside it, which then takes its place, so readers see the old directory or the whole
    new one (an old directory is moved aside first and removed last).

    Args:
        path: the directory to write; its parent is created if missing.
        write_fn: a function taking the temporary directory's path (not yet existing) and
            writing the content there (e.g. ``model.export``).
    """
    import shutil

    path = os.path.abspath(path)
    parent, base = os.path.split(path)
    os.makedirs(parent, exist_ok=True)
    tag = uuid.uuid4().hex[:12]
    tmp, old = (os.path.join(parent, f".tmp-{tag}{base}"),
                os.path.join(parent, f".old-{tag}{base}"))
    try:
        write_fn(tmp)
        if os.path.exists(path):
            os.replace(path, old)
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, old):
            if os.path.exists(leftover):
                shutil.rmtree(leftover)


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

        from nases_tf.checkpoint_repair import prepare_checkpoint_dir

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
            self.checkpoint.restore(path).assert_existing_objects_matched()
        except (AssertionError, ValueError) as exc:
            # The messages list every variable (kilobytes); the first line says enough.
            first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
            raise DataError(f"checkpoint {path} does not fit this run's model (was it made "
                            f"with other settings?): {first}") from None
        messages.say("resuming from checkpoint %s", path)
        sidecar = path + ".json"
        return read_json(sidecar, "checkpoint state") if os.path.exists(sidecar) else {}

    def save(self, state=None):
        """Saves the objects, and ``state`` (JSON-able dict) beside them; returns the path."""
        # The sidecar is written before the checkpoint index names the new checkpoint, so
        # whichever checkpoint the index names always has its sidecar.
        number = int(self.checkpoint.save_counter.numpy()) + 1
        prefix = os.path.join(self.directory, f"ckpt-{number}")
        write_json(prefix + ".json", state or {})
        path = self.manager.save(checkpoint_number=number)
        kept = {p + ".json" for p in self.manager.checkpoints}
        for name in os.listdir(self.directory):
            full = os.path.join(self.directory, name)
            if name.startswith("ckpt-") and name.endswith(".json") and full not in kept:
                os.remove(full)
        return path
