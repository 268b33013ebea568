"""How a benchmark answers queries: one training run per query, drawn from the run's seed and
the item; the truth for judging; the noise-free variant."""

import numpy as np
import pytest

from nases_tf.benchmarks.protocol import REWARDS, QueryAnswers
from nases_tf.errors import ConfigError

VALUES = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, np.nan], [7.0, np.nan, np.nan]])
TRUTH = np.array([10.0, 20.0, 30.0])


def test_a_query_is_one_training_run_and_a_requery_another_until_all_are_drawn():
    answers = QueryAnswers(VALUES, TRUTH, "seed_validation", run_seed=4)
    assert answers.noisy
    first = [answers.query(0) for _ in range(3)]
    assert sorted(first) == [1.0, 2.0, 3.0]  # every run of item 0 once
    assert [answers.query(0) for _ in range(3)] == first  # then the same order again
    assert sorted(answers.query(1) for _ in range(2)) == [4.0, 5.0]  # missing runs skipped
    assert answers.query(2) == answers.query(2) == 7.0
    assert answers.queries_of(0) == 6 and answers.queries_of(1) == 2
    assert answers.truth(1) == 20.0 and answers.queries_of(5) == 0


def test_the_run_drawn_depends_on_the_run_seed_and_item_not_on_the_query_order():
    a = QueryAnswers(VALUES, TRUTH, "seed_validation", run_seed=7)
    b = QueryAnswers(VALUES, TRUTH, "seed_validation", run_seed=7)
    order_a = [a.query(0), a.query(1)]
    order_b = [b.query(1), b.query(0)]
    assert order_a == order_b[::-1]  # common random numbers across strategies
    orders = {tuple(QueryAnswers(VALUES, TRUTH, "seed_validation", s).run_order(0))
              for s in range(30)}
    assert len(orders) == 6  # every order of three runs occurs across run seeds


def test_noise_free_answers_with_the_truth_and_needs_no_runs():
    answers = QueryAnswers(None, TRUTH, "noise_free", run_seed=0)
    assert not answers.noisy
    assert answers.query(2) == answers.query(2) == 30.0
    assert "NOISE-FREE" in REWARDS["noise_free"]


def test_bad_protocols_are_refused():
    with pytest.raises(ConfigError, match="reward 'oracle' is unknown"):
        QueryAnswers(VALUES, TRUTH, "oracle", 0)
    with pytest.raises(ConfigError, match="needs per-seed runs"):
        QueryAnswers(None, TRUTH, "seed_validation", 0)
