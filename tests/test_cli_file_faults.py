"""File-system faults of bin/run_nases.py (a dangling --output_dir symlink, a full disk, a
read-only file, a directory --overwrite cannot empty): one line naming the path, exit 2, no
traceback, nothing half-written left, and a rerun once the fault is gone finishes the run.
The CLI's ``main`` runs in this process; the faults are real where the machine allows it
(chattr, a tmpfs), else injected where the write happens."""

import contextlib
import errno
import os
import shutil
import subprocess

import numpy as np
import pytest

from cli_helpers import error_line, run_main, snapshot

TINY = ["--stage=final", "--arch=random", "--layers=2", "--filters=4", "--batch_size=32",
        "--final_epochs=1", "--seed=1", "--verbose=0"]
FULL = os.strerror(errno.ENOSPC)


@pytest.fixture(scope="module")
def tiny_npz(tmp_path_factory):
    """A 160-image, 8x8, two-class dataset: the faults do not depend on what is learnt."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, x=rng.integers(0, 255, (160, 8, 8, 3), dtype=np.uint8),
             y=np.arange(160) % 2)
    return str(path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_npz):
    """A finished ``TINY`` run's directory, its results removed: a rerun only evaluates
    and writes them. The tests that copy it share an xdist group, so one worker makes it."""
    out = tmp_path_factory.mktemp("trained") / "run"
    assert run_main(*TINY, f"--dataset=npz:{tiny_npz}", f"--output_dir={out}") == 0
    shutil.rmtree(out / "final" / "saved_model")
    for name in ("results.json", "model.keras"):
        os.remove(out / "final" / name)
    return out


def printed_error(capsys):
    """The one error line ``main`` printed (no traceback)."""
    return error_line(capsys.readouterr().err)


def leftovers(directory):
    """Paths under ``directory`` that unfinished writes leave (none must be left)."""
    return [os.path.join(root, name) for root, dirs, files in os.walk(directory)
            for name in dirs + files
            if name.startswith((".tmp-", ".old-")) or name.endswith("_temp")]


def test_a_dangling_symlink_output_dir_is_refused_before_any_work(tmp_path, tiny_npz, capsys):
    gone = tmp_path / "gone"
    link = tmp_path / "link"
    link.symlink_to(gone)
    for out, words in ((link, f"--output_dir={link} is a symlink to {gone}, which does not"),
                       (link / "sub", f"cannot be created: {link} is a symlink to {gone}")):
        assert run_main(*TINY, f"--dataset=npz:{tiny_npz}", f"--output_dir={out}") == 2
        assert words in printed_error(capsys)
    assert not os.path.lexists(gone) and sorted(os.listdir(tmp_path)) == ["link"]


def _export_to_full_disk(model, path, **_):
    """A SavedModel export that writes part of its variables, then finds the disk full (the
    error TensorFlow's SaveV2 raises then)."""
    import tensorflow as tf

    os.makedirs(os.path.join(path, "variables", "variables_temp"))
    part = os.path.join(path, "variables", "variables_temp", "part-00000.tempstate1")
    with open(part, "wb") as f:
        f.write(b"half")
    raise tf.errors.ResourceExhaustedError(
        None, None, "{{function_node __wrapped__SaveV2_dtypes_9_device_/job:localhost/"
        f"replica:0/task:0/device:CPU:0}}}} {part}; {FULL} [Op:SaveV2]")


def _save_to_full_disk(model, path, **_):
    """A ``.keras`` save whose zip writes find the disk full (an OSError without a file
    name, as file objects raise it)."""
    with open(path, "wb") as f:
        f.write(b"PK half")
    raise OSError(errno.ENOSPC, FULL)


def _failing(call, name, code):
    """``os.fsync`` or ``os.replace`` failing with ``code`` for the file ``name`` only."""
    real = getattr(os, call)

    def fake(*args):
        target = os.readlink(f"/proc/self/fd/{args[0]}") if call == "fsync" else args[1]
        if str(target).endswith(name):
            names = () if call == "fsync" else (args[0], None, args[1])
            raise OSError(code, os.strerror(code), *names)
        return real(*args)
    return fake


@pytest.mark.slow
@pytest.mark.xdist_group("faults_trained")
@pytest.mark.parametrize("target,fake,shown,rerun", [
    ("keras.Model.export", _export_to_full_disk,
     f"saved_model/variables/variables_temp/part-00000.tempstate1: {FULL}", True),
    ("keras.Model.save", _save_to_full_disk, f"model.keras: {FULL}", False),
    ("os.fsync", _failing("fsync", "results.json", errno.ENOSPC), f"results.json: {FULL}",
     False),
    ("os.replace", _failing("replace", "results.json", errno.EROFS),
     f"results.json: {os.strerror(errno.EROFS)}", False),
], ids=["full disk in the SavedModel export", "full disk in the .keras save",
        "full disk in results.json", "read-only results.json"])
def test_a_fault_writing_results_is_one_line_and_leaves_nothing_half_written(
        trained, tmp_path, tiny_npz, capsys, monkeypatch, target, fake, shown, rerun):
    out = tmp_path / "run"
    shutil.copytree(trained, out)
    before = snapshot(out)
    monkeypatch.setattr(target, fake)
    flags = [*TINY, f"--dataset=npz:{tiny_npz}", f"--output_dir={out}"]
    assert run_main(*flags) == 2
    assert printed_error(capsys) == f"run_nases.py: error: {out / 'final'}/{shown}"
    assert leftovers(out) == [] and not (out / "final" / "results.json").exists()
    kept = snapshot(out)
    assert {k: v for k, v in kept.items() if k in before} == before  # nothing old is lost
    if rerun:  # the same path for every write after training; one case proves it
        monkeypatch.undo()  # the space is freed
        assert run_main(*flags) == 0
        assert (out / "final" / "results.json").is_file() and leftovers(out) == []


@pytest.mark.slow
def test_a_full_disk_in_a_checkpoint_save_keeps_the_previous_one(tmp_path, tiny_npz, capsys,
                                                                monkeypatch):
    import tensorflow as tf

    real_save = tf.train.CheckpointManager.save

    def save(manager, checkpoint_number=None, **kwargs):
        if checkpoint_number == 1:
            return real_save(manager, checkpoint_number=checkpoint_number, **kwargs)
        # what SaveV2 leaves when the disk fills as it writes the second epoch's state
        temp = os.path.join(manager.directory, f"ckpt-{checkpoint_number}_temp")
        os.makedirs(temp)
        part = os.path.join(temp, "part-00000-of-00001.data-00000-of-00001.tempstate7")
        open(part, "wb").close()
        raise tf.errors.ResourceExhaustedError(None, None, f"{part}; {FULL} [Op:SaveV2]")

    monkeypatch.setattr(tf.train.CheckpointManager, "save", save)
    out = tmp_path / "run"
    flags = [*TINY, "--final_epochs=2", f"--dataset=npz:{tiny_npz}", f"--output_dir={out}"]
    assert run_main(*flags) == 2
    checkpoints = out / "final" / "checkpoints"
    assert printed_error(capsys) == (f"run_nases.py: error: {checkpoints}/ckpt-2_temp/"
                                  f"part-00000-of-00001.data-00000-of-00001.tempstate7: {FULL}")
    assert sorted(os.listdir(checkpoints)) == [
        "checkpoint", "ckpt-1.data-00000-of-00001", "ckpt-1.index", "ckpt-1.json"]
    monkeypatch.undo()
    assert run_main(*flags) == 0
    assert "resuming final training at epoch 2 of 2" in capsys.readouterr().err
    assert (out / "final" / "results.json").is_file()


@contextlib.contextmanager
def tmpfs(path, size):
    """A tmpfs of ``size`` mounted at ``path`` (skips the test where mounting is not
    allowed); yields a function that resizes it."""
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield lambda new: subprocess.run(
            ["mount", "-o", f"remount,size={new}", str(path)], check=True)
    finally:
        subprocess.run(["umount", str(path)], check=True)


@pytest.mark.slow
def test_a_real_full_disk_is_one_line_and_the_rerun_after_freeing_space_finishes(
        tmp_path, tiny_npz, capsys):
    disk = tmp_path / "disk"
    with tmpfs(disk, "64k") as resize:
        flags = [*TINY, f"--dataset=npz:{tiny_npz}", f"--output_dir={disk / 'run'}"]
        assert run_main(*flags) == 2
        line = printed_error(capsys)
        assert line.startswith(f"run_nases.py: error: {disk / 'run'}/") and line.endswith(FULL)
        assert leftovers(disk) == [] and not (disk / "run" / "final" / "results.json").exists()
        resize("16m")
        assert run_main(*flags) == 0
        assert (disk / "run" / "final" / "results.json").is_file() and leftovers(disk) == []


@contextlib.contextmanager
def unremovable(directory):
    """Makes ``directory``'s entries impossible to delete: read-only, or immutable (chattr)
    for root, whom permissions do not stop; skips the test where neither works."""
    mode = directory.stat().st_mode
    directory.chmod(0o555)
    immutable = False
    try:
        if os.access(directory, os.W_OK):
            immutable = subprocess.run(["chattr", "+i", str(directory)],
                                       capture_output=True).returncode == 0
            if not immutable or os.access(directory, os.W_OK):
                pytest.skip("no way here to make a directory unremovable")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(directory)], check=True)
        directory.chmod(mode)


