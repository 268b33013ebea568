"""The lock on a run directory: one live holder at a time, taken over from a dead one, shared
within a process; the CLI and the keras-tuner oracle both refuse a locked directory."""

import json
import os
import socket
import subprocess
import sys

import keras_tuner
import pytest

from cli_helpers import assert_refused, run
from nases_tf.storage import run_lock
from tuner_kill_worker import CheapNASES, space

HOLD = ("import sys, time\n"
        "from nases_tf.storage import run_lock\n"
        "run_lock.DirectoryLock(sys.argv[1]).acquire()\n"
        "print('held', flush=True)\n"
        "time.sleep(600)\n")


@pytest.fixture
def holder(tmp_path):
    """A function locking a directory from another live process; the process is returned."""
    procs = []

    def hold(directory):
        proc = subprocess.Popen([sys.executable, "-c", HOLD, str(directory)],
                                stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield hold
    for proc in procs:
        proc.kill()
        proc.wait()


def test_a_directory_held_by_a_live_run_is_refused_naming_it(tmp_path, holder):
    proc = holder(tmp_path)
    with pytest.raises(run_lock.LockedError) as err:
        run_lock.DirectoryLock(tmp_path, "--output_dir=x").acquire()
    message = str(err.value)
    assert message.startswith("--output_dir=x is in use by pid ") and "\n" not in message
    assert f"pid {proc.pid} on {socket.gethostname()}" in message


def test_the_lock_of_a_dead_run_is_taken_over(tmp_path, holder, caplog):
    proc = holder(tmp_path)
    proc.kill()
    proc.wait()
    lock = run_lock.DirectoryLock(tmp_path).acquire()
    assert any(f"taking over the lock of pid {proc.pid}" in r.getMessage()
               for r in caplog.records)
    held = json.loads((tmp_path / run_lock.LOCK_NAME).read_text())
    assert held["pid"] == os.getpid()
    lock.release()
    assert not (tmp_path / run_lock.LOCK_NAME).exists()


def test_the_lock_is_shared_within_a_process(tmp_path):
    first = run_lock.DirectoryLock(tmp_path).acquire()
    second = run_lock.DirectoryLock(tmp_path).acquire()  # a notebook building its tuner again
    first.release()
    assert (tmp_path / run_lock.LOCK_NAME).exists()
    second.release()
    assert not (tmp_path / run_lock.LOCK_NAME).exists()
    with run_lock.DirectoryLock(tmp_path):
        assert (tmp_path / run_lock.LOCK_NAME).exists()
    assert os.listdir(tmp_path) == []


def test_a_project_searched_by_another_process_is_refused(tmp_path, holder):
    def tuner():
        t = CheapNASES(objective=keras_tuner.Objective("score", "max"), max_trials=3, seed=3,
                       hyperparameters=space(), pretrain_steps=50, directory=str(tmp_path),
                       project_name="p")
        t.oracle.verbose = 0
        return t

    proc = holder(tmp_path / "p")
    with pytest.raises(run_lock.LockedError, match=f"keras-tuner project .*p is in use by "
                                                   f"pid {proc.pid}"):
        tuner().search(verbose=0)
    proc.kill()
    proc.wait()
    done = tuner()
    done.search(verbose=0)
    assert len(done.oracle.end_order) == 3
    assert not (tmp_path / "p" / run_lock.LOCK_NAME).exists()  # given back when it ended


@pytest.mark.slow
def test_a_second_cli_run_on_a_locked_output_dir_exits_2(tmp_path, holder, natural_npz):
    out = tmp_path / "out"
    proc = holder(out)
    done = run("--stage=final", "--arch=random", "--layers=4", "--filters=8",
               "--final_epochs=1", f"--dataset=npz:{natural_npz}", f"--output_dir={out}")
    assert_refused(done, f"--output_dir={out} is in use by pid {proc.pid}")
    assert os.listdir(out) == [run_lock.LOCK_NAME]
