"""Atomic writes: whole files or the old file, no temporary files left, ordinary permissions."""

import json
import os

import pytest

from nases_tf.storage import fileio


def test_atomic_write_replaces_the_whole_file(tmp_path):
    path = tmp_path / "sub" / "figure.png"
    seen = []

    def write(tmp):
        seen.append(tmp)
        with open(tmp, "wb") as f:
            f.write(b"new")

    fileio.atomic_write(str(path), write)
    assert path.read_bytes() == b"new"
    assert seen[0].endswith("figure.png") and os.path.dirname(seen[0]) == str(path.parent)
    assert os.listdir(path.parent) == ["figure.png"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "report.json"
    fileio.write_json(str(path), {"a": 1})

    def broken(tmp):
        with open(tmp, "w") as f:
            f.write("{half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        fileio.atomic_write(str(path), broken)
    assert json.loads(path.read_text()) == {"a": 1}
    assert os.listdir(tmp_path) == ["report.json"]


def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        fileio.write_json(str(tmp_path / "a.json"), [1])
        os.umask(0o077)
        fileio.atomic_write(str(tmp_path / "b.bin"), lambda tmp: open(tmp, "wb").close())
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.bin").stat().st_mode & 0o777 == 0o600


def _write_to_full_disk(tmp):
    with open(tmp, "wb") as f, open("/dev/full", "wb") as full:  # a real ENOSPC
        f.write(b"half")
        full.write(b"x")
        full.flush()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
def test_a_full_disk_is_reported_under_the_file_it_was_to_become(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"old")
    with pytest.raises(OSError) as err:
        fileio.atomic_write(str(path), _write_to_full_disk)
    assert fileio.fault_line(err.value) == f"{path}: No space left on device"
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["model.keras"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
def test_a_failed_directory_write_keeps_the_old_directory(tmp_path):
    path = tmp_path / "saved_model"
    path.mkdir()
    (path / "saved_model.pb").write_bytes(b"old")

    def write(tmp):
        os.makedirs(tmp)
        _write_to_full_disk(os.path.join(tmp, "saved_model.pb"))

    with pytest.raises(OSError) as err:
        fileio.write_directory(str(path), write)
    assert fileio.fault_line(err.value) == f"{path}: No space left on device"
    assert (path / "saved_model.pb").read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["saved_model"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
def test_tensorflow_file_errors_are_faults_and_its_other_errors_are_not():
    import tensorflow as tf

    with pytest.raises(tf.errors.ResourceExhaustedError) as full:
        tf.io.write_file("/dev/full", tf.constant("x"))
    assert fileio.fault_line(full.value) == "/dev/full: No space left on device"
    with pytest.raises(tf.errors.NotFoundError) as missing:
        tf.io.read_file("/no/such/file")
    assert fileio.fault_line(missing.value).endswith(": No such file or directory")
    with pytest.raises(tf.errors.InvalidArgumentError) as bug:
        tf.reshape(tf.zeros(3), (2, 2))
    assert fileio.fault_line(bug.value) is None
    memory = tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
    assert fileio.fault_line(memory) is None and fileio.fault_line(ValueError("x")) is None
    assert fileio.fault_line(PermissionError(13, "Permission denied", "/a", None, "/b")) == (
        "/a -> /b: Permission denied")
