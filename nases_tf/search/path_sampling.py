"""Which architecture's path each shared-weight training step of a search takes.

ENAS trains the supernet on the controller's samples, so the paths the controller likes
early get more training and look better still: a rich-get-richer loop that favours what
learns fastest (parameter-free ops, dense skips). Sampling paths uniformly (single-path
one-shot training) gives every op the same share of steps. A search can take uniform paths
for the first ``uniform_warmup`` fraction of its epochs (with no controller steps) and then hand over to
the controller, or take uniform paths throughout (``train_paths="uniform"``).
"""

import numpy as np


def in_uniform_warmup(config, epoch):
    """Whether ``epoch`` of a weight-sharing search is in its uniform warm-up.

    Args:
        config: a ``SearchConfig``.
        epoch: the 0-based search epoch.
    """
    warmup_epochs = int(config.levers.uniform_warmup * config.epochs)
    return config.reward == "weight_sharing" and epoch < warmup_epochs


def uniform_paths(space, count, seed, epoch):
    """``count`` uniformly sampled architectures, the same for the same (seed, epoch).

    Args:
        space: the search space.
        count: how many.
        seed: the run seed.
        epoch: the search epoch (a resumed run draws the same paths).
    """
    rng = np.random.default_rng([int(seed), int(epoch), 0x5A7])
    return [space.sample(rng) for _ in range(count)]


def training_paths(space, controller, guard, config, seed, epoch, steps):
    """One architecture per shared-weight training step of ``epoch``: int32 ``(steps, m)``.

    Args:
        space: the search space.
        controller: the ``EmbeddingController`` (its chains are sampled when it drives).
        guard: an ``ArchGuard`` applied to every path.
        config: a ``SearchConfig`` (``epochs`` and the levers ``uniform_warmup``,
            ``train_paths``).
        seed: the run seed.
        epoch: the 0-based search epoch.
        steps: training steps in the epoch.
    """
    if in_uniform_warmup(config, epoch) or config.levers.train_paths == "uniform":
        archs = uniform_paths(space, steps, seed, epoch)
    else:
        states = np.resize(controller.chains.numpy(), (steps, space.num_decisions))
        _, decoded = controller.sample(states)
        archs = space.decode_batch(decoded)
    return np.asarray(guard.batch(archs), np.int32)
