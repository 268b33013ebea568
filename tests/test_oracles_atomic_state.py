"""keras-tuner state of NASES survives kills: atomic JSON, recovery from damaged files left
by older runs, and no trial counted twice."""

import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_tuner  # noqa: E402
import pytest  # noqa: E402

from conftest import REPO  # noqa: E402
from nases_tf.oracles import atomic_state  # noqa: E402
from tuner_kill_worker import CheapNASES, space  # noqa: E402

WORKER = str(pathlib.Path(__file__).with_name("tuner_kill_worker.py"))


def _tuner(directory, max_trials, overwrite=False):
    return CheapNASES(objective=keras_tuner.Objective("score", "max"), max_trials=max_trials,
                      seed=3, hyperparameters=space(), pretrain_steps=50,
                      samples_per_update=2, directory=str(directory), project_name="kills",
                      overwrite=overwrite)


def _completed(project):
    done = set()
    for path in project.glob("trial_*/trial.json"):
        try:
            if json.loads(path.read_text())["status"] == "COMPLETED":
                done.add(path.parent.name)
        except (OSError, ValueError, KeyError):
            pass
    return done


def kill_after_completions(directory, max_trials, kills, seed=0):
    """Runs the worker ``kills`` times, each time SIGKILLing it 0-100 ms after another trial
    turned COMPLETED; then runs it to the end. Returns (kills landed, final end_order)."""
    rng = random.Random(seed)
    project = pathlib.Path(directory) / "kills"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]))
    landed = 0
    for _ in range(kills):
        before = _completed(project)
        proc = subprocess.Popen([sys.executable, WORKER, str(directory), str(max_trials)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while proc.poll() is None and not (_completed(project) - before):
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.1))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            landed += 1
        _, err = proc.communicate()
        assert proc.returncode in (0, -signal.SIGKILL), err.decode()[-2000:]
    done = subprocess.run([sys.executable, WORKER, str(directory), str(max_trials)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    line = [l for l in done.stdout.splitlines() if l.startswith("END_ORDER ")][-1]
    return landed, json.loads(line[len("END_ORDER "):])


@pytest.mark.slow
def test_kills_right_after_trials_complete_never_break_the_project(tmp_path):
    landed, end_order = kill_after_completions(tmp_path, max_trials=14, kills=6)
    assert landed >= 5
    assert sorted(int(t) for t in end_order) == list(range(14))  # each trial ended once
    for path in (tmp_path / "kills").rglob("*.json"):
        json.loads(path.read_text())  # every state file is whole


def test_zero_byte_state_files_of_an_older_run_are_rebuilt(tmp_path):
    first = _tuner(tmp_path, 4, overwrite=True)
    first.search(verbose=0)
    project = tmp_path / "kills"
    (project / "oracle.json").write_text("")
    (project / "tuner0.json").write_text("")
    (project / "trial_3" / "trial.json").write_text('{"trial_id": "3", "hyperp')
    second = _tuner(tmp_path, 6)
    oracle = second.oracle
    assert sorted(oracle.trials) == ["0", "1", "2"]  # the truncated trial is forgotten
    assert oracle.end_order == ["0", "1", "2"]
    second.search(verbose=0)
    assert len(oracle.end_order) == len(set(oracle.end_order)) == 6
    values = [tuple(sorted(t.hyperparameters.values.items())) for t in oracle.trials.values()]
    assert len(set(values)) == 6  # the rebuilt oracle knows what was tried
    json.loads((project / "oracle.json").read_text())


def test_a_trial_saved_as_ended_but_still_ongoing_is_not_rerun(tmp_path):
    first = _tuner(tmp_path, 3, overwrite=True)
    first.search(verbose=0)
    path = tmp_path / "kills" / "oracle.json"
    state = json.loads(path.read_text())
    # What keras-tuner's end_trial saves before it drops the trial from ongoing_trials.
    state["ongoing_trials"] = {"tuner0": state["end_order"][-1]}
    path.write_text(json.dumps(state))
    second = _tuner(tmp_path, 4)
    assert second.oracle._retry_queue == []
    second.search(verbose=0)
    assert second.oracle.end_order == ["0", "1", "2", "3"]


def test_a_trial_written_but_never_started_in_the_oracle_file_is_run(tmp_path):
    first = _tuner(tmp_path, 3, overwrite=True)
    first.search(verbose=0)
    project = tmp_path / "kills"
    # What a kill leaves between create_trial's trial.json and its oracle.json.
    state = json.loads((project / "trial_2" / "trial.json").read_text())
    state.update(trial_id="3", status="RUNNING", score=None, best_step=0,
                 metrics={"metrics": {}})
    (project / "trial_3").mkdir()
    (project / "trial_3" / "trial.json").write_text(json.dumps(state))
    second = _tuner(tmp_path, 5)
    assert second.oracle._retry_queue == ["3"]
    second.search(verbose=0)
    assert second.oracle.end_order == ["0", "1", "2", "3", "4"]
    assert second.oracle.trials["3"].status == "COMPLETED"


def test_state_is_written_atomically(tmp_path):
    path = tmp_path / "state.json"
    atomic_state.save_state(str(path), {"a": [1, 2]})
    assert json.loads(path.read_text()) == {"a": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temp file left
    path.write_text("")
    assert atomic_state.read_state(str(path)) is None
    assert atomic_state.read_state(str(tmp_path / "missing.json")) is None
