"""keras-tuner state of NASES survives kills: atomic JSON, recovery from damaged files left
by older runs, and no trial counted twice."""

import json
import os
import pathlib
import random
import shutil
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
    assert oracle.end_order == ["0", "1", "2"]
    assert oracle._retry_queue == ["3"]  # nothing says it ended: it runs again
    second.search(verbose=0)
    _assert_whole(oracle, project, 6)
    values = [tuple(sorted(t.hyperparameters.values.items())) for t in oracle.trials.values()]
    assert len(set(values)) == 6  # the rebuilt oracle knows what was tried


def _assert_whole(oracle, project, max_trials):
    """Every trial ran and ended once, under the ids keras-tuner hands out, and every state
    file on disk is whole and agrees."""
    width = len(str(max_trials))
    ids = [f"{i:0{width}d}" for i in range(max_trials)]
    assert sorted(oracle.trials) == ids
    assert sorted(oracle.start_order) == ids and sorted(oracle.end_order) == ids
    assert all(t.status == "COMPLETED" for t in oracle.trials.values())
    state = json.loads((project / "oracle.json").read_text())
    assert sorted(state["start_order"]) == ids and sorted(state["end_order"]) == ids
    for trial_id in ids:
        saved = json.loads((project / f"trial_{trial_id}" / "trial.json").read_text())
        assert saved["status"] == "COMPLETED" and saved["score"] is not None


def _damage_garbled(project, best):
    (project / "trial_03" / "trial.json").write_text('{"trial_id": "03", "hyp')


def _damage_missing(project, best):
    shutil.rmtree(project / "trial_05")


def _damage_best(project, best):
    shutil.rmtree(project / f"trial_{best}")


def _damage_both(project, best):
    (project / "trial_03" / "trial.json").write_text("garbage")
    (project / "oracle.json").write_text('{"trunc')


@pytest.mark.parametrize("damage", [_damage_garbled, _damage_missing, _damage_best,
                                    _damage_both], ids=lambda f: f.__name__[len("_damage_"):])
def test_a_damaged_or_lost_trial_never_stalls_the_search(tmp_path, damage):
    first = _tuner(tmp_path, 12, overwrite=True)
    first.search(verbose=0)
    best = first.oracle.get_best_trials(1)[0]
    project = tmp_path / "kills"
    damage(project, best.trial_id)
    for _ in range(2):  # the recovered project, and a rerun of it
        again = _tuner(tmp_path, 16)
        again.search(verbose=0)
        _assert_whole(again.oracle, project, 16)
    restored = again.oracle.trials[best.trial_id]
    if damage is not _damage_both:  # rebuilt from oracle.json: the same trial
        assert restored.hyperparameters.values == best.hyperparameters.values
        assert restored.score == best.score
    assert again.oracle.get_best_trials(1)[0].score >= best.score


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


def _choice_space(acts):
    hp = keras_tuner.HyperParameters()
    hp.Int("x", 0, 20)
    hp.Choice("act", acts)
    return hp


class _CheapTuner(keras_tuner.engine.tuner.Tuner):
    def run_trial(self, trial, *args, **kwargs):
        values = trial.hyperparameters.values
        return {"score": values["x"] / 20.0 + (0.3 if values["act"] == "b" else 0.0)}


def _oracle_classes():
    from nases_tf.oracles import evolution, local, reinforce
    from nases_tf.tuner import NASESOracle, TPEOracle
    return [NASESOracle, TPEOracle, evolution.RegularizedEvolutionOracle,
            local.LocalSearchOracle, reinforce.ReinforceOracle]


@pytest.mark.parametrize("oracle_class", _oracle_classes(), ids=lambda c: c.__name__)
def test_changed_choice_values_are_used_on_resume(tmp_path, oracle_class, caplog):
    def tuner(max_trials, acts, overwrite):
        extra = dict(pretrain_steps=50) if oracle_class.__name__ == "NASESOracle" else {}
        oracle = oracle_class(objective=keras_tuner.Objective("score", "max"),
                              max_trials=max_trials, seed=3,
                              hyperparameters=_choice_space(acts), **extra)
        oracle.verbose = 0
        return _CheapTuner(oracle, directory=str(tmp_path), project_name="p",
                           overwrite=overwrite)

    tuner(8, ["a", "b", "c"], True).search(verbose=0)
    again = tuner(30, ["a", "b", "d", "e"], False)
    assert any("'act' has the values ['a', 'b', 'd', 'e'] now (['a', 'b', 'c'] before)"
               in r.getMessage() for r in caplog.records)
    again.search(verbose=0)
    oracle = again.oracle
    new = [oracle.trials[t].hyperparameters.values["act"] for t in oracle.start_order[8:]]
    assert len(new) == 22 and "c" not in new and {"d", "e"} & set(new)
    assert [hp.values for hp in oracle.hyperparameters.space if hp.name == "act"] == \
        [["a", "b", "d", "e"]]
