"""Does the search's reward rank architectures like training them does? And does the search
pick an architecture that trains better than random ones?

On one dataset (default: the shipped natural images), the benchmark

1. samples ``archs`` architectures uniformly and trains each standalone with the final
   training's recipe for ``standalone_epochs`` epochs, ``standalone_seeds`` times, on the
   search's training split; their *validation* accuracy is the ground truth of the ranking;
2. runs the search (weight sharing with ``search_seeds`` seeds, and episodic with
   ``episodic_seeds`` seeds for comparison),
   then scores the random architectures with the search's own final score;
3. trains each search's pick the same way as the random architectures;

and reports Kendall's tau between reward and standalone validation accuracy, where the
picks fall among the random architectures (mean and standard error over search seeds,
percentile), and the wall time of each part. Test accuracies are measured once per trained
network and only reported; nothing is chosen with them.

Standalone results are cached per (architecture, recipe, seed) under
``<output_dir>/standalone``, so runs that compare search settings train the random
architectures once. Its command line is ``nases_tf.cli.ranking``, where every flag of
``bin/run_nases.py`` describes the search.
"""

import dataclasses
import hashlib
import json
import math
import os
import time

import numpy as np
from scipy import stats

from nases_tf.settings import check_settings, setting
from nases_tf.storage import fileio
from nases_tf.training.config import FinalConfig

KINDS = ("weight_sharing", "episodic")
TEST_NOTE = ("test accuracies are measured once per trained network and only reported; "
             "rankings and choices use validation accuracy")


@dataclasses.dataclass(frozen=True)
class RankingSettings:
    """What the ranking benchmark measures.

    Attributes:
        archs: random architectures trained standalone.
        arch_seed: seed of their sampling.
        standalone_epochs: training epochs of every standalone network.
        standalone_seeds: training seeds per architecture (1, 2, ...).
        search_seeds: weight-sharing searches (seeds 0, 1, ...).
        episodic_seeds: episodic searches for comparison (0: none).
        episodic_epochs: search epochs of an episodic search.
        episodic_controller_steps: controller steps per episodic search epoch.
    """

    archs: int = setting(12, at_least=2)  # tau needs pairs
    arch_seed: int = setting(1000, at_least=0)
    standalone_epochs: int = setting(10, at_least=1)
    standalone_seeds: int = setting(1, at_least=1)
    search_seeds: int = setting(3, at_least=1)
    episodic_seeds: int = setting(1, at_least=0)
    episodic_epochs: int = setting(1, at_least=1)
    episodic_controller_steps: int = setting(2, at_least=1)

    def __post_init__(self):
        check_settings(self)


