"""bin/run_nases.py: every stage in one run, final training's outputs, resume after a kill,
distribution, the random baseline, bad flags."""

import os
import re
from importlib.metadata import entry_points
import signal
import subprocess
import time

import numpy as np
import pytest

from cli_helpers import command, parse_run, read_json, run, scalar_tags

SMALL = ["--stage=final", "--arch=random", "--layers=6", "--filters=16", "--batch_size=64",
         "--final_epochs=2", "--seed=1", "--verbose=2"]


@pytest.mark.slow
@pytest.mark.xdist_group("finished_run")  # one worker makes the shared run
def test_stage_all_writes_every_stage_and_a_rerun_for_another_space_is_refused(finished_run):
    flags, out, done = finished_run
    arch = read_json(out / "search" / "arch.json")
    results = read_json(out / "final" / "results.json")
    assert results["architecture"] == arch["architecture"]
    assert (out / "autoencoder" / "coder.json").is_file()
    assert (out / "autoencoder" / "decoder.keras").is_file()
    assert "stage 1: decision accuracy" in done.stdout and "test_accuracy=" in done.stdout
    assert len(arch["standalone_rerank"]) == 2  # the tuned schedule's re-ranking ran
    # TensorBoard ends the search with what it returns, named as the printout names it
    tags = scalar_tags(str(out / "tensorboard" / "search"))
    assert {"result/final_score", "result/candidates", "result/architecture",
            "controller/best_rewarded_architecture"} <= tags, tags
    assert f"final score {arch['reward']:.4f} (result/final_score)" in done.stdout
    assert "standalone validation accuracy" in done.stdout.split("final score")[-1]
    assert re.search(r"^stage 1: .* \(\d+ s\)$", done.stdout, re.M), done.stdout
    assert re.search(r"^final training \(\d+ s\): test_accuracy=", done.stdout, re.M)
    # the search stage refuses a directory whose coder was built for another space
    again = run(*flags, f"--output_dir={out}", "--stage=search", "--layers=5")
    assert again.returncode == 2
    assert "--layers: 4 -> 5" in again.stderr.strip().splitlines()[-1]


