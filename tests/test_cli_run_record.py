"""The run record: each stage's settings recorded beside its outputs, compared on every
rerun, and every changed setting named by its flag."""

import dataclasses
import json
import os
import pathlib
import shutil

import pytest

from cli_helpers import assert_refused, parse_run, read_json, run
from nases_tf.cli import config as run_config, run_record
from nases_tf.data.images import DataConfig
from nases_tf.embedding.config import EmbeddingConfig
from nases_tf.errors import ConfigError
from nases_tf.search.config import SearchConfig
from nases_tf.search.schedules import Levers
from nases_tf.settings import affects_results
from nases_tf.spaces.config import SpaceConfig
from nases_tf.training.config import FinalConfig, RuntimeConfig

DATA = pathlib.Path(__file__).resolve().parent / "data"
BASE = ["--output_dir=/tmp/never-made", "--stage=all", "--layers=4", "--filters=8"]
ARCH = {"ops": ["identity"] * 3, "skips": [[], [0], [0, 0]]}


def _record_all(config, arch_json=ARCH):
    labels = run_config.record_labels(config)
    for stage in ("pretrain", "search", "final"):
        run_record.begin_stage(config, stage, labels, arch_json)


def _changed_values():
    """One other value for every result-affecting field of every config of a run."""
    other = {int: lambda v: (v or 0) + 1, float: lambda v: v / 2 + 0.01, bool: lambda v: not v}
    specials = {(SpaceConfig, "name"): "micro", (DataConfig, "dataset"): "npz:other.npz",
                (DataConfig, "sha256"): "def", (SearchConfig, "cutout"): 4,
                (FinalConfig, "cutout"): 4, (Levers, "uniform_warmup"): 0.25}
    for part in ("space", "data", "embedding", "search", "final", "runtime"):
        owner = {"space": SpaceConfig, "data": DataConfig, "embedding": EmbeddingConfig,
                 "search": SearchConfig, "final": FinalConfig, "runtime": RuntimeConfig}[part]
        for path, cls, field in _fields(owner, part):
            choices = field.metadata.get("choices")
            if (cls, field.name) in specials:
                yield part, path, cls, field, specials[cls, field.name]
            elif choices:
                yield part, path, cls, field, lambda v, c=choices: next(x for x in c if x != v)
            else:
                yield part, path, cls, field, other[field.type]


def _fields(owner, prefix):
    for field in dataclasses.fields(owner):
        if field.type is Levers:
            yield from _fields(Levers, f"{prefix}.{field.name}")
        elif affects_results(field):
            yield f"{prefix}.{field.name}", owner, field


def _other(config, path, value):
    """``value``, or what it gives for the setting's current value when it is a function."""
    if not callable(value):
        return value
    current = config
    for name in path.split("."):
        current = getattr(current, name)
    return value(current)


def _replaced(config, path, value):
    part, *rest = path.split(".")
    inner = getattr(config, part)
    if len(rest) == 2:  # search.levers.<lever>
        value = dataclasses.replace(inner.levers, **{rest[1]: value})
        return dataclasses.replace(config, search=dataclasses.replace(inner, levers=value))
    if part == "space":  # a space with its own sizes
        sizes = {"layers": None, "nodes": None, "cells_per_stage": None}
        inner = SpaceConfig(**{**dataclasses.asdict(inner), **(
            {"name": "micro", **sizes, "nodes": 2, "cells_per_stage": 1}
            if rest[0] == "name" else {rest[0]: value})})
        return dataclasses.replace(config, space=inner)
    return dataclasses.replace(config, **{part: dataclasses.replace(inner, **{rest[0]: value})})


def test_every_result_affecting_setting_changed_alone_is_refused_naming_its_flag(tmp_path):
    config = dataclasses.replace(parse_run(*BASE), output_dir=str(tmp_path))
    _record_all(config)
    labels = run_config.record_labels(config)
    run_record.check_run(config, labels, ARCH)  # the same settings pass
    seen = 0
    for part, path, cls, field, value in _changed_values():
        changed = _replaced(config, path, _other(config, path, value))
        with pytest.raises(ConfigError) as err:
            run_record.check_run(changed, labels, ARCH)
        message = str(err.value)
        label = run_config.label_of(cls, field.name)
        assert label.startswith("--") or label == f"{cls.__name__}.{field.name}", label
        assert f"{label}: " in message and "\n" not in message, (path, message)
        assert "--overwrite" in message
        seen += 1
    assert seen >= 40
    # a setting that does not change results is not compared
    quiet = dataclasses.replace(config, runtime=dataclasses.replace(config.runtime, verbose=0,
                                                                     profile_steps=(1, 2)))
    run_record.check_run(quiet, labels, ARCH)


def test_a_killed_search_resumed_with_any_other_search_setting_is_refused(tmp_path):
    # what a search killed half-way leaves: both records, a checkpoint, no arch.json yet
    config = dataclasses.replace(parse_run(*BASE), output_dir=str(tmp_path))
    labels = run_config.record_labels(config)
    for stage in ("pretrain", "search"):
        run_record.begin_stage(config, stage, labels)
    (tmp_path / "search" / "checkpoint").write_text("half")
    run_record.check_run(config, labels)  # the same settings resume
    refused = 0
    for part, path, cls, field, value in _changed_values():
        if part not in ("search", "embedding", "space"):
            continue
        with pytest.raises(ConfigError, match=f"{run_config.label_of(cls, field.name)}: "):
            run_record.check_run(_replaced(config, path, _other(config, path, value)), labels)
        refused += 1
    assert refused >= 30