def kendall_tau(x, y):
    """Kendall's tau-b of two equally long sequences (nan when either is constant).

    Args:
        x, y: sequences of numbers.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) != len(y):
        raise ValueError(f"kendall_tau needs equal lengths, got {len(x)} and {len(y)}")
    if len(np.unique(x)) < 2 or len(np.unique(y)) < 2:
        return float("nan")  # scipy says the same, after a warning
    return float(stats.kendalltau(x, y).statistic)


def mean_and_se(values):
    """(mean, standard error of the mean) of ``values`` (SE 0 for a single value)."""
    values = np.asarray(values, np.float64)
    se = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0
    return float(values.mean()), se


def percentile_among(value, others):
    """Percentage of ``others`` below ``value`` (ties count half)."""
    return float(stats.percentileofscore(np.asarray(others, np.float64), value, kind="mean"))


def sample_architectures(space, count, seed):
    """``count`` distinct uniformly sampled architectures (fewer if the space is smaller).

    Args:
        space: the search space.
        count: how many.
        seed: sampling seed.
    """
    rng = np.random.default_rng(seed)
    archs, seen = [], set()
    for _ in range(100 * count):
        arch = space.sample(rng)
        if arch not in seen:
            seen.add(arch)
            archs.append(arch)
            if len(archs) == count:
                break
    return archs


class StandaloneTrainer:
    """Trains architectures standalone on the search split, with a cache on disk.

    Each network trains on the search's training split with the final training's recipe
    (SGD + Nesterov, SGDR with its first cycle cut to the run when it is shorter, the same
    augmentation) and is evaluated on the validation split and once on the test split.

    Args:
        space: the search space.
        images: an ``ImageData``.
        epochs: training epochs.
        batch_size, filters, cutout: child settings.
        cache_dir: directory of the cached results.
    """

    def __init__(self, space, images, epochs, batch_size, filters, cutout, cache_dir):
        self.space, self.images, self.epochs = space, images, int(epochs)
        self.batch_size, self.filters, self.cutout = int(batch_size), int(filters), int(cutout)
        self.cache_dir = cache_dir
        self.split = images.search_split()
        self.trained_seconds = 0.0

    def _path(self, arch, seed):
        recipe = json.dumps({"space": self.space.config(), "arch": list(arch),
                             "epochs": self.epochs, "batch_size": self.batch_size,
                             "filters": self.filters, "cutout": self.cutout,
                             "data": self.images.source, "seed": int(seed),
                             "network": self._network_layout(arch)}, sort_keys=True)
        digest = hashlib.sha256(recipe.encode()).hexdigest()[:20]
        return os.path.join(self.cache_dir, f"{digest}.json")

    def _network_layout(self, arch):
        # The built network's layer types and weight shapes: a cached result of a network
        # the builders no longer make is not reused. (Weight paths hold Keras' per-process
        # name counters, so they are left out.)
        from nases_tf.networks import build_network

        model = build_network(self.space, arch, filters=self.filters,
                              num_classes=self.images.num_classes,
                              input_shape=self.images.image_shape)
        return [[type(layer).__name__, [list(w.shape) for w in layer.weights]]
                for layer in model.layers]

    def result(self, arch, seed):
        """Validation and test accuracy, parameters and seconds of ``arch`` trained with
        ``seed`` (from the cache when there)."""
        from nases_tf.networks import count_params
        from nases_tf.training import runtime
        from nases_tf.training.child import accuracy_on, fit_child

        path = self._path(arch, seed)
        if os.path.exists(path):
            return fileio.read_json(path, "standalone result")
        train_x, train_y, val_x, val_y = self.split
        runtime.set_seed(seed)
        start = time.time()
        model, mean, std = fit_child(
            self.space, arch, train_x, train_y, self.epochs, batch_size=self.batch_size,
            filters=self.filters, num_classes=self.images.num_classes, seed=seed,
            cutout=self.cutout,
            first_cycle_epochs=min(self.epochs, FinalConfig.first_cycle_epochs))
        seconds = time.time() - start
        self.trained_seconds += seconds
        result = {
            "val_accuracy": accuracy_on(model, val_x, val_y, self.batch_size, mean, std),
            "test_accuracy": accuracy_on(model, self.images.test_x, self.images.test_y,
                                         self.batch_size, mean, std),
            "params": count_params(model), "seconds": seconds, "seed": int(seed),
            "readable": self.space.readable(arch)}
        fileio.write_json(path, result)
        return result

    def summary(self, arch, seeds):
        """Per-seed results and their means for ``arch`` over training ``seeds``."""
        runs = [self.result(arch, seed) for seed in seeds]
        return {"arch": [int(c) for c in arch], "readable": self.space.readable(arch),
                "params": runs[0]["params"],
                "val_accuracy": [r["val_accuracy"] for r in runs],
                "test_accuracy": [r["test_accuracy"] for r in runs],
                "val_mean": float(np.mean([r["val_accuracy"] for r in runs])),
                "test_mean": float(np.mean([r["test_accuracy"] for r in runs]))}


def _run_search(kind, seed, space, images, work_dir, config_for):
    """One search of ``kind`` with ``seed``; returns (Search, arch.json content, seconds)."""
    from nases_tf.embedding.coder import load_or_pretrain
    from nases_tf.search.loop import Search
    from nases_tf.training import runtime

    out = os.path.join(work_dir, f"{kind}_seed{seed}")
    config, embedding, run = config_for(kind, seed)
    runtime.set_seed(run.seed)
    coder, _ = load_or_pretrain(space, os.path.join(out, "autoencoder"), embedding, run.seed,
                                verbose=run.verbose)
    search = Search(space, coder, images, out, config, embedding, run)
    start = time.time()
    result = search.run()
    return search, result, time.time() - start


# Ablations of the final scoring: on the same trained supernet, its shared weights as they
# are (no path fine-tuning), normalized by batch statistics or by re-estimated statistics;
# and the search's own fine-tuning started from a fresh supernet's initial weights instead
# of the trained ones (what the supernet's training adds to the fine-tuning alone).
SCORING_VARIANTS = {"batch_statistics": ("trained", {"bn_batches": 0, "finetune_steps": 0}),
                    "bn_reestimated": ("trained", {"bn_batches": 4, "finetune_steps": 0}),
                    "finetuned_from_initial_weights": ("initial", {})}


def _scoring_variants(search, archs):
    """Full-validation rewards of ``archs`` under each of ``SCORING_VARIANTS`` (how the
    scoring alone changes the ranking); the fine-tuning ablation only when the search
    fine-tunes."""
    import keras

    from nases_tf.networks import build_supernet
    from nases_tf.search.scoring import make_supernet_scorer

    out = {}
    for name, (weights, change) in SCORING_VARIANTS.items():
        config = dataclasses.replace(search.config, levers=dataclasses.replace(
            search.config.levers, **change))
        supernet = search.supernet
        if weights == "initial":
            if not config.levers.finetune_steps:
                continue
            keras.utils.set_random_seed(search.seed)
            supernet = build_supernet(search.space, filters=config.filters,
                                      num_classes=search.num_classes,
                                      input_shape=search.train_x.shape[1:])
        scorer = make_supernet_scorer(supernet, config, search.seed, search.search_split(),
                                      search.mean, search.std)
        out[name] = [scorer.full_reward(arch) for arch in archs]
    return out


# Ablations of where the final candidates come from, on the same trained supernet and with
# the same final scoring: the controller's last samples replaced by as many uniform samples,
# and every candidate the controller gave (its samples and the best-rewarded it saw) replaced.
CANDIDATE_ABLATIONS = ("uniform_for_controller_samples", "no_controller")


def ablation_pool(search, result, name):
    """The final candidates of ablation ``name`` (one of ``CANDIDATE_ABLATIONS``) of a
    search that returned ``result``: (arch, sources) pairs, the uniform samples extending
    the search's own uniform candidates."""
    from nases_tf.search.final_selection import candidate_pool, final_random_candidates

    cfg = search.config
    count = cfg.levers.rescore_random + cfg.rescore_samples
    groups = []
    if name == "uniform_for_controller_samples":
        groups.append(("best_rewarded", [tuple(c["arch"]) for c in result["candidates"]
                                         if "best_rewarded" in c["sources"]]))
    elif name == "no_controller":
        count += cfg.rescore_top
    else:
        raise ValueError(f"unknown candidate ablation {name!r}, expected one of "
                         f"{CANDIDATE_ABLATIONS}")
    groups.append(("uniform_sample",
                   final_random_candidates(search.space, search.guard, count, search.seed)))
    return candidate_pool(groups)


