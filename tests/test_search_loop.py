"""Stage 2: the search loop (weight sharing and episodic), resume, and the levers."""

import dataclasses
import json

import numpy as np
import pytest

from nases_tf import data
from nases_tf.embedding.coder import Coder
from nases_tf.embedding.config import EmbeddingConfig
from nases_tf.search.config import SearchConfig
from nases_tf.search.final_selection import SOURCES, candidate_pool
from nases_tf.search.loop import Search
from nases_tf.search.schedules import LEVERS, PAPER
from nases_tf.spaces import MacroSpace
from nases_tf.training import runtime
from nases_tf.training.config import RuntimeConfig

from cli_helpers import read_json, scalar_tags

TINY = dict(batch_size=64, filters=8, controller_steps=3, samples_per_update=3,
            rescore_samples=4, rescore_top=2, seed=2)


@pytest.fixture(scope="module")
def setting(natural_npz, tmp_path_factory):
    """A 4-layer macro space, a quickly trained mlp coder and 640 of the natural images'
    training photos (search split: 9 training batches of 64 and 1 validation batch; what
    the tests check does not depend on the size)."""
    space = MacroSpace(4)
    coder = Coder(space, EmbeddingConfig(coder="mlp", embedding_dim=4, pretrain_steps=200),
                  log_every=200)
    coder.pretrain(str(tmp_path_factory.mktemp("coder")), verbose=0)
    full = data.load_images(f"npz:{natural_npz}")
    images = data.ImageData(full.train_x[:640], full.train_y[:640], full.test_x, full.test_y,
                            full.num_classes, full.source)
    return space, coder, images


def _search(setting, output_dir, **overrides):
    """A ``Search`` with ``TINY``'s settings, ``overrides`` (levers among them) applied."""
    space, coder, images = setting
    runtime.set_seed(0)
    settings = {**TINY, **overrides}
    embedding = EmbeddingConfig(samples_per_update=settings.pop("samples_per_update"))
    run = RuntimeConfig(seed=settings.pop("seed"), verbose=settings.pop("verbose", 0))
    levers = dataclasses.replace(PAPER, **{k: settings.pop(k) for k in LEVERS if k in settings})
    return Search(space, coder, images, str(output_dir),
                  SearchConfig(**settings, levers=levers), embedding, run)


@pytest.fixture(scope="module")
def whole_search(setting, tmp_path_factory):
    """An uninterrupted 2-epoch search with ``TINY``'s settings: (its result, its output
    directory). The tests that read it share an xdist group, so one worker runs it."""
    out = tmp_path_factory.mktemp("whole")
    return _search(setting, out, epochs=2).run(), out


@pytest.mark.xdist_group("whole_search")
def test_weight_sharing_search_writes_arch_json_and_summaries(setting, whole_search):
    space = setting[0]
    result, out = whole_search
    saved = read_json(out / "search" / "arch.json")
    assert saved == json.loads(json.dumps(result))
    assert saved["space"] == space.config()
    best = space.from_json(saved["architecture"])
    assert saved["readable"] == space.readable(best)
    assert 0.0 <= saved["reward"] <= 1.0
    assert saved["candidates"][0]["reward"] == saved["reward"]
    assert 0 < saved["controller_share_of_time"] < 0.5
    tags = scalar_tags(str(out / "tensorboard" / "search"))
    for tag in ("accuracy_and_loss/reward_mean", "accuracy_and_loss/reward_max", "controller/baseline", "controller/entropy",
                "controller/sigma", "controller/loss", "accuracy_and_loss/shared_train_loss",
                "accuracy_and_loss/shared_train_accuracy", "archs/ops/sep_conv_3x3", "archs/skip_density"):
        assert tag in tags, tag


@pytest.mark.slow
@pytest.mark.xdist_group("whole_search")
def test_stopped_after_epoch_1_resumes_at_epoch_2_and_matches_an_uninterrupted_run(
        setting, whole_search, tmp_path):
    whole, whole_dir = whole_search
    stopped = _search(setting, tmp_path / "stopped", epochs=2)
    real_save = stopped.checkpoint.save

    def save_then_die(state):
        real_save(state)
        raise KeyboardInterrupt  # the process is stopped right after epoch 1's checkpoint

    stopped.checkpoint.save = save_then_die
    with pytest.raises(KeyboardInterrupt):
        stopped.run()
    assert not (tmp_path / "stopped" / "search" / "arch.json").exists()

    resumed_search = _search(setting, tmp_path / "stopped", epochs=2)
    resumed = resumed_search.run()
    assert len(resumed_search.history) == 2
    history = read_json(tmp_path / "stopped" / "search" / "history.json")
    expected = read_json(whole_dir / "search" / "history.json")
    for got, want in zip(history, expected):
        for key in ("accuracy_and_loss/reward_mean", "accuracy_and_loss/reward_max", "controller/baseline", "accuracy_and_loss/shared_train_loss"):
            assert got[key] == pytest.approx(want[key], abs=1e-6), key
    assert resumed["architecture"] == whole["architecture"]
    assert resumed["reward"] == pytest.approx(whole["reward"], abs=1e-6)


