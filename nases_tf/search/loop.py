"""Stage 2 (Alg. 1 lines 3-12): the NASES search loop over the embedding space.

Weight sharing (default, ENAS's schedule): each epoch trains the supernet's shared weights
on the search-training split, one controller-drawn architecture per minibatch, then runs
controller steps whose rewards are validation-minibatch accuracies of the drawn
architectures. Episodic (Alg. 1 read literally): every drawn architecture is built alone and
trained ``episode_epochs`` epochs. Either way, the result is the best architecture after
re-scoring candidates on the whole validation split, written to ``search/arch.json``.

What the weight-sharing search does beyond ENAS's schedule lives in modules of its own: which
path each shared-weight step takes (``path_sampling``), how the supernet scores a path
(``scoring``), guards against overrated architectures (``guards``) and how the final
candidates become one result (``final_selection``); ``schedules`` names settings.
"""

import dataclasses
import os
import time

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from nases_tf import drawing, notices
from nases_tf.data import pipeline
from nases_tf.embedding.chains import Chains
from nases_tf.embedding.config import DEFAULTS as EMBEDDING_DEFAULTS
from nases_tf.embedding.controller import EmbeddingController
from nases_tf.search.final_selection import (candidate_pool, final_random_candidates,
                                             standalone_rerank)
from nases_tf.search.guards import ArchGuard
from nases_tf.search.path_sampling import in_uniform_warmup, training_paths
from nases_tf.search.schedules import final_scoring_levers
from nases_tf.storage import checkpoints, fileio
from nases_tf.training import sgdr
from nases_tf.training.child import train_and_score
from nases_tf.training.config import RuntimeConfig


# The per-epoch picture: the controller's best minibatch-rewarded architecture so far, which
# the final scoring may well turn down (``result/architecture`` is what the search returns).
BEST_REWARDED_IMAGE = "controller/best_rewarded_architecture"


def arch_key(arch):
    """A compact string key of an architecture vector."""
    return ",".join(str(int(c)) for c in arch)


class _RewardTracker:
    """Every architecture rewarded so far: running mean reward and count."""

    def __init__(self, state=None):
        self.seen = dict(state or {})

    def add(self, arch, reward):
        if not np.isfinite(reward):
            return
        total, count = self.seen.get(arch_key(arch), (0.0, 0))
        self.seen[arch_key(arch)] = (total + float(reward), count + 1)

    def best(self, k):
        ranked = sorted(self.seen.items(), key=lambda kv: -kv[1][0] / kv[1][1])
        return [tuple(int(c) for c in key.split(",")) for key, _ in ranked[:k]]

    def state(self):
        return {k: list(v) for k, v in self.seen.items()}


# The scalars a user looks at first share a group whose name TensorBoard sorts first.
_DESCRIPTIONS = {
    "accuracy_and_loss/reward_mean": "mean controller reward of the epoch: validation "
                                     "minibatch accuracy on the shared weights",
    "accuracy_and_loss/reward_max": "best controller reward of the epoch (a minibatch score, "
                                    "not the final score of result/final_score)",
    "accuracy_and_loss/shared_train_loss": "the supernet's training loss over the epoch",
    "accuracy_and_loss/shared_train_accuracy": "the supernet's training accuracy over the "
                                               "epoch",
}


def _macro_summaries(space, archs):
    """Op frequencies and skip density of a batch of macro architectures."""
    if space.name != "macro":
        return {}
    from nases_tf.spaces.macro import MACRO_OPS
    ops, skip_bits = [], []
    for arch in archs:
        o, s = space.split(arch)
        ops.extend(o)
        skip_bits.extend(b for row in s for b in row)
    out = {f"ops/{name}": float(np.mean(np.asarray(ops) == i)) for i, name in enumerate(MACRO_OPS)}
    out["skip_density"] = float(np.mean(skip_bits)) if skip_bits else 0.0
    return out