def _source_summary(result):
    """Per candidate source: how many candidates, their mean final score, and whether the
    returned architecture is among them."""
    out = {}
    for entry in result["candidates"]:
        for source in entry["sources"]:
            out.setdefault(source, []).append(entry["reward"])
    return {source: {"candidates": len(scores), "mean_final_score": float(np.mean(scores)),
                     "returned": source in result["sources"]}
            for source, scores in out.items()}


def _candidate_ablations(search, result, trainer, seeds):
    """The pick of each of ``CANDIDATE_ABLATIONS`` on the search's trained supernet, and
    that pick trained standalone like the random architectures."""
    for entry in result["candidates"]:  # a resumed search scored them in an earlier process
        search.final_scores.setdefault(tuple(entry["arch"]), entry["reward"])
    for entry in result.get("standalone_rerank", []):
        search.reranked.setdefault(tuple(entry["arch"]), entry["standalone_accuracy"])
    out = {}
    for name in CANDIDATE_ABLATIONS:
        reward, arch, scored, _ = search.select_final(ablation_pool(search, result, name))
        out[name] = {"pick": trainer.summary(arch, seeds), "pick_reward": reward,
                     "candidates": len(scored)}
    return out


def _compare(picks, randoms, key):
    """Where the picks' mean ``key`` accuracy falls among the random architectures'."""
    pick_mean, pick_se = mean_and_se([p[key] for p in picks])
    rand_mean, rand_se = mean_and_se([r[key] for r in randoms])
    se = math.sqrt(pick_se ** 2 + rand_se ** 2)
    return {"pick_mean": pick_mean, "pick_se": pick_se, "random_mean": rand_mean,
            "random_se": rand_se,
            "margin_in_se": (pick_mean - rand_mean) / se if se > 0 else float("nan"),
            "pick_percentile": percentile_among(pick_mean, [r[key] for r in randoms]),
            "pick_percentiles": [percentile_among(p[key], [r[key] for r in randoms])
                                 for p in picks]}