def test_non_finite_rewards_are_reported_and_skipped(setting, tmp_path, monkeypatch):
    search = _search(setting, tmp_path, epochs=1)
    real = search._minibatch_reward
    calls = {"n": 0}

    def sometimes_nan(arch, index):
        calls["n"] += 1
        return float("nan") if calls["n"] % 2 else real(arch, index)

    monkeypatch.setattr(search, "_minibatch_reward", sometimes_nan)
    search.run()
    assert search.history[0]["controller/skipped_samples"] >= 4
    assert np.isfinite(search.history[0]["accuracy_and_loss/reward_mean"])
    assert np.isfinite(float(search.controller.baseline.numpy()))


def test_episodic_rewards_train_each_child(setting, tmp_path):
    result = _search(setting, tmp_path, epochs=1, reward="episodic", controller_steps=1,
                     samples_per_update=2, rescore_samples=1, rescore_top=1,
                     episode_epochs=1).run()
    assert result["reward_kind"] == "episodic validation accuracy"
    assert 0.0 <= result["reward"] <= 1.0
    assert len(result["candidates"]) >= 1


def test_levers_warmup_guard_random_candidates_and_standalone_rerank(setting, tmp_path,
                                                                    capsys):
    space = setting[0]
    search = _search(setting, tmp_path, epochs=2, uniform_warmup=0.5, bn_batches=1,
                     reward_batches=0, max_skips=0, rescore_random=3, rerank_top=2,
                     rerank_epochs=1, verbose=2)
    trained = []
    real_step = search.train_step

    def recording_step(x, y, arch):
        trained.append(tuple(int(a) for a in arch.numpy()))
        return real_step(x, y, arch)

    search.train_step = recording_step
    result = search.run()
    warmup, controlled = search.history
    assert "accuracy_and_loss/reward_mean" not in warmup and "accuracy_and_loss/reward_mean" in controlled
    assert len(trained) == 2 * search.steps_per_epoch
    assert len(set(trained[:search.steps_per_epoch])) > search.steps_per_epoch // 2
    for arch in trained + [space.from_json(result["architecture"])]:
        assert not any(any(row) for row in space.split(arch)[1])  # max_skips=0
    reranked = result["standalone_rerank"]
    assert len(reranked) == 2
    assert reranked[0]["standalone_accuracy"] >= reranked[1]["standalone_accuracy"]
    assert result["readable"] == reranked[0]["readable"]
    assert len(result["candidates"]) <= TINY["rescore_samples"] + TINY["rescore_top"] + 3
    sources = {entry["readable"]: entry["sources"] for entry in result["candidates"]}
    assert all(s and set(s) <= set(SOURCES) for s in sources.values())
    assert 1 <= sum("uniform_sample" in s for s in sources.values()) <= 3
    assert any("controller_sample" in s for s in sources.values())
    assert result["sources"] == sources[result["readable"]]
    # every phase shows its progress: each epoch, each final candidate with the best so
    # far, each re-ranked candidate with its standalone accuracy, the final scoring's time
    out, count = capsys.readouterr().out, len(result["candidates"])
    best = max(entry["reward"] for entry in result["candidates"])
    for line in ("Search epoch 1/2", "Search epoch 2/2", f"candidate 1/{count}: final score ",
                 f"candidate {count}/{count}: final score ", f"(best {best:.4f})",
                 "Re-ranking 1/2: ", "Re-ranking 2/2: ",
                 f"standalone validation accuracy {reranked[1]['standalone_accuracy']:.4f}",
                 f"final scoring of {count} candidates took "):
        assert line in out, line
    # the same candidates again: no candidate is scored or trained a second time
    search.validation_reward = search.train_step = None
    reward, best, scored, standalone = search.select_final(
        [(tuple(e["arch"]), e["sources"]) for e in result["candidates"]])
    assert (reward, tuple(best)) == (result["reward"],
                                     tuple(space.from_json(result["architecture"])))
    assert [entry["reward"] for entry in result["candidates"]] == [r for r, _, _ in scored]
    assert standalone == reranked


def test_the_candidate_pool_keeps_order_and_every_source_of_a_duplicate():
    pool = candidate_pool([("controller_sample", [(1, 2), (3, 4)]),
                           ("best_rewarded", [[3, 4], (5, 6)]),
                           ("uniform_sample", [(1, 2)])])
    assert pool == [((1, 2), ["controller_sample", "uniform_sample"]),
                    ((3, 4), ["controller_sample", "best_rewarded"]),
                    ((5, 6), ["best_rewarded"])]
    with pytest.raises(ValueError, match="unknown candidate source 'oracle'"):
        candidate_pool([("oracle", [(1,)])])
