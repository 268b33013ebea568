"""Bad input to bin/run_nases.py: refused before any work with one line naming the input,
exit 2, nothing created or overwritten. The checks are tested in-process; a few subprocess
runs prove the command-line path."""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from absl import flags

from cli_helpers import assert_refused, parse_run, read_json, run, snapshot
from nases_tf.cli import checks
from nases_tf.data import npz_images
from nases_tf.errors import ArchitectureError, ConfigError, DataError
from nases_tf.search.schedules import PAPER, TUNED
from nases_tf.spaces import MacroSpace, MicroSpace, NasBench201Space, arch_json
from nases_tf.spaces.config import SpaceConfig

# -- flags ------------------------------------------------------------------------------


@pytest.mark.parametrize("argv,message", [
    (["--seed=-1"], "--seed=-1"), ([f"--seed={2 ** 32}"], "--seed=4294967296"),
    (["--entropy_weight=nan"], "--entropy_weight=nan: nan must be a finite number"),
    (["--controller_lr=inf"], "--controller_lr=inf: inf must be a finite number"),
    (["--controller_lr=0"], "--controller_lr=0.0: 0.0 must be > 0.0"),
    (["--baseline_decay=1"], "--baseline_decay=1.0: 1.0 must be < 1.0"),
    (["--layers=0"], "--layers=0: 0 is not a positive integer"),
    (["--max_skips=-2"], "--max_skips=-2"),
    (["--stage=dance"], "--stage=dance: value should be one of"),
    (["--strategy=tpu"], "--strategy=tpu: value should be one of"),
    (["--train_paths=both"], "--train_paths=both: value should be one of"),
    (["--dataset=npz:/no/such.npz"], "--dataset=npz:/no/such.npz: npz:/no/such.npz file not found"),
    (["--dataset=imagenet"], "--dataset=imagenet: imagenet is not supported"),
    (["--profile_steps=5"], "'5' must be START,END"),
    (["--profile_steps=9,3"], "needs 1 <= START <= END"),
    (["--cutout=40"], "--cutout=40"),
    (["--embedding_dim=-1"], "-1 must be >= 1, or 0 for the space's default size"),
])
def test_bad_flag_values_are_refused_as_the_flags_are_parsed(argv, message):
    with pytest.raises(flags.Error) as err:
        parse_run("--output_dir=/tmp/never-made", *argv)
    first = str(err.value).splitlines()[0]
    assert message in first and first.startswith("flag --"), first


def test_the_flags_make_one_run_config_with_the_schedule_applied():
    config = parse_run("--output_dir=/tmp/never-made", "--layers=4", "--bn_batches=2",
                       "--embedding_dim=0", "--final_epochs=3", "--profile_steps=2,3")
    assert config.space == SpaceConfig("macro", layers=4)  # the micro sizes are not the space's
    assert config.search.levers == dataclasses.replace(TUNED, bn_batches=2)
    assert config.embedding.embedding_dim is None and config.final.epochs == 3
    assert config.runtime.profile_steps == (2, 3)
    paper = parse_run("--output_dir=/tmp/never-made", "--ws_schedule=paper")
    assert paper.search.levers == PAPER
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.search.epochs = 3


def test_an_embedding_as_large_as_the_decisions_is_refused(tmp_path):
    config = parse_run(f"--output_dir={tmp_path / 'out'}", "--space=nasbench201",
                       "--embedding_dim=6", "--stage=pretrain")
    with pytest.raises(ConfigError, match="embedding_dim=6 must be smaller than the space's 6"):
        checks.check_inputs(config)
    assert not (tmp_path / "out").exists()
    fine = parse_run(f"--output_dir={tmp_path / 'out'}", "--space=nasbench201",
                     "--embedding_dim=5", "--stage=pretrain")
    assert fine.embedding.dim_for(6) == 5


@pytest.mark.parametrize("argv,line", [
    (["--flagfile=/no/such.cfg"], "--flagfile=/no/such.cfg: no such file or directory"),
    (["--flagfile=/"], "--flagfile=/: is a directory"),
    (["--stage=final"], "--output_dir is required: the directory for checkpoints"),
])
def test_a_missing_flagfile_or_output_dir_is_one_line(argv, line):
    done = run(*argv, timeout=120)
    assert_refused(done, line)