def _evaluate_search(kind, seed, space, images, work_dir, config_for, trainer, randoms,
                     seeds):
    """One search: its pick trained standalone, its rewards of the random architectures and
    their taus; returns (run dict, seconds per part)."""
    search, result, took = _run_search(kind, seed, space, images, work_dir, config_for)
    archs = [tuple(r["arch"]) for r in randoms]
    val = [r["val_mean"] for r in randoms]
    start = time.time()
    rewards = [search.validation_reward(arch) for arch in archs]
    scoring = time.time() - start
    start = time.time()
    pick = trainer.summary(space.from_json(result["architecture"]), seeds)
    picks = time.time() - start
    run = {"seed": seed, "pick": pick, "pick_reward": result["reward"],
           "random_rewards": rewards, "search_seconds": took,
           "kendall_tau": kendall_tau(rewards, val),
           "kendall_tau_with_pick": kendall_tau(rewards + [result["reward"]],
                                                val + [pick["val_mean"]])}
    start = time.time()
    if "sources" in result:
        run["sources"] = _source_summary(result)
        if kind == "weight_sharing":
            run["candidate_ablations"] = _candidate_ablations(search, result, trainer, seeds)
    ablations = time.time() - start
    if kind == "weight_sharing":
        run["scoring_variants"] = {
            name: {"rewards": variant, "kendall_tau": kendall_tau(variant, val)}
            for name, variant in _scoring_variants(search, archs).items()}
    return run, {"search": took, "scoring_random": scoring, "standalone_picks": picks,
                 "candidate_ablations": ablations}