@pytest.mark.slow
def test_trains_two_epochs_writes_outputs_and_resumes_exactly_after_a_kill(tmp_path,
                                                                          natural_npz_half):
    flags = SMALL + [f"--dataset=npz:{natural_npz_half}"]
    whole = tmp_path / "whole"
    done = run(*flags, f"--output_dir={whole}", "--profile_steps=2,3")
    assert done.returncode == 0, done.stderr[-2000:]
    results = read_json(whole / "final" / "results.json")
    assert results["epochs"] == 2 and results["params"] > 10000
    assert results["test_accuracy"] > 0.2  # chance is 0.1 on these 10 classes
    assert results["architecture"]["ops"] and results["space"] == {"name": "macro", "layers": 6}
    assert (whole / "final" / "model.keras").is_file()
    tags = scalar_tags(str(whole / "tensorboard" / "final"))
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= tags
    traces = list((whole / "tensorboard" / "final").rglob("*.xplane.pb"))
    assert traces, "--profile_steps=2,3 leaves a profiler trace"
    # where TensorBoard's Profile tab (tensorboard-plugin-profile, installed) looks for runs
    assert all(t.parent.parent.parts[-2:] == ("plugins", "profile") for t in traces), traces
    assert "profile" in {e.name for e in entry_points(group="tensorboard_plugins")}

    # The same command, killed once epoch 1's checkpoint is written, then rerun.
    killed = tmp_path / "killed"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.Popen(command(*flags, f"--output_dir={killed}"), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    index = killed / "final" / "checkpoints" / "checkpoint"
    deadline = time.time() + 300
    while not index.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "final" / "results.json").exists()
    resumed = run(*flags, f"--output_dir={killed}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming final training at epoch 2 of 2" in resumed.stderr
    again = read_json(killed / "final" / "results.json")
    # seeded CPU runs are reproducible, and resuming loses nothing
    assert again["test_accuracy"] == results["test_accuracy"]
    assert again["test_loss"] == pytest.approx(results["test_loss"], rel=1e-6)


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus(tmp_path, natural_npz_quarter):
    # what is checked is that the run is distributed, not how well it learns
    out = tmp_path / "mirrored"
    done = run("--stage=final", "--arch=random", "--layers=2", "--filters=8",
               "--batch_size=64", "--final_epochs=1", "--seed=1", "--verbose=2",
               "--strategy=mirrored", "--logical_cpus=2",
               f"--dataset=npz:{natural_npz_quarter}", f"--output_dir={out}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "MirroredStrategy" in done.stderr and "CPU:1" in done.stderr
    assert read_json(out / "final" / "results.json")["test_accuracy"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("flag,message", [
    ("--bogus=1", "Unknown command line flag 'bogus'"),
    ("--layers=0", "--layers=0: 0 is not a positive integer"),
])
def test_bad_flags_exit_2_with_one_line_and_touch_nothing(tmp_path, flag, message):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    done = run("--arch=random", f"--output_dir={out}", flag)
    assert done.returncode == 2
    lines = [l for l in done.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert sorted(os.listdir(out)) == ["keep.txt"]


@pytest.mark.parametrize("argv,message", [
    (["--arch=/no/arch.json"], "--arch /no/arch.json: file not found"),
    (["--arch="], "--stage=final needs --arch=random or --arch=PATH.json"),
])
def test_the_final_stage_needs_an_architecture(tmp_path, argv, message):
    from nases_tf.cli import checks
    from nases_tf.errors import NasesError
    config = parse_run("--arch=random", f"--output_dir={tmp_path}/o", *argv)
    with pytest.raises(NasesError, match=message):
        checks.check_inputs(config)
    assert not (tmp_path / "o").exists()


def test_arch_json_from_another_space_is_refused(tmp_path):
    from nases_tf.cli import checks
    from nases_tf.errors import ArchitectureError
    from nases_tf.storage import fileio
    from nases_tf.spaces import MacroSpace
    space = MacroSpace(4)
    arch = space.sample(np.random.default_rng(0))
    path = str(tmp_path / "arch.json")
    fileio.write_json(path, {"space": space.config(), "architecture": space.to_json(arch)})
    assert checks.load_arch(MacroSpace(4), path, 0) == arch
    with pytest.raises(ArchitectureError, match="was made for search space"):
        checks.load_arch(MacroSpace(6), path, 0)


def test_mixed_precision_is_float16_on_a_gpu_and_bfloat16_on_a_cpu_and_trains(monkeypatch):
    import keras
    from nases_tf.training import runtime
    from nases_tf.networks import build_macro_model
    from nases_tf.spaces import MacroSpace
    assert runtime.precision_policy(False) is None
    monkeypatch.setattr(runtime, "has_gpu", lambda: True)
    assert runtime.precision_policy(True) == "mixed_float16"
    monkeypatch.setattr(runtime, "has_gpu", lambda: False)
    assert runtime.precision_policy(True) == "mixed_bfloat16"
    assert runtime.set_precision(True) == "mixed_bfloat16"
    space = MacroSpace(3)
    model = build_macro_model(space, space.join([1, 4, 2], [[], [1], [0, 1]]), filters=8)
    model.compile(keras.optimizers.SGD(0.05), keras.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    x = np.random.default_rng(0).normal(size=(16, 32, 32, 3)).astype("float32")
    y = np.arange(16) % 10
    losses = [float(model.train_on_batch(x, y)) for _ in range(5)]
    assert model.get_layer("layer0_sep_conv_3x3").compute_dtype == "bfloat16"
    assert model.output.dtype == "float32" and losses[-1] < losses[0]


@pytest.mark.slow
def test_compare_random_trains_a_random_architecture_the_same_way(tmp_path,
                                                                  natural_npz_quarter):
    out = tmp_path / "compare"
    done = run("--stage=final", "--arch=random", "--seed=3", "--layers=2", "--filters=4",
               "--batch_size=64", "--final_epochs=1", "--compare_random=1", "--verbose=0",
               f"--dataset=npz:{natural_npz_quarter}", f"--output_dir={out}")
    assert done.returncode == 0, done.stderr[-2000:]
    results = read_json(out / "final" / "results.json")
    baseline = read_json(out / "random_baseline" / "final" / "results.json")
    assert results["random_baseline"]["test_accuracy"] == baseline["test_accuracy"]
    assert results["random_baseline"]["arch_seed"] == 1
    assert baseline["epochs"] == results["epochs"] == 1
    assert "random architecture (--arch=random --seed=1), same training" in done.stdout
    # its TensorBoard logs sit beside the run's, under the --logdir the README gives
    assert {"epoch_loss", "epoch_accuracy"} <= scalar_tags(
        str(out / "tensorboard" / "random_baseline" / "train"))
    assert not (out / "random_baseline" / "tensorboard").exists()
