"""Run identity: stage settings recorded beside the outputs, compared on every rerun."""

import json
import os

import pytest

from cli_helpers import read_json, run
from nases_tf import run_identity
from nases_tf.errors import ConfigError
from nases_tf.spaces import MacroSpace

FLAGS = {"coder": "lstm", "embedding_dim": 0, "pretrain_steps": 50, "pretrain_lr": 3e-3,
         "pretrain_batch_size": 128, "coder_units": 64, "seed": 0, "dataset": "npz:d.npz",
         "reward": "weight_sharing", "search_epochs": 3, "batch_size": 64, "filters": 8,
         "controller_steps": 2, "samples_per_update": 4, "controller_lr": 3e-3,
         "baseline_decay": 0.9, "entropy_weight": 1e-3, "initial_sigma": 0.3,
         "episode_epochs": 1, "rescore_samples": 2, "cutout": 0, "mixed_precision": False,
         "final_epochs": 3, "strategy": "default"}
ARCH = (0, 1, 1, 4, 0, 1)


def _record_all(out, space=MacroSpace(3), flags=FLAGS):
    for stage in ("pretrain", "search", "final"):
        run_identity.begin_stage(str(out), stage, flags, space, ARCH, "abc")


def test_same_settings_pass_and_each_difference_is_named(tmp_path):
    _record_all(tmp_path)
    run_identity.check_run(str(tmp_path), "all", FLAGS, MacroSpace(3), None, "abc", False)
    run_identity.check_run(str(tmp_path), "final", FLAGS, MacroSpace(3), ARCH, "abc", False)
    changed = {**FLAGS, "search_epochs": 4, "pretrain_steps": 60}
    with pytest.raises(ConfigError) as err:
        run_identity.check_run(str(tmp_path), "all", changed, MacroSpace(3), None, "abc", False)
    message = str(err.value)
    assert "--search_epochs: 3 -> 4" in message and "--pretrain_steps: 50 -> 60" in message
    assert message.count("--pretrain_steps") == 1 and "\n" not in message
    assert "--overwrite" in message


def test_final_stage_compares_architecture_dataset_and_space(tmp_path):
    _record_all(tmp_path)
    other = (0, 1, 1, 4, 1, 1)
    with pytest.raises(ConfigError, match="--arch:"):
        run_identity.check_run(str(tmp_path), "final", FLAGS, MacroSpace(3), other, "abc",
                               False)
    with pytest.raises(ConfigError, match="dataset contents: abc -> xyz"):
        run_identity.check_run(str(tmp_path), "final", FLAGS, MacroSpace(3), ARCH, "xyz",
                               False)
    with pytest.raises(ConfigError, match="--layers: 3 -> 4"):
        run_identity.check_run(str(tmp_path), "final", FLAGS, MacroSpace(4),
                               (0,) * MacroSpace(4).num_decisions, "abc", False)
    # the stage that runs later refuses when its input changed under it
    with pytest.raises(ConfigError, match="--arch:"):
        run_identity.begin_stage(str(tmp_path), "final", FLAGS, MacroSpace(3), other, "abc")


def test_overwrite_skips_the_check_and_removes_only_the_stages_run(tmp_path):
    _record_all(tmp_path)
    (tmp_path / "tensorboard" / "final").mkdir(parents=True)
    changed = {**FLAGS, "final_epochs": 9}
    run_identity.check_run(str(tmp_path), "final", changed, MacroSpace(3), ARCH, "abc", True)
    run_identity.remove_stages(str(tmp_path), run_identity.STAGES_RUN["final"])
    assert sorted(os.listdir(tmp_path)) == ["autoencoder", "search", "tensorboard"]
    assert os.listdir(tmp_path / "tensorboard") == []


def test_results_without_a_record_are_not_reused(tmp_path):
    (tmp_path / "final").mkdir()
    (tmp_path / "final" / "results.json").write_text("{}")
    with pytest.raises(ConfigError, match="without a record of their settings"):
        run_identity.check_run(str(tmp_path), "final", FLAGS, MacroSpace(3), ARCH, "abc",
                               False)


def test_dataset_digest(tmp_path):
    path = tmp_path / "d.npz"
    path.write_bytes(b"abc")
    assert run_identity.dataset_digest(f"npz:{path}").startswith("ba7816bf")
    assert run_identity.dataset_digest("cifar10") is None


TINY = ["--layers=4", "--filters=8", "--batch_size=64", "--seed=1", "--verbose=0",
        "--pretrain_steps=30", "--search_epochs=1", "--controller_steps=1",
        "--rescore_samples=2", "--finetune_steps=3", "--final_epochs=1"]


@pytest.mark.slow
def test_overwrite_starts_afresh_and_a_new_search_is_not_answered_by_the_old_final(
        tmp_path, natural_npz):
    out = tmp_path / "out"
    flags = TINY + [f"--dataset=npz:{natural_npz}", f"--output_dir={out}"]
    first = run("--stage=all", *flags)
    assert first.returncode == 0, first.stderr[-2000:]
    refused = run("--stage=all", *flags, "--final_epochs=2")
    assert refused.returncode == 2 and "--final_epochs: 1 -> 2" in refused.stderr
    again = run("--stage=all", *flags, "--final_epochs=2", "--overwrite")
    assert again.returncode == 0, again.stderr[-2000:]
    assert read_json(out / "final" / "results.json")["epochs"] == 2
    assert read_json(out / "final" / "run.json")["final_epochs"] == 2
    # a search redone apart (another arch.json) makes the old final result unusable
    arch = read_json(out / "search" / "arch.json")
    arch["architecture"]["skips"][1][0] = 1 - arch["architecture"]["skips"][1][0]
    (out / "search" / "arch.json").write_text(json.dumps(arch))
    final = run("--stage=final", *flags, "--final_epochs=2")
    assert final.returncode == 2 and "--arch:" in final.stderr