class Search:
    """One NASES search run: supernet (weight sharing) or episodic rewards, the controller,
    checkpoints every epoch, TensorBoard summaries.

    Args:
        space: the search space.
        coder: a pretrained ``Coder`` of ``space``.
        images: an ``ImageData``; its training split is cut 90/10 into search train/val.
        output_dir: the run's output directory (writes ``search/`` and ``tensorboard/search``).
        config: a ``SearchConfig``.
        embedding: the controller's settings (an ``EmbeddingConfig``; its
            ``samples_per_update`` chains each give one architecture per update).
        runtime: a ``RuntimeConfig`` (its ``seed`` and ``verbose`` are used).
    """

    def __init__(self, space, coder, images, output_dir, config, embedding=EMBEDDING_DEFAULTS,
                 runtime=RuntimeConfig()):
        self.guard = ArchGuard(space, config.levers.max_skips,
                               config.levers.max_parameter_free)
        self.space, self.coder, self.config = space, coder, config
        self.seed, self.verbose = runtime.seed, runtime.verbose
        self.output_dir = output_dir
        self.search_dir = os.path.join(output_dir, "search")
        self.train_x, self.train_y, self.val_x, self.val_y = images.search_split()
        self.num_classes = images.num_classes
        for split, what in ((self.train_x, "search training split"),
                            (self.val_x, "search validation split")):
            pipeline.check_batchable(split, config.batch_size, what, "SearchConfig.batch_size")
        self.mean, self.std = pipeline.channel_stats(self.train_x)
        self.steps_per_epoch = len(self.train_x) // config.batch_size
        self.asked_levers = config.levers
        config = dataclasses.replace(config, levers=final_scoring_levers(
            config.levers, config.epochs * self.steps_per_epoch, self.steps_per_epoch,
            config.final_candidates))
        self.config = config
        self.controller = EmbeddingController(
            coder.simulator, coder.decoder, num_chains=embedding.samples_per_update,
            learning_rate=embedding.controller_learning_rate,
            baseline_decay=embedding.baseline_decay, entropy_weight=embedding.entropy_weight,
            initial_sigma=embedding.initial_sigma, seed=self.seed)
        self.chains = Chains(self.controller, config.chain_mode)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="search_epoch")
        objects = {"epoch": self.epoch, **{f"controller_{k}": v for k, v in
                                          self.controller.trackables().items()}}
        if config.reward == "weight_sharing":
            self._build_supernet()
            # Keras keeps the op layers in lists a tf.train.Checkpoint cannot see: every
            # variable (BN moving statistics included) is tracked by its position instead
            # (the supernet's variable order is fixed by its space and sizes).
            objects.update(supernet=self.supernet, supernet_optimizer=self.optimizer,
                           supernet_variables={f"v{i}": v for i, v in
                                               enumerate(self.supernet.variables)})
        self.checkpoint = checkpoints.RunCheckpoint(
            os.path.join(self.search_dir, "checkpoints"), **objects)
        self.writer = tf.summary.create_file_writer(
            os.path.join(output_dir, "tensorboard", "search"))
        self.tracker = _RewardTracker()
        self.history = []
        # Final scores and standalone re-ranking accuracies by architecture (one search
        # scores an architecture once, whichever candidate list it is in).
        self.final_scores, self.reranked = {}, {}
        self.controller_seconds = 0.0
        self.total_seconds = 0.0

    def _build_supernet(self):
        from nases_tf.networks import build_supernet
        from nases_tf.search.scoring import make_supernet_scorer

        self.supernet = build_supernet(self.space, filters=self.config.filters,
                                       num_classes=self.num_classes,
                                       input_shape=self.train_x.shape[1:])
        self.optimizer = sgdr.child_optimizer(self.steps_per_epoch)
        self.optimizer.build(self.supernet.trainable_variables)
        self.train_step = self.supernet.make_train_step(self.optimizer,
                                                        batch_size=self.config.batch_size)
        self.scorer = make_supernet_scorer(self.supernet, self.config, self.seed,
                                           self.search_split(), self.mean, self.std)

    # -- rewards --------------------------------------------------------------------------

    def _minibatch_reward(self, arch, index):
        return self.scorer.minibatch_reward(arch, index)

    def validation_reward(self, arch):
        """The search's final score of ``arch``: its accuracy on the whole validation split
        (on the shared weights, or after its own episode of training)."""
        if self.config.reward == "episodic":
            return self._episodic_reward(arch)
        return self.scorer.full_reward(arch)

    def _episodic_reward(self, arch):
        key = arch_key(arch)
        if key in self._episode_cache:
            return self._episode_cache[key]
        reward = train_and_score(
            self.space, arch, self.train_x, self.train_y, self.val_x, self.val_y,
            epochs=self.config.episode_epochs, batch_size=self.config.batch_size,
            filters=self.config.filters, num_classes=self.num_classes, seed=self.seed)
        self._episode_cache[key] = reward
        return reward

    # -- the loop -------------------------------------------------------------------------

    def search_split(self):
        """(train_x, train_y, val_x, val_y): the search's training and validation split."""
        return self.train_x, self.train_y, self.val_x, self.val_y

    def _train_shared_weights(self, epoch):
        cfg = self.config
        start = time.time()
        archs = training_paths(self.space, self.controller, self.guard, cfg, self.seed, epoch,
                               self.steps_per_epoch)
        self.controller_seconds += time.time() - start
        batches = pipeline.train_batches(self.train_x, self.train_y, cfg.batch_size, self.seed,
                                     self.mean, self.std, first_epoch=epoch,
                                     last_epoch=epoch + 1, cutout=cfg.cutout)
        bar = keras.utils.Progbar(self.steps_per_epoch, verbose=self.verbose,
                                  stateful_metrics=["lr"])
        losses, accs, bad = [], [], 0
        for step, (x, y) in enumerate(batches):
            loss, acc = self.train_step(x, y, tf.constant(archs[step]))
            loss, acc = float(loss), float(acc)
            if not np.isfinite(loss):
                bad += 1
                logging.warning("epoch %d step %d: non-finite shared-weight loss (%s) for %s",
                                epoch + 1, step, loss, self.space.readable(archs[step]))
                continue
            losses.append(loss)
            accs.append(acc)
            bar.update(step + 1, [("loss", loss), ("accuracy", acc)])
        return {"accuracy_and_loss/shared_train_loss": float(np.mean(losses)) if losses else float("nan"),
                "accuracy_and_loss/shared_train_accuracy": float(np.mean(accs)) if accs else float("nan"),
                "shared/non_finite_losses": bad,
                "shared/learning_rate": float(self.optimizer.learning_rate)}

    def _controller_steps(self, epoch):
        cfg = self.config
        infos, rewards_all, archs_all = [], [], []
        for k in range(cfg.controller_steps):
            t0 = time.time()
            states, embeddings, decoded = self.chains.propose_all()
            self.controller_seconds += time.time() - t0
            archs = np.asarray(self.guard.batch(self.space.decode_batch(decoded)))
            rewards = []
            for c, arch in enumerate(archs):
                if cfg.reward == "weight_sharing":
                    index = (epoch * cfg.controller_steps + k) * len(archs) + c
                    rewards.append(self._minibatch_reward(arch, index))
                else:
                    rewards.append(self._episodic_reward(tuple(int(a) for a in arch)))
            rewards = np.asarray(rewards, np.float64)
            if not np.all(np.isfinite(rewards)):
                logging.warning("epoch %d controller step %d: %d non-finite rewards dropped",
                                epoch + 1, k, int((~np.isfinite(rewards)).sum()))
            t0 = time.time()
            info = self.controller.update(states, embeddings, rewards)
            for c, (arch, r) in enumerate(zip(archs, rewards)):
                self.chains.observe(c, self.space.encode(arch), r)
            self.controller_seconds += time.time() - t0
            for arch, r in zip(archs, rewards):
                self.tracker.add(arch, r)
            infos.append(info)
            rewards_all.extend(rewards[np.isfinite(rewards)].tolist())
            archs_all.extend(archs.tolist())
        applied = [i for i in infos if i["applied"]]
        summary = {
            "accuracy_and_loss/reward_mean": float(np.mean(rewards_all)) if rewards_all else float("nan"),
            "accuracy_and_loss/reward_max": float(np.max(rewards_all)) if rewards_all else float("nan"),
            "controller/baseline": infos[-1]["baseline"] if infos else 0.0,
            "controller/entropy": self.controller.entropy(),
            "controller/sigma": float(self.controller.sigma.mean()),
            "controller/loss": float(np.mean([i["loss"] for i in applied])) if applied else float("nan"),
            "controller/skipped_samples": int(sum(i["skipped"] for i in infos)),
        }
        summary.update({f"archs/{k}": v for k, v in _macro_summaries(self.space, archs_all).items()})
        return summary

    def _log(self, epoch, metrics):
        with self.writer.as_default(step=epoch + 1):
            for name, value in metrics.items():
                if isinstance(value, (int, float)) and np.isfinite(value):
                    tf.summary.scalar(name, value, description=_DESCRIPTIONS.get(name))
        self.writer.flush()

    def run(self):
        """Runs (or resumes) the search; writes and returns ``search/arch.json``'s content."""
        cfg = self.config
        self._episode_cache = {}
        arch_path = os.path.join(self.search_dir, "arch.json")
        state = self.checkpoint.restore()
        if os.path.exists(arch_path) and int(self.epoch.numpy()) >= cfg.epochs:
            notices.say("search already finished: %s", arch_path)
            return fileio.read_json(arch_path, "search result")
        if state:
            self.tracker = _RewardTracker({k: tuple(v) for k, v in state["seen"].items()})
            self.chains.set_state(state.get("chains", {}))
            self.history = state["history"]
            self._episode_cache = state.get("episode_cache", {})
            self.controller_seconds = state.get("controller_seconds", 0.0)
            self.total_seconds = state.get("total_seconds", 0.0)
            notices.say("resuming the search at epoch %d of %d", int(self.epoch.numpy()) + 1,
                         cfg.epochs)
        while int(self.epoch.numpy()) < cfg.epochs:
            epoch = int(self.epoch.numpy())
            start = time.time()
            if self.verbose:
                print(f"Search epoch {epoch + 1}/{cfg.epochs}")
            metrics = {}
            if cfg.reward == "weight_sharing":
                metrics.update(self._train_shared_weights(epoch))
            if not in_uniform_warmup(cfg, epoch):
                metrics.update(self._controller_steps(epoch))
            self.total_seconds += time.time() - start
            metrics["time/controller_share"] = (self.controller_seconds / self.total_seconds
                                                if self.total_seconds else 0.0)
            self._log(epoch, metrics)
            if self.tracker.seen and drawing.drawable(self.space):  # best so far, as an image
                drawing.log_architecture_image(self.space, self.tracker.best(1)[0], epoch + 1,
                                               self.writer, name=BEST_REWARDED_IMAGE)
            self.history.append({"epoch": epoch + 1, **metrics})
            if "accuracy_and_loss/reward_mean" in metrics:
                logging.info("search epoch %d: reward mean %.4f max %.4f, baseline %.4f, "
                             "sigma %.3f", epoch + 1, metrics["accuracy_and_loss/reward_mean"],
                             metrics["accuracy_and_loss/reward_max"], metrics["controller/baseline"],
                             metrics["controller/sigma"])
            self.epoch.assign(epoch + 1)
            self.checkpoint.save({
                "seen": self.tracker.state(), "history": self.history,
                "chains": self.chains.get_state(),
                "episode_cache": self._episode_cache,
                "controller_seconds": self.controller_seconds,
                "total_seconds": self.total_seconds})
        return self._finish()

    def _score_candidates(self, pool):
        """(final score, arch, sources) of each candidate of ``pool``, with a progress line
        or bar per candidate; a candidate this search scored before keeps its score."""
        steps = self.config.levers.finetune_steps if self.config.reward != "episodic" else 0
        if self.verbose:
            print(f"Final scoring: {len(pool)} candidates on the validation split"
                  + (f", each path fine-tuned {steps} steps first" if steps else ""))
            asked, levers = self.asked_levers, self.config.levers
            if (asked.finetune_steps, asked.rerank_top) != (levers.finetune_steps,
                                                             levers.rerank_top):
                print(f"  (within the final-scoring budget of {levers.final_budget:g} x the "
                      f"search's {self.config.epochs * self.steps_per_epoch} training steps: "
                      f"{levers.finetune_steps} of {asked.finetune_steps} fine-tuning steps, "
                      f"{levers.rerank_top} of {asked.rerank_top} re-ranked)")
        bar = keras.utils.Progbar(len(pool), verbose=1 if self.verbose == 1 else 0,
                                  stateful_metrics=["final_score", "best"])
        scored = []
        for i, (arch, sources) in enumerate(pool):
            if arch not in self.final_scores:
                self.final_scores[arch] = self.validation_reward(arch)
            scored.append((self.final_scores[arch], arch, sources))
            best = max(r for r, _, _ in scored)
            bar.update(i + 1, [("final_score", scored[-1][0]), ("best", best)])
            if self.verbose == 2:
                print(f"candidate {i + 1}/{len(pool)}: final score {scored[-1][0]:.4f} "
                      f"(best {best:.4f})", flush=True)
        return scored

    def final_pool(self):
        """The final candidates, each once with where it came from: (arch, sources) pairs
        of the controller's last samples, the best-rewarded seen and uniform samples."""
        cfg = self.config
        _, decoded = self.controller.sample(
            np.resize(self.controller.chains.numpy(),
                      (cfg.rescore_samples, self.space.num_decisions)))
        return candidate_pool([
            ("controller_sample", self.guard.batch(self.space.decode_batch(decoded))),
            ("best_rewarded", self.tracker.best(cfg.rescore_top)),
            ("uniform_sample", final_random_candidates(
                self.space, self.guard, cfg.levers.rescore_random, self.seed))])

    def select_final(self, pool):
        """Scores ``pool`` ((arch, sources) pairs) and re-ranks its best standalone, as the
        search's end does; returns (final score, arch, scored, standalone) of the pick,
        ``scored`` the (score, arch, sources) triples best first and ``standalone`` the
        re-ranking's entries (empty when it is off). Candidates scored or re-ranked before
        by this search keep their figures."""
        cfg = self.config
        scored = self._score_candidates(pool)
        scored.sort(key=lambda entry: -entry[0])
        reward, best, _ = scored[0]
        standalone = standalone_rerank(self.space, [(r, a) for r, a, _ in scored],
                                       self.search_split(), cfg, self.num_classes, self.seed,
                                       verbose=self.verbose, trained=self.reranked)
        if standalone:
            best = tuple(standalone[0]["arch"])
            reward = self.final_scores[best]
        return reward, best, scored, standalone

    def _log_result(self, reward, best, scored, standalone):
        """TensorBoard's end of the search: the returned architecture's picture, its final
        score (``result/final_score``, as the run prints it) and the table of re-scored
        candidates."""
        step = self.config.epochs
        accuracy = {tuple(entry["arch"]): entry["standalone_accuracy"] for entry in standalone}
        rows = ["| rank | final score | standalone validation accuracy | source | "
                "architecture |", "| --- | --- | --- | --- | --- |"]
        for rank, (r, arch, sources) in enumerate(scored, 1):
            trained = accuracy.get(tuple(int(c) for c in arch))
            mark = " (returned)" if list(arch) == list(best) else ""
            rows.append(f"| {rank} | {r:.4f} | {'' if trained is None else f'{trained:.4f}'} "
                        f"| {', '.join(sources)} | {self.space.readable(arch)}{mark} |")
        with self.writer.as_default():
            tf.summary.scalar("result/final_score", reward, step=step,
                              description="the returned architecture's final score on the "
                                          "validation split (fine-tuned supernet path), as "
                                          "the run prints it")
            tf.summary.text("result/candidates", "\n".join(rows), step=step)
        if drawing.drawable(self.space):
            drawing.log_architecture_image(self.space, best, step, self.writer,
                                           name="result/architecture")
        self.writer.flush()

    def _finish(self):
        cfg = self.config
        start = time.time()
        reward, best, scored, standalone = self.select_final(self.final_pool())
        if self.verbose:
            print(f"final scoring of {len(scored)} candidates took {time.time() - start:.0f} s")
        sources = next(s for _, a, s in scored if a == best)
        result = {
            "space": self.space.config(),
            "architecture": self.space.to_json(best),
            "reward": reward,
            "reward_kind": f"{cfg.reward} validation accuracy",
            "readable": self.space.readable(best),
            "sources": sources,
            "candidates": [{"reward": r, "readable": self.space.readable(a), "arch": list(a),
                            "sources": s} for r, a, s in scored],
            "epochs": cfg.epochs,
            "controller_share_of_time": (self.controller_seconds / self.total_seconds
                                         if self.total_seconds else 0.0),
            "search_seconds": self.total_seconds,
            "final_scoring": {"finetune_steps": cfg.levers.finetune_steps,
                              "rerank_top": cfg.levers.rerank_top,
                              "budget": cfg.levers.final_budget},
        }
        if standalone:
            result["standalone_rerank"] = standalone
        self._log_result(reward, best, scored, standalone)
        fileio.write_json(os.path.join(self.search_dir, "arch.json"), result)
        if drawing.drawable(self.space):
            drawing.write_svg(self.space, best, os.path.join(self.search_dir, "arch.svg"))
        fileio.write_json(os.path.join(self.search_dir, "history.json"), self.history)
        logging.info("best architecture (validation accuracy %.4f): %s", reward,
                     self.space.readable(best))
        return result
