"""How a search turns its re-scored candidates into one result, beyond the best reward.

``candidate_pool`` merges the candidates of each source (``SOURCES``) and remembers where
each came from. ``final_random_candidates`` widens the final re-scoring with uniformly sampled architectures
(the controller's last samples and the best-rewarded ones may all sit in one corner of the
space). ``standalone_rerank`` trains the best few candidates on their own for a few epochs
and orders them by that validation accuracy: shared weights rank well enough to shortlist,
but not always to pick the winner.
"""

import numpy as np

from nases_tf.training.child import train_and_score

# Where a final candidate comes from: the controller's last samples, the best-rewarded
# architectures the controller's steps saw, or uniform samples of the space.
SOURCES = ("controller_sample", "best_rewarded", "uniform_sample")


def candidate_pool(groups):
    """The final candidates of ``groups``, in order, each once, with all its sources.

    Args:
        groups: (source, architectures) pairs, ``source`` one of ``SOURCES``.

    Returns:
        A list of (arch tuple, list of sources) pairs.
    """
    pool, where = [], {}
    for source, archs in groups:
        if source not in SOURCES:
            raise ValueError(f"unknown candidate source {source!r}, expected one of {SOURCES}")
        for arch in archs:
            arch = tuple(int(c) for c in arch)
            if arch not in where:
                where[arch] = []
                pool.append((arch, where[arch]))
            if source not in where[arch]:
                where[arch].append(source)
    return pool


def final_random_candidates(space, guard, count, seed):
    """``count`` uniformly sampled (guarded) architectures, fixed per seed.

    Args:
        space: the search space.
        guard: the search's ``ArchGuard``.
        count: how many (the lever ``rescore_random``).
        seed: the run seed.
    """
    rng = np.random.default_rng([int(seed), 0xF17A1])
    return guard.batch([space.sample(rng) for _ in range(count)])


def standalone_rerank(space, scored, split, config, num_classes, seed, verbose=0,
                      trained=None):
    """Trains the ``rerank_top`` best of ``scored`` standalone for ``rerank_epochs`` epochs
    (levers of ``config``); returns them best first by validation accuracy (an empty list
    when ``rerank_top`` is 0).

    Args:
        space: the search space.
        scored: (reward, arch) pairs, best reward first.
        split: (train_x, train_y, val_x, val_y) of the search.
        config: a ``SearchConfig`` (``batch_size``, ``filters``, ``cutout``, the levers).
        num_classes: number of classes.
        seed: the run seed.
        verbose: 0 silent; else a line per candidate and Keras's progress of its training.
        trained: dict arch tuple -> standalone accuracy of candidates trained before with the
            same settings (reused, and filled in); None: train every one.

    Returns:
        A list of dicts with ``arch`` (list of int), ``readable``, ``supernet_reward`` and
        ``standalone_accuracy``.
    """
    ranked = []
    top = scored[:config.levers.rerank_top]
    trained = {} if trained is None else trained
    for i, (reward, arch) in enumerate(top):
        key = tuple(int(c) for c in arch)
        if key in trained:
            ranked.append({"arch": list(key), "readable": space.readable(arch),
                           "supernet_reward": float(reward),
                           "standalone_accuracy": trained[key]})
            continue
        if verbose:
            print(f"Re-ranking {i + 1}/{len(top)}: {space.readable(arch)} (final score "
                  f"{reward:.4f}), {config.levers.rerank_epochs} epochs standalone", flush=True)
        accuracy = train_and_score(space, arch, *split, epochs=config.levers.rerank_epochs,
                                   batch_size=config.batch_size, filters=config.filters,
                                   num_classes=num_classes, seed=seed,
                                   cutout=config.cutout, verbose=verbose)
        if verbose:
            print(f"  standalone validation accuracy {accuracy:.4f}", flush=True)
        trained[key] = accuracy
        ranked.append({"arch": [int(c) for c in arch], "readable": space.readable(arch),
                       "supernet_reward": float(reward), "standalone_accuracy": accuracy})
    ranked.sort(key=lambda entry: -entry["standalone_accuracy"])
    return ranked
