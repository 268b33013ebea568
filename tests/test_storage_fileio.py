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