def run_benchmark(space, images, settings, config_for, work_dir, cache_dir=None, log=print):
    """Runs the ranking benchmark; returns the report (a JSON-able dict).

    Args:
        space: the search space.
        images: an ``ImageData``.
        settings: a ``RankingSettings``.
        config_for: function (kind, seed) -> (``SearchConfig``, ``EmbeddingConfig``,
            ``RuntimeConfig``) of that search.
        work_dir: directory of the searches (and of the standalone cache by default).
        cache_dir: directory of the standalone cache (None: ``<work_dir>/standalone``).
        log: function printing one progress line.
    """
    total_start = time.time()
    base = config_for("weight_sharing", 0)[0]
    trainer = StandaloneTrainer(space, images, settings.standalone_epochs, base.batch_size,
                                base.filters, base.cutout,
                                cache_dir or os.path.join(work_dir, "standalone"))
    seeds = list(range(1, settings.standalone_seeds + 1))
    archs = sample_architectures(space, settings.archs, settings.arch_seed)
    start = time.time()
    randoms = []
    for k, arch in enumerate(archs):
        randoms.append(trainer.summary(arch, seeds))
        log(f"random {k + 1}/{len(archs)}: val {randoms[-1]['val_mean']:.3f} "
            f"{randoms[-1]['readable']}")
    seconds = {"standalone_random": time.time() - start}
    searches, summary = {}, {}
    for kind, count in (("weight_sharing", settings.search_seeds),
                        ("episodic", settings.episodic_seeds)):
        runs, times = [], {"search": 0.0, "scoring_random": 0.0, "standalone_picks": 0.0,
                           "candidate_ablations": 0.0}
        for seed in range(count):
            run, took = _evaluate_search(kind, seed, space, images, work_dir, config_for,
                                         trainer, randoms, seeds)
            runs.append(run)
            for part, value in took.items():
                times[part] += value
            log(f"{kind} seed {seed}: tau {run['kendall_tau']:.2f}, pick val "
                f"{run['pick']['val_mean']:.3f} test {run['pick']['test_mean']:.3f}: "
                f"{run['pick']['readable']}")
            for name, ablation in run.get("candidate_ablations", {}).items():
                log(f"  {name}: pick val {ablation['pick']['val_mean']:.3f} test "
                    f"{ablation['pick']['test_mean']:.3f}: {ablation['pick']['readable']}")
        if not runs:
            continue
        searches[kind] = runs
        picks = [r["pick"] for r in runs]
        taus = [r["kendall_tau"] for r in runs]
        summary[kind] = {
            "kendall_tau_mean": float(np.nanmean(taus)), "kendall_taus": taus,
            "validation": _compare(picks, randoms, "val_mean"),
            "test": _compare(picks, randoms, "test_mean")}
        ablated = [r for r in runs if "candidate_ablations" in r]
        if ablated:
            summary[kind]["candidate_ablations"] = {
                name: _compare_ablation(ablated, name, randoms) for name in CANDIDATE_ABLATIONS}
        with_sources = [r["sources"] for r in runs if "sources" in r]
        if with_sources:
            summary[kind]["sources"] = _sources_over_seeds(with_sources)
        variants = [r["scoring_variants"] for r in runs if "scoring_variants" in r]
        if variants:
            summary[kind]["scoring_variant_tau_means"] = {
                name: float(np.nanmean([v[name]["kendall_tau"] for v in variants]))
                for name in variants[0]}
        seconds.update({f"{part}_{kind}": value for part, value in times.items()})
    seconds["total"] = time.time() - total_start
    return {"dataset": images.source, "space": space.config(),
            "settings": dataclasses.asdict(settings),
            "search_config": dataclasses.asdict(base),
            "random": randoms,
            "random_summary": _random_summary(randoms),
            "searches": searches, "summary": summary, "seconds": seconds,
            "test_note": TEST_NOTE}


def _compare_ablation(runs, name, randoms):
    """Ablation ``name``'s picks against the random architectures, and the default's picks
    minus the ablation's, paired by search seed (mean and SE of the differences)."""
    picks = [r["candidate_ablations"][name]["pick"] for r in runs]
    out = {"validation": _compare(picks, randoms, "val_mean"),
           "test": _compare(picks, randoms, "test_mean"),
           "same_pick": int(sum(r["candidate_ablations"][name]["pick"]["arch"]
                                == r["pick"]["arch"] for r in runs))}
    for split in ("val", "test"):
        out[f"default_minus_ablation_{split}"] = mean_and_se(
            [r["pick"][f"{split}_mean"] - r["candidate_ablations"][name]["pick"][f"{split}_mean"]
             for r in runs])
    return out


def _sources_over_seeds(per_seed):
    """Per source, over the searches: mean of the candidates' mean final score, and how many
    searches returned one of its candidates."""
    names = sorted({source for seed in per_seed for source in seed})
    return {name: {"mean_final_score": float(np.mean([seed[name]["mean_final_score"]
                                                      for seed in per_seed if name in seed])),
                   "returned": int(sum(seed.get(name, {}).get("returned", False)
                                       for seed in per_seed)),
                   "searches": len(per_seed)}
            for name in names}


def _random_summary(randoms):
    out = {}
    for split in ("val", "test"):
        out[f"{split}_mean"], out[f"{split}_se"] = mean_and_se(
            [r[f"{split}_mean"] for r in randoms])
    return out


