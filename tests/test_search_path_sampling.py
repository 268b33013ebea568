"""Which paths the shared-weight steps take: uniform warm-up, then the controller."""

import numpy as np

from nases_tf.search.config import SearchConfig
from nases_tf.search.schedules import Levers
from nases_tf.search.guards import ArchGuard
from nases_tf.search.path_sampling import in_uniform_warmup, training_paths, uniform_paths
from nases_tf.spaces import MacroSpace


class _Controller:
    """Stands in for the controller: every sample decodes to the same unit vector."""

    def __init__(self, space):
        self.chains = type("V", (), {"numpy": lambda _: np.zeros((2, space.num_decisions))})()
        self.calls = 0
        self.unit = space.encode(space.sample(np.random.default_rng(9)))

    def sample(self, states):
        self.calls += 1
        return None, np.repeat(self.unit[None], len(states), 0)


def test_first_epochs_sample_uniformly_then_the_controller_takes_over():
    space = MacroSpace(4)
    controller = _Controller(space)
    config = SearchConfig(epochs=5, levers=Levers(uniform_warmup=0.5))
    guard = ArchGuard(space)
    for epoch in (0, 1):
        assert in_uniform_warmup(config, epoch)
        paths = training_paths(space, controller, guard, config, 3, epoch, steps=50)
        assert paths.dtype == np.int32 and paths.shape == (50, space.num_decisions)
        assert [tuple(p) for p in paths] == uniform_paths(space, 50, seed=3, epoch=epoch)
        assert len({tuple(p) for p in paths}) > 40  # uniform paths, not one arch
    assert controller.calls == 0
    paths = training_paths(space, controller, guard, config, 3, 2, steps=50)
    assert controller.calls == 1
    assert {tuple(p) for p in paths} == {space.decode(controller.unit)}


def test_uniform_train_paths_never_ask_the_controller_and_paths_are_guarded():
    space = MacroSpace(5)
    controller = _Controller(space)
    config = SearchConfig(levers=Levers(train_paths="uniform", max_skips=0))
    paths = training_paths(space, controller, ArchGuard(space, max_skips=0), config, 0, 7, 30)
    assert controller.calls == 0
    for path in paths:
        assert not any(any(row) for row in space.split(path)[1])
    assert not in_uniform_warmup(SearchConfig(reward="episodic",
                                              levers=Levers(uniform_warmup=1.0)), 0)
