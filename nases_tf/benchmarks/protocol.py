"""How a tabular benchmark answers a search's queries and how the search is judged.

The field's protocol (NASLib; White et al., arXiv 2005.02960): a query is one training run
of an architecture, so its reward is *one training seed's validation accuracy*; the search
is judged by the *seed-mean test accuracy* of the architecture it would return. A real
search sees that noise; the seed-mean test accuracy is the truth it never sees.

``QueryAnswers`` holds one run's answers. Which training seed answers a query is drawn
from a generator seeded by the run's seed and the architecture, not by the order of the
queries: two strategies that query the same architecture in the same benchmark seed see
the same training run (common random numbers, which make their comparison fairer). The
k-th query of one architecture in a run gets the k-th seed of that architecture's own
random order of its training runs, so re-querying an architecture is retraining it; once
every run of it has been drawn, the order repeats.

``noise_free`` rewards each query with the truth itself (the seed-mean test accuracy),
as the project's figures did before; every report names it as such.
"""

import numpy as np

from nases_tf.errors import ConfigError

# --reward name -> what a report says about it.
REWARDS = {
    "seed_validation": "a query's reward is one training seed's 200-epoch validation accuracy "
                       "(drawn per query); a search is judged by the seed-mean test accuracy "
                       "of the architecture it returns (get_best_trials(1))",
    "noise_free": "NOISE-FREE rewards: a query's reward is the seed-mean 200-epoch test "
                  "accuracy itself, the truth the search is judged by",
}
# Mixed into the generator of the training-seed order, so it differs from the oracles'.
_SALT = 201


class QueryAnswers:
    """One benchmark run's answers: the reward of each query and the truth of an answer.

    Args:
        values: float array ``(n_items, n_runs)`` of per-run observations (NaN where a run
            is missing; at least one run per queried item), or None for ``noise_free``.
        truth: float array ``(n_items,)``, the value a search is judged by.
        reward: ``seed_validation`` (one run per query) or ``noise_free`` (the truth).
        run_seed: the benchmark seed of this run.
    """

    def __init__(self, values, truth, reward, run_seed):
        if reward not in REWARDS:
            raise ConfigError(f"reward {reward!r} is unknown, expected one of "
                              f"{', '.join(REWARDS)}")
        if reward != "noise_free" and values is None:
            raise ConfigError(f"reward {reward!r} needs per-seed runs; this table has the "
                              "seed-mean values only")
        self.reward = reward
        self.values = None if values is None else np.asarray(values, dtype=np.float64)
        self.truth_values = np.asarray(truth, dtype=np.float64)
        self.run_seed = int(run_seed)
        self._queried = {}  # item -> how many times it was queried in this run

    @property
    def noisy(self):
        """Whether a query's reward is one training run (so a repeat is a new training)."""
        return self.reward != "noise_free"

    def run_order(self, item):
        """The order in which ``item``'s training runs answer its queries in this run.

        Args:
            item: an int index into ``values``.
        """
        runs = np.flatnonzero(~np.isnan(self.values[int(item)]))
        rng = np.random.default_rng([self.run_seed, int(item), _SALT])
        return [int(r) for r in rng.permutation(runs)]

    def query(self, item):
        """The reward of one more query of ``item`` (a training run, or the truth).

        Args:
            item: an int index.
        """
        item = int(item)
        count = self._queried.get(item, 0)
        self._queried[item] = count + 1
        if not self.noisy:
            return float(self.truth_values[item])
        order = self.run_order(item)
        return float(self.values[item, order[count % len(order)]])

    def queries_of(self, item):
        """How many times ``item`` has been queried in this run."""
        return self._queried.get(int(item), 0)

    def truth(self, item):
        """The value ``item`` is judged by (seed-mean test accuracy).

        Args:
            item: an int index.
        """
        return float(self.truth_values[int(item)])