def test_overwrite_refuses_a_final_dir_it_cannot_empty_before_removing_anything(
        tmp_path, tiny_npz, capsys):
    out = tmp_path / "run"
    final = out / "final"
    (out / "tensorboard" / "final").mkdir(parents=True)
    (out / "tensorboard" / "final" / "events").write_text("logs")
    final.mkdir()
    (final / "results.json").write_text("{}")
    before = snapshot(out)
    with unremovable(final):
        flags = [*TINY, "--overwrite", f"--dataset=npz:{tiny_npz}", f"--output_dir={out}"]
        assert run_main(*flags) == 2
    assert printed_error(capsys).endswith(
        f"--overwrite cannot remove {final}: {final} is not writable")
    assert snapshot(out) == before


def test_overwrite_failing_half_way_is_one_line(tmp_path, tiny_npz, capsys, monkeypatch):
    from nases_tf.cli import run_record

    out = tmp_path / "run"
    (out / "final").mkdir(parents=True)
    (out / "final" / "results.json").write_text("{}")

    def rmtree(path):  # a file its check could not see is protected (e.g. immutable)
        raise PermissionError(errno.EPERM, os.strerror(errno.EPERM),
                              os.path.join(path, "results.json"))

    monkeypatch.setattr(run_record.shutil, "rmtree", rmtree)
    flags = [*TINY, "--overwrite", f"--dataset=npz:{tiny_npz}", f"--output_dir={out}"]
    assert run_main(*flags) == 2
    assert printed_error(capsys) == (f"run_nases.py: error: {out / 'final' / 'results.json'}: "
                                  f"{os.strerror(errno.EPERM)}")
