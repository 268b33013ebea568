"""Atomic file I/O: JSON, text, `.keras` models and SavedModel directories. Every file
nases_tf writes goes through here (temp file, then rename), so a killed run or a full disk
never leaves half a file; ``fault_line`` says what went wrong in one line."""

import contextlib
import errno
import json
import os
import re
import sys
import uuid

from nases_tf.errors import DataError

# Temporary names are ".tmp-<12 hex digits><final name>": a fault is reported under the
# final name, the one the user knows.
_TMP_TAG = re.compile(r"\.tmp-[0-9a-f]{12}")
# Every errno message of this platform, longest first (one may end another).
_STRERRORS = sorted({os.strerror(code) for code in errno.errorcode}, key=len, reverse=True)


def _tmp_name(directory, base):
    return os.path.join(directory, f".tmp-{uuid.uuid4().hex[:12]}{base}")


@contextlib.contextmanager
def _named(path, tmp):
    """Re-raises an OSError of writing ``tmp`` as one naming ``path``: writes through a file
    object (``f.write``, ``zipfile``) raise OSErrors without a file name."""
    try:
        yield
    except OSError as exc:
        name = exc.filename
        if exc.errno is None or (name is not None and not str(name).startswith(tmp)):
            raise
        raise OSError(exc.errno, exc.strerror, path) from exc


def _atomic_replace(path, write):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    # Not tempfile.mkstemp: its files are private (0600), and the rename would keep that.
    # Created with 0666, the file gets the permissions the user's umask gives any new file.
    tmp = _tmp_name(directory, os.path.basename(path))
    try:
        with _named(path, tmp):
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
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
    tmp = _tmp_name(parent, base)
    old = os.path.join(parent, ".old-" + os.path.basename(tmp)[len(".tmp-"):])
    try:
        with _named(path, tmp):
            write_fn(tmp)
            if os.path.exists(path):
                os.replace(path, old)
            os.replace(tmp, path)
    except BaseException:
        if os.path.exists(old) and not os.path.exists(path):
            os.replace(old, path)  # the old directory stays when the new one failed
        raise
    finally:
        for leftover in (tmp, old):
            if os.path.exists(leftover):
                shutil.rmtree(leftover)


def _op_error_fault(exc):
    """``(context, strerror)`` of a TensorFlow error raised by a file system call (its
    message is ``"<context naming the path>; <strerror>"``), or None for any other error."""
    tf = sys.modules.get("tensorflow")  # an error of TensorFlow's means it is imported
    if tf is None or not isinstance(exc, tf.errors.OpError):
        return None
    lines = str(exc.message).strip().splitlines()
    # "{{function_node __wrapped__SaveV2_...}} /x/part-0.tempstate12; No space left on
    # device [Op:SaveV2]"
    line = re.sub(r"^\{\{.*?\}\}\s*|\s*\[Op:\w+\]$", "", lines[0] if lines else "")
    for strerror in _STRERRORS:
        if line.endswith("; " + strerror):
            return line[:-len(strerror) - 2], strerror
    return None


def fault_line(exc):
    """The one line ``"<path>: <what happened>"`` that reports a file-system fault (an
    OSError, or a TensorFlow error of a file system call such as a full disk's
    ``ResourceExhaustedError``), or None when ``exc`` is not one (a bug to show in full).

    A temporary file of this module is named by the file it was to become.

    Args:
        exc: the exception.
    """
    if isinstance(exc, OSError):
        what = exc.strerror or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if exc.filename is None:
            return what
        path = str(exc.filename) + (f" -> {exc.filename2}" if exc.filename2 else "")
    else:
        fault = _op_error_fault(exc)
        if fault is None:
            return None
        path, what = fault
    return f"{_TMP_TAG.sub('', path)}: {what}"

