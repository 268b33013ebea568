"""Checkpoints and damaged run state: checkpoint state files, index/data files, .keras
models and JSON.
Each case either resumes from the newest intact checkpoint (saying so) or stops with a
one-line DataError naming the file, and never overwrites what is there."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from nases_tf.storage import checkpoints  # noqa: E402

from nases_tf.storage import fileio
from nases_tf.errors import DataError  # noqa: E402


def _saved(directory, epochs=3):
    """A RunCheckpoint with ``epochs`` saves (max_to_keep=2: ckpt-2 and ckpt-3 stay)."""
    value = tf.Variable([1.0, 2.0, 3.0])
    run = checkpoints.RunCheckpoint(str(directory), value=value)
    for epoch in range(1, epochs + 1):
        value.assign([float(epoch)] * 3)
        run.save({"epoch": epoch})
    return directory


def _restore(directory):
    value = tf.Variable([0.0, 0.0, 0.0])
    state = checkpoints.RunCheckpoint(str(directory), value=value).restore()
    return state, value.numpy().tolist()


def _snapshot(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def test_intact_checkpoints_restore_the_newest(tmp_path):
    assert _restore(_saved(tmp_path)) == ({"epoch": 3}, [3.0, 3.0, 3.0])


@pytest.mark.parametrize("garbage", ["", "garbage\n", "\x00\x01\x02", 'model_checkpoint_path: "'])
def test_damaged_state_file_resumes_from_the_newest_intact_checkpoint(tmp_path, garbage):
    _saved(tmp_path)
    (tmp_path / "checkpoint").write_text(garbage)
    assert _restore(tmp_path) == ({"epoch": 3}, [3.0, 3.0, 3.0])


def test_missing_state_file_resumes_too(tmp_path):
    _saved(tmp_path)
    (tmp_path / "checkpoint").unlink()
    assert _restore(tmp_path)[0] == {"epoch": 3}


@pytest.mark.parametrize("suffix,size", [(".index", 0), (".index", 10),
                                         (".data-00000-of-00001", 0),
                                         (".data-00000-of-00001", 5), (".json", 3)])
def test_damaged_newest_checkpoint_falls_back_to_the_one_before(tmp_path, suffix, size):
    _saved(tmp_path)
    path = tmp_path / f"ckpt-3{suffix}"
    path.write_bytes(path.read_bytes()[:size])
    assert _restore(tmp_path) == ({"epoch": 2}, [2.0, 2.0, 2.0])


def test_no_intact_checkpoint_is_a_one_line_error_and_nothing_changes(tmp_path):
    _saved(tmp_path)
    for n in (2, 3):
        (tmp_path / f"ckpt-{n}.index").write_bytes(b"")
    before = _snapshot(tmp_path)
    with pytest.raises(DataError, match=r"ckpt-3\.index is empty") as err:
        _restore(tmp_path)
    assert "\n" not in str(err.value)
    assert _snapshot(tmp_path) == before


def test_leftovers_of_interrupted_saves_are_removed(tmp_path):
    _saved(tmp_path)
    (tmp_path / "ckpt-4_temp").mkdir()
    (tmp_path / "ckpt-4_temp" / "part").write_text("x")
    (tmp_path / ".tmp-abcckpt-4.json").write_text("{")
    assert _restore(tmp_path)[0] == {"epoch": 3}
    assert not (tmp_path / "ckpt-4_temp").exists()
    assert not (tmp_path / ".tmp-abcckpt-4.json").exists()


def test_checkpoint_of_another_model_is_a_one_line_error(tmp_path):
    _saved(tmp_path)
    other = tf.Variable([0.0, 0.0])
    with pytest.raises(DataError, match="does not fit this run's model") as err:
        checkpoints.RunCheckpoint(str(tmp_path), value=other).restore()
    assert "\n" not in str(err.value)


def test_state_file_reader(tmp_path):
    assert checkpoints.read_state_file(str(tmp_path)) == (None, None)
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "ckpt-7"\n'
                                         'all_model_checkpoint_paths: "ckpt-7"\n')
    assert checkpoints.read_state_file(str(tmp_path)) == ("ckpt-7", None)


def _tiny_model():
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2)(inputs))


@pytest.mark.parametrize("cut", [0, 100, -50])
def test_truncated_keras_file_is_a_one_line_error(tmp_path, cut):
    path = tmp_path / "m.keras"
    fileio.save_keras_model(_tiny_model(), str(path))
    data = path.read_bytes()
    path.write_bytes(data[:cut] if cut >= 0 else data[:len(data) + cut])
    with pytest.raises(DataError, match="m.keras") as err:
        fileio.load_keras_model(str(path), "coder simulator")
    assert "\n" not in str(err.value) and "not found" not in str(err.value)


def test_json_missing_required_keys_names_them(tmp_path):
    path = tmp_path / "coder.json"
    path.write_text(json.dumps({"num_decisions": 3}))
    with pytest.raises(DataError, match="missing key.*'space'"):
        fileio.read_json(str(path), "coder", required=("space", "num_decisions"))


# -- the command line -------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.xdist_group("finished_run")  # one worker makes the shared run
def test_cli_recovers_from_a_garbage_state_file_and_refuses_a_lost_checkpoint(copy_run):
    from cli_helpers import run

    flags, out = copy_run
    search = out / "search"
    kept = {name: (search / name).read_bytes() for name in ("arch.json", "history.json")}
    (search / "checkpoints" / "checkpoint").write_text("garbage\n")
    (out / "autoencoder" / ".tmp-xyzsimulator.keras").write_bytes(b"half")
    again = run(*flags)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resuming from the newest intact checkpoint" in again.stderr
    assert "resuming from checkpoint" in again.stderr  # stage 1 and the search say so
    assert {name: (search / name).read_bytes() for name in kept} == kept
    assert not (out / "autoencoder" / ".tmp-xyzsimulator.keras").exists()
    (search / "checkpoints" / "ckpt-1.index").write_bytes(b"")
    refused = run(*flags)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "ckpt-1.index is empty" in refused.stderr
    assert {name: (search / name).read_bytes() for name in kept} == kept
    (out / "autoencoder" / "simulator.keras").write_bytes(b"PK\x03\x04truncated")
    refused = run(*flags)
    assert refused.returncode == 2 and "simulator.keras" in refused.stderr
    assert "Traceback" not in refused.stderr