def test_the_flag_names_and_both_values_of_each_difference(tmp_path):
    config = dataclasses.replace(parse_run(*BASE), output_dir=str(tmp_path))
    _record_all(config)
    other = dataclasses.replace(parse_run(*BASE, "--search_epochs=4", "--pretrain_steps=60",
                                          "--ws_schedule=paper"), output_dir=str(tmp_path))
    with pytest.raises(ConfigError) as err:
        run_record.check_run(other, run_config.record_labels(other), ARCH)
    message = str(err.value)
    assert "--search_epochs: 70 -> 4" in message and "--pretrain_steps: 1000 -> 60" in message
    assert "--finetune_steps: 60 -> 0" in message and "--train_paths: uniform -> controller" \
        in message
    assert message.count("--pretrain_steps") == 1  # pretrain and search record it: said once
    with pytest.raises(ConfigError, match="--arch: "):
        run_record.check_run(config, run_config.record_labels(config),
                             {**ARCH, "ops": ["identity", "identity", "max_pool_3x3"]})


def test_a_record_of_the_earlier_format_is_refused_not_misread(tmp_path):
    config = dataclasses.replace(parse_run(*BASE), output_dir=str(tmp_path))
    (tmp_path / "search").mkdir()
    shutil.copy(DATA / "run_json_format_1_search.json", tmp_path / "search" / "run.json")
    with pytest.raises(ConfigError) as err:
        run_record.check_run(config, run_config.record_labels(config), None)
    message = str(err.value)
    assert "run.json is a record of another format" in message and "--overwrite" in message


def test_overwrite_skips_the_check_and_removes_only_the_stages_run(tmp_path):
    config = dataclasses.replace(parse_run(*BASE), output_dir=str(tmp_path))
    _record_all(config)
    (tmp_path / "tensorboard" / "final").mkdir(parents=True)
    changed = dataclasses.replace(config, overwrite=True, stage="final", final=FinalConfig(
        epochs=9))
    run_record.check_run(changed, run_config.record_labels(changed), ARCH)
    run_record.remove_stages(str(tmp_path), run_record.STAGES_RUN["final"])
    assert sorted(os.listdir(tmp_path)) == ["autoencoder", "search", "tensorboard"]
    assert os.listdir(tmp_path / "tensorboard") == []


def test_results_without_a_record_are_not_reused(tmp_path):
    config = dataclasses.replace(parse_run(*BASE, "--stage=final"), output_dir=str(tmp_path))
    (tmp_path / "final").mkdir()
    (tmp_path / "final" / "results.json").write_text("{}")
    with pytest.raises(ConfigError, match="without a record of their settings"):
        run_record.check_run(config, run_config.record_labels(config), ARCH)


@pytest.mark.slow
@pytest.mark.xdist_group("finished_run")  # one worker makes the shared run
def test_reruns_into_a_finished_run_with_other_levers_are_refused(finished_run):
    flags, out, _ = finished_run
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    # TINY_RUN's own lever flags (fine-tuning, re-ranking) override either schedule
    cases = [(["--ws_schedule=paper"], ["--train_paths: uniform -> controller",
                                         "--bn_batches: 4 -> 0"]),
             (["--bn_batches=2"], ["--bn_batches: 4 -> 2"]),
             (["--chain_mode=best"], ["--chain_mode: decoded -> best"]),
             (["--stage=final", "--final_epochs=2"], ["--final_epochs: 1 -> 2"])]
    for extra, words in cases:
        assert_refused(run(*flags, f"--output_dir={out}", *extra), *words)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert read_json(out / "search" / "run.json")["settings"]["search"]["levers"][
        "bn_batches"] == 4


@pytest.mark.slow
@pytest.mark.xdist_group("finished_run")  # one worker makes the shared run
def test_overwrite_starts_afresh_and_a_new_search_is_not_answered_by_the_old_final(copy_run):
    flags, out = copy_run
    (out / "search" / "run.json").write_text((DATA / "run_json_format_1_search.json")
                                             .read_text())
    assert_refused(run(*flags, "--stage=search"), "another format", "--overwrite")
    again = run(*flags, "--stage=final", "--final_epochs=2", "--overwrite")
    assert again.returncode == 0, again.stderr[-2000:]
    assert read_json(out / "final" / "results.json")["epochs"] == 2
    assert read_json(out / "final" / "run.json")["settings"]["final"]["epochs"] == 2
    # a search redone apart (another arch.json) makes the old final result unusable
    arch = read_json(out / "search" / "arch.json")
    arch["architecture"]["skips"][1][0] = 1 - arch["architecture"]["skips"][1][0]
    (out / "search" / "arch.json").write_text(json.dumps(arch))
    assert_refused(run(*flags, "--stage=final", "--final_epochs=2"), "--arch:")