def format_report(report):
    """The report as a few readable lines (the summary table)."""
    lines = [f"dataset {report['dataset']}, {len(report['random'])} random architectures: "
             f"val {report['random_summary']['val_mean']:.3f} +- "
             f"{report['random_summary']['val_se']:.3f}, test "
             f"{report['random_summary']['test_mean']:.3f} +- "
             f"{report['random_summary']['test_se']:.3f}",
             "| search | seeds | tau (mean) | pick val | percentile | margin/SE | pick test "
             "| percentile | margin/SE |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for kind, s in report["summary"].items():
        v, t = s["validation"], s["test"]
        lines.append(
            f"| {kind} | {len(report['searches'][kind])} | {s['kendall_tau_mean']:.2f} | "
            f"{v['pick_mean']:.3f} +- {v['pick_se']:.3f} | {v['pick_percentile']:.0f} | "
            f"{v['margin_in_se']:.1f} | {t['pick_mean']:.3f} +- {t['pick_se']:.3f} | "
            f"{t['pick_percentile']:.0f} | {t['margin_in_se']:.1f} |")
    for kind, s in report["summary"].items():
        for name, a in s.get("candidate_ablations", {}).items():
            v, t = a["validation"], a["test"]
            dv, dt = a["default_minus_ablation_val"], a["default_minus_ablation_test"]
            lines.append(
                f"| {kind}, {name} | {len(report['searches'][kind])} | | "
                f"{v['pick_mean']:.3f} +- {v['pick_se']:.3f} | {v['pick_percentile']:.0f} | "
                f"{v['margin_in_se']:.1f} | {t['pick_mean']:.3f} +- {t['pick_se']:.3f} | "
                f"{t['pick_percentile']:.0f} | {t['margin_in_se']:.1f} |")
            lines.append(f"  default minus {name}, paired by seed: val {dv[0]:+.3f} +- "
                         f"{dv[1]:.3f}, test {dt[0]:+.3f} +- {dt[1]:.3f}; same pick in "
                         f"{a['same_pick']} of {len(report['searches'][kind])}")
        for name, src in s.get("sources", {}).items():
            lines.append(f"  {kind} candidates from {name}: mean final score "
                         f"{src['mean_final_score']:.3f}, returned in {src['returned']} of "
                         f"{src['searches']} searches")
    for kind, s in report["summary"].items():
        if "scoring_variant_tau_means" in s:
            lines.append(f"{kind} scoring ablations on the same supernets, tau (mean): " +
                         ", ".join(f"{name} {tau:.2f}" for name, tau in
                                   s["scoring_variant_tau_means"].items()))
    lines.append("seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in report["seconds"].items()))
    return "\n".join(lines)


def write_plot(report, path):
    """Scatter of search reward against standalone validation accuracy, one panel per
    search kind, written atomically; returns a one-line note (why it was skipped, or
    where it went)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return f"plot skipped: matplotlib is not installed ({path} not written)"
    kinds = list(report["searches"])
    fig, axes = plt.subplots(1, max(1, len(kinds)), figsize=(5 * max(1, len(kinds)), 4),
                             squeeze=False)
    val = [r["val_mean"] for r in report["random"]]
    for ax, kind in zip(axes[0], kinds):
        for run in report["searches"][kind]:
            points = ax.scatter(
                run["random_rewards"], val, s=18, alpha=0.7,
                label=f"random, seed {run['seed']} (tau {run['kendall_tau']:.2f})")
            ax.scatter([run["pick_reward"]], [run["pick"]["val_mean"]], marker="*", s=160,
                       color=points.get_facecolor()[0], edgecolors="black")
        ax.set_xlabel(f"{kind} search reward")
        ax.set_ylabel("standalone validation accuracy")
        ax.set_title(f"{kind} (stars: the search's picks)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fileio.atomic_write(path, lambda tmp: fig.savefig(
        tmp, format=os.path.splitext(path)[1][1:] or "png", dpi=120))
    plt.close(fig)
    return f"plot written to {path}"
