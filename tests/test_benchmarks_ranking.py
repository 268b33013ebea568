"""The ranking benchmark: its statistics, and one tiny run end to end on real images."""

import dataclasses
import json
import math

import numpy as np
import pytest

from nases_tf import data
from nases_tf.benchmarks import ranking
from nases_tf.embedding.config import EmbeddingConfig
from nases_tf.search.config import SearchConfig
from nases_tf.search.schedules import Levers
from nases_tf.spaces import MacroSpace
from nases_tf.training.config import RuntimeConfig
from nases_tf.storage import fileio


def test_kendall_tau_percentile_and_standard_error():
    assert ranking.kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert ranking.kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # 5 concordant and 1 discordant pair of 6: (5 - 1) / 6
    assert ranking.kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    # tau-b with a tie in x: (C - D) / sqrt((n0 - n1)(n0 - n2)) = 5 / sqrt(5 * 6)
    assert ranking.kendall_tau([1, 1, 2, 3], [1, 2, 3, 4]) == pytest.approx(5 / math.sqrt(30))
    assert math.isnan(ranking.kendall_tau([1, 1, 1], [1, 2, 3]))
    assert ranking.percentile_among(0.5, [0.1, 0.5, 0.9, 0.2]) == pytest.approx(62.5)
    mean, se = ranking.mean_and_se([1.0, 2.0, 3.0])
    assert mean == 2.0 and se == pytest.approx(1 / math.sqrt(3))
    assert ranking.mean_and_se([0.4]) == (0.4, 0.0)


@pytest.mark.slow
def test_tiny_benchmark_runs_end_to_end_and_reports_every_field(natural_npz, tmp_path):
    space = MacroSpace(2)
    full = data.load_images(f"npz:{natural_npz}")
    # 640 training photos: 9 search-training batches of 64 and 1 validation batch
    images = data.ImageData(full.train_x[:640], full.train_y[:640], full.test_x[:128],
                            full.test_y[:128], full.num_classes, full.source)
    settings = ranking.RankingSettings(archs=2, standalone_epochs=1, standalone_seeds=1,
                                       search_seeds=1, episodic_seeds=1, episodic_epochs=1,
                                       episodic_controller_steps=1)
    base = SearchConfig(epochs=1, batch_size=64, filters=4, controller_steps=1,
                        rescore_samples=2, rescore_top=1, levers=Levers(finetune_steps=2))
    embedding = EmbeddingConfig(coder="mlp", embedding_dim=2, pretrain_steps=20,
                                samples_per_update=2)

    def config_for(kind, seed):
        return (dataclasses.replace(base, reward=kind), embedding,
                RuntimeConfig(seed=seed, verbose=0))

    report = ranking.run_benchmark(space, images, settings, config_for, str(tmp_path),
                                   log=lambda line: None)
    path = tmp_path / "ranking.json"
    fileio.write_json(str(path), report)
    saved = fileio.read_json(str(path), "report")
    assert len(saved["random"]) == 2
    for entry in saved["random"]:
        assert 0 <= entry["val_mean"] <= 1 and 0 <= entry["test_mean"] <= 1
        assert entry["params"] > 0
    assert set(saved["summary"]) == {"weight_sharing", "episodic"}
    for kind, summary in saved["summary"].items():
        run = saved["searches"][kind][0]
        assert len(run["random_rewards"]) == 2
        assert -1 <= summary["kendall_tau_mean"] <= 1 or np.isnan(summary["kendall_tau_mean"])
        for split in ("validation", "test"):
            assert {"pick_mean", "pick_se", "random_mean", "random_se", "margin_in_se",
                    "pick_percentile"} <= set(summary[split])
            assert 0 <= summary[split]["pick_percentile"] <= 100
    for part in ("standalone_random", "search_weight_sharing", "scoring_random_weight_sharing",
                 "standalone_picks_weight_sharing", "search_episodic", "total"):
        assert saved["seconds"][part] >= 0
    assert "test" in saved["test_note"]
    assert set(saved["summary"]["weight_sharing"]["scoring_variant_tau_means"]) == set(
        ranking.SCORING_VARIANTS)
    ablations = saved["searches"]["weight_sharing"][0]["candidate_ablations"]
    assert set(ablations) == set(ranking.CANDIDATE_ABLATIONS)
    for ablation in ablations.values():
        assert 0 <= ablation["pick"]["val_mean"] <= 1 and ablation["candidates"] >= 1
    compared = saved["summary"]["weight_sharing"]["candidate_ablations"]["no_controller"]
    assert len(compared["default_minus_ablation_val"]) == 2 and compared["same_pick"] in (0, 1)
    sources = saved["summary"]["weight_sharing"]["sources"]
    assert {"controller_sample", "best_rewarded"} <= set(sources)
    assert sum(s["returned"] for s in sources.values()) >= 1
    assert "|" in ranking.format_report(saved)
    assert "default minus no_controller" in ranking.format_report(saved)
    assert "scoring ablations" in ranking.format_report(saved)
    # the random architectures' cache: read back, nothing trained again
    cached = {p: p.stat().st_mtime_ns for p in (tmp_path / "standalone").iterdir()}
    trainer = ranking.StandaloneTrainer(space, images, settings.standalone_epochs,
                                        base.batch_size, base.filters, base.cutout,
                                        str(tmp_path / "standalone"))
    again = [trainer.summary(arch, [1]) for arch in
             ranking.sample_architectures(space, settings.archs, settings.arch_seed)]
    assert json.loads(json.dumps(again)) == saved["random"] and trainer.trained_seconds == 0
    assert all(p.stat().st_mtime_ns == mtime for p, mtime in cached.items())
