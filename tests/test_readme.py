"""The README's Python snippets run as written (their paths pointed at test data or a
finished run), so a user copying one gets what the README says."""

import os
import re
import subprocess
import sys

import pytest

from nases_tf import quiet_start

from conftest import REPO

README = (REPO / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
# Each block, by a line only it has; a GPU-sized search cannot run here and is only compiled.
KNOWN = {"load_model(": "model", "NASES(build_model": "tuner",
         "NasBench201Table": "nasbench201", "MacroHyperModel(": "gpu"}


def _block(kind):
    return next(b for b in BLOCKS if any(k in b for k, v in KNOWN.items() if v == kind))


def _run(code, cwd=REPO, timeout=600, as_a_user_would=False):
    """Runs ``code``; returns its standard output (and error, ``as_a_user_would``: with
    TensorFlow's logging as a fresh shell has it)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if as_a_user_would:
        env.pop("TF_CPP_MIN_LOG_LEVEL")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=str(cwd), env=env, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return (done.stdout, done.stderr) if as_a_user_would else done.stdout


def test_every_snippet_is_known_and_compiles():
    kinds = [[v for k, v in KNOWN.items() if k in block] for block in BLOCKS]
    assert all(len(k) == 1 for k in kinds), kinds  # a new snippet needs a test here
    assert sorted(k[0] for k in kinds) == sorted(KNOWN.values())
    for block in BLOCKS:
        compile(block, "README.md", "exec")


def test_the_nasbench201_snippet():
    out = _run(_block("nasbench201"))
    assert "('|" in out and "test_accuracy" in out  # the optimum's string, then a query


@pytest.mark.slow
def test_the_keras_tuner_snippet(tmp_path):
    code = _block("tuner").replace('"runs/tuner"', repr(str(tmp_path / "tuner")))
    out, err = _run(code, as_a_user_would=True)
    noise = [line for line in err.splitlines() if quiet_start.is_startup_noise(line)]
    assert not noise, noise  # TensorFlow's start-up lines stay off the user's screen
    assert re.search(r"\{'layers': \d", out.strip().splitlines()[-1]), out[-2000:]
    assert len(list((tmp_path / "tuner" / "demo").glob("trial_*"))) == 20


@pytest.mark.slow
@pytest.mark.xdist_group("finished_run")  # one worker makes the shared run
def test_the_model_snippet_on_a_finished_run(finished_run):
    _, out, _ = finished_run
    code = _block("model").replace('"runs/demo/', '"' + str(out) + '/')
    printed = _run(code).strip().splitlines()[-1]
    by_keras, by_savedmodel = re.findall(r"\[([\d ]+)\]", printed)
    assert by_keras == by_savedmodel and len(by_keras.split()) == 8


@pytest.mark.slow
@pytest.mark.xdist_group("finished_run")
def test_every_tensorboard_tag_the_readme_names_is_logged(finished_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, out, _ = finished_run
    rows = re.findall(r"^\| `tensorboard/(\w+)` \|(.*)\|$", README, re.M)
    checked = 0
    for log_dir, text in rows:
        if not (out / "tensorboard" / log_dir).exists():
            assert log_dir == "random_baseline"  # only --compare_random trains it
            continue
        tags = set()
        for events in (out / "tensorboard" / log_dir).rglob("events.out.tfevents.*"):
            accumulator = EventAccumulator(str(events), size_guidance={"tensors": 0})
            accumulator.Reload()
            tags.update(tag for kind in accumulator.Tags().values()
                        if isinstance(kind, list) for tag in kind)
        for name in re.findall(r"`([\w/]+(?:/\.\.\.|\*)?)`", text):
            prefix = name.rstrip("*.")
            if "/" not in name and not name.startswith("epoch_"):
                continue  # not a tag
            assert any(tag == name or (prefix != name and tag.startswith(prefix))
                       for tag in tags), (log_dir, name, sorted(tags))
            checked += 1
    assert checked >= 15