def test_output_dir_that_is_a_file_or_under_a_file_is_refused(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a directory"):
        checks.check_output_dir(str(path))
    with pytest.raises(ConfigError, match="cannot be created: .*file is a file"):
        checks.check_output_dir(str(path / "sub" / "dir"))


def test_unwritable_output_dir_is_refused_and_the_probe_leaves_nothing(tmp_path):
    with pytest.raises(ConfigError, match="is not writable"):
        checks.check_output_dir("/proc/nases-output")
    checks.check_output_dir(str(tmp_path / "new" / "dir"))
    assert list(tmp_path.iterdir()) == []


# -- architecture JSON ------------------------------------------------------------------

GOOD_MACRO = {"ops": ["identity", "sep_conv_3x3", "max_pool_3x3"], "skips": [[], [1], [0, 1]]}


@pytest.mark.parametrize("arch,match", [
    ({**GOOD_MACRO, "skips": [[], [1.5], [0, 1]]}, r"skips\[1\]\[0\] is 1.5"),
    ({**GOOD_MACRO, "skips": [[], [True], [0, 1]]}, r"skips\[1\]\[0\] is True"),
    ({**GOOD_MACRO, "skips": [[], ["a"], [0, 1]]}, r"skips\[1\]\[0\] is 'a'"),
    ({**GOOD_MACRO, "skips": [[], [None], [0, 1]]}, r"skips\[1\]\[0\] is None"),
    ({**GOOD_MACRO, "skips": [[], 1, [0, 1]]}, r"skips\[1\] must be a list"),
    ({**GOOD_MACRO, "ops": 5}, r"ops must be a list"),
    ({**GOOD_MACRO, "ops": ["identity", 3, "max_pool_3x3"]}, r"ops\[1\] is 3"),
    ({**GOOD_MACRO, "ops": ["identity", "conv9", "max_pool_3x3"]}, "unknown op 'conv9'"),
    ({**GOOD_MACRO, "skips": [[], [2], [0, 1]]}, r"is 2, expected an integer in \[0, 2\)"),
    ({**GOOD_MACRO, "skips": [[], [1], [0]]}, "layer 2 has 1 skip bits"),
    ({"ops": GOOD_MACRO["ops"]}, "missing key.*'skips'"),
    ([1, 2, 3], "must be an object"),
    (None, "must be an object"),
    ({"space": {"name": "macro", "layers": 5}, "architecture": GOOD_MACRO}, "layers': 5"),
    ({"space": "macro", "architecture": GOOD_MACRO}, "'space' must be an object"),
])
def test_macro_architecture_json_of_the_wrong_type_is_refused(arch, match):
    with pytest.raises(ArchitectureError, match=match) as err:
        arch_json.load_architecture(MacroSpace(3), arch, "--arch=a.json")
    assert str(err.value).startswith("--arch=a.json") and "\n" not in str(err.value)


def test_a_good_architecture_and_every_space_s_own_json_load():
    assert arch_json.load_architecture(MacroSpace(3), GOOD_MACRO, "x") == (0, 1, 1, 4, 0, 1)
    rng = np.random.default_rng(0)
    for space in (MacroSpace(4), MicroSpace(nodes=3, cells_per_stage=1), NasBench201Space()):
        arch = space.sample(rng)
        assert arch_json.load_architecture(space, json.loads(space.dumps(arch)), "x") == arch


def test_other_spaces_refuse_wrong_types_too():
    space = NasBench201Space()
    good = space.to_json(space.sample(np.random.default_rng(1)))
    bad = json.loads(json.dumps(good).replace('"', "'").replace("'", '"'))
    first_key = next(iter(bad))
    bad[first_key] = 7 if not isinstance(bad[first_key], int) else "seven"
    with pytest.raises(ArchitectureError, match="x: "):
        arch_json.load_architecture(space, bad, "x")


# -- .npz datasets ----------------------------------------------------------------------


def _npz(tmp_path, **arrays):
    rng = np.random.default_rng(0)
    base = {"x": rng.integers(0, 255, (60, 8, 8, 3), dtype=np.uint8),
            "y": np.arange(60) % 3}
    base.update(arrays)
    base = {k: v for k, v in base.items() if v is not None}
    path = tmp_path / "d.npz"
    np.savez(path, **base)
    return str(path)


def _images(n, side=8):
    return np.zeros((n, side, side, 3), np.uint8)


@pytest.mark.parametrize("arrays,match", [
    ({"x_test": _images(6, 10), "y_test": np.arange(6) % 3}, r"'x_test' images are \(10, 10, 3\)"),
    ({"x_test": _images(6)}, "has 'x_test' but no 'y_test'"),
    ({"y_test": np.arange(6) % 3}, "has 'y_test' but no 'x_test'"),
    ({"y": np.r_[np.arange(59) % 3, 100000]}, "largest is 100000 .* no training example"),
    ({"y": np.zeros(60, np.int64)}, "hold 1 class; a classifier needs at least 2"),
    ({"x_test": _images(6), "y_test": np.arange(6) % 4}, "test label 3 never occurs"),
    ({"y": np.r_[np.arange(59) % 3, -1]}, "negative label -1"),
    ({"x": np.zeros((60, 8, 8, 3), np.float32)}, "'x' must be uint8"),
    ({"x": np.zeros((60, 8, 8), np.uint8)}, "'x' must be uint8"),
    ({"y": np.zeros((60, 2), np.int64)}, "'y' must be integer labels"),
    ({"y": np.zeros(60, np.float32)}, "'y' must be integer labels"),
    ({"y": None}, "missing array 'y'"),
    ({"x": _images(0), "y": np.zeros(0, np.int64)}, "'x' holds no images"),
])
def test_bad_npz_files_are_refused_naming_the_array(tmp_path, arrays, match):
    with pytest.raises(DataError, match=match) as err:
        npz_images.read_npz(_npz(tmp_path, **arrays))
    assert "d.npz" in str(err.value) and "\n" not in str(err.value)


def test_a_huge_label_is_refused_in_bounded_memory(tmp_path):
    # a check sized by a label's value would need terabytes here; 1 GiB of address space
    # is plenty for one sized by the file
    path = _npz(tmp_path, y=np.r_[np.arange(59) % 3, 2 ** 40])
    script = ("import resource, sys\n"
              "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
              "from nases_tf.data import npz_images\n"
              "from nases_tf.errors import DataError\n"
              "try:\n"
              f"    npz_images.read_npz({path!r})\n"
              "except DataError as err:\n"
              "    print(err)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"largest is {2 ** 40}" in done.stdout and "no training example (e.g. 3)" in done.stdout


def test_not_an_npz_and_a_good_npz(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        npz_images.read_npz(str(path))
    x, y, tx, ty, classes = npz_images.read_npz(_npz(tmp_path))
    assert classes == 3 and len(x) + len(tx) == 60 and y.dtype == np.int64


def test_too_few_images_for_a_batch_are_refused_before_any_work(tmp_path):
    config = parse_run("--output_dir=/tmp/never-made", "--stage=all", "--batch_size=8",
                       "--dataset=npz:" + _npz(tmp_path))
    with pytest.raises(DataError, match="search validation split has 5 examples"):
        checks.check_batches(config, 50)


def test_large_images_turn_onednn_custom_ops_off(monkeypatch):
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    assert not checks.avoid_onednn_crash((48, 48, 3))
    assert "TF_ENABLE_ONEDNN_OPTS" not in os.environ
    assert checks.avoid_onednn_crash((64, 64, 3))
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "0"


# -- the command line -------------------------------------------------------------------

TINY = ["--stage=final", "--arch=random", "--layers=4", "--filters=8", "--batch_size=64",
        "--final_epochs=1", "--seed=1", "--verbose=0"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory, natural_npz):
    """A finished tiny --stage=final run."""
    out = tmp_path_factory.mktemp("finished")
    done = run(*TINY, f"--dataset=npz:{natural_npz}", f"--output_dir={out}")
    assert done.returncode == 0, done.stderr[-2000:]
    return out


@pytest.mark.slow
def test_reruns_with_other_settings_are_refused_and_touch_nothing(finished, natural_npz,
                                                                  tmp_path):
    before = snapshot(finished)
    arch = read_json(finished / "final" / "results.json")["architecture"]
    arch["skips"][3][0] = 1 - arch["skips"][3][0]  # same variable shapes, another network
    arch_path = tmp_path / "arch.json"
    arch_path.write_text(json.dumps(arch))
    copy = tmp_path / "copy.npz"
    copy.write_bytes(open(natural_npz, "rb").read())
    cases = [(["--batch_size=32"], ["--batch_size: 64 -> 32"]),
             (["--final_epochs=3"], ["--final_epochs: 1 -> 3"]),
             (["--layers=5"], ["--layers: 4 -> 5", "--arch:"]),
             ([f"--arch={arch_path}"], ["--arch:"]),
             (["--filters=16", "--cutout=8"], ["--filters: 8 -> 16", "--cutout: 0 -> 8"])]
    for extra, words in cases:
        done = run(*TINY, f"--dataset=npz:{natural_npz}", f"--output_dir={finished}", *extra)
        assert_refused(done, *words)
    done = run(*TINY, f"--dataset=npz:{copy}", f"--output_dir={finished}")
    assert_refused(done, "--dataset:")
    assert snapshot(finished) == before
    same = run(*TINY, f"--dataset=npz:{natural_npz}", f"--output_dir={finished}")
    assert same.returncode == 0 and snapshot(finished) == before  # the same run is reused


@pytest.mark.slow
def test_bad_flags_are_refused_before_any_work_and_create_nothing(tmp_path, natural_npz):
    out = tmp_path / "out"
    a_file = tmp_path / "file"
    a_file.write_text("x")
    bad_npz = tmp_path / "labels.npz"
    x = np.zeros((200, 8, 8, 3), np.uint8)
    np.savez(bad_npz, x=x, y=np.r_[np.arange(199) % 10, 100000])
    bad_arch = tmp_path / "arch.json"
    bad_arch.write_text(json.dumps({"ops": ["identity"] * 4, "skips": [[], [1.5], [0, 0],
                                                                        [0, 0, 0]]}))
    cases = [(["--seed=-1"], "--seed=-1"), ([f"--seed={2 ** 32}"], "--seed="),
             (["--entropy_weight=nan"], "--entropy_weight=nan"),
             (["--controller_lr=inf"], "--controller_lr=inf"),
             ([f"--dataset=npz:{bad_npz}"], "labels.npz"),
             ([f"--arch={bad_arch}"], "is 1.5")]
    for extra, word in cases:
        done = run(*TINY, f"--dataset=npz:{natural_npz}", f"--output_dir={out}", *extra)
        assert_refused(done, word)
        assert not out.exists()
    dangling = tmp_path / "link"
    dangling.symlink_to(tmp_path / "gone")
    for target in (a_file, a_file / "sub", "/proc/nases-output", dangling):
        done = run(*TINY, f"--dataset=npz:{natural_npz}", f"--output_dir={target}")
        assert_refused(done, "--output_dir=")
    assert a_file.read_text() == "x" and not (tmp_path / "gone").exists()


def test_help_groups_the_flags_with_defaults_and_schedule_values():
    done = run("--help", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    text = done.stdout
    headers = [line.split(" (")[0] for line in text.splitlines() if line.endswith("):")]
    assert headers == ["run", "data", "space", "stage 1", "search", "weight-sharing levers",
                       "final training"]
    assert "--flagfile:" in text and "--stage: <pretrain|search|final|all>" in text
    assert "(default: final)" in text and "--output_dir: " in text and "(required)" in text
    assert "--space: <macro|micro|nasbench201>" in text
    assert "--finetune_steps: " in text and "(tuned: 60, paper: 0)" in text
    # every flag of a run appears once
    from nases_tf.cli.flags import FLAGS
    names = [f.name for f in FLAGS.get_flags_for_module("nases_tf.cli.flags")]
    assert all(text.count(f"  --{name}: ") == 1 for name in names)
