"""LocalSearchOracle: one-edit climbs, restarts, no repeats, exhaustion, resuming,
conditional spaces, objectives to minimize, and the NAS-Bench-201 optimum."""

import json

import keras_tuner
import pytest
from keras_tuner.engine import trial as trial_module

from nases_tf.benchmarks import search
from nases_tf.benchmarks.strategies import default_objective as objective, make_hyperparameters
from nases_tf.errors import ConfigError
from nases_tf.oracles.local import LocalSearchOracle
from nases_tf.spaces.nasbench201 import OPS, NasBench201Space

RUNNING = trial_module.TrialStatus.RUNNING
STOPPED = trial_module.TrialStatus.STOPPED


def _oracle(tmp_path, hps, name="local", obj=None, **kwargs):
    kwargs.setdefault("seed", 11)
    kwargs.setdefault("max_trials", 1000)
    oracle = LocalSearchOracle(objective=obj or objective(), hyperparameters=hps, **kwargs)
    oracle.verbose = 0
    oracle._set_project_dir(str(tmp_path), name)
    return oracle


def _step(oracle, score_fn, metric="accuracy"):
    """Creates one trial and completes it with ``score_fn(values)``; returns its values, or
    None once the oracle stops."""
    trial = oracle.create_trial("t")
    if trial.status != RUNNING:
        return None
    values = dict(trial.hyperparameters.values)
    oracle.update_trial(trial.trial_id, {metric: score_fn(values)})
    trial.status = trial_module.TrialStatus.COMPLETED
    oracle.end_trial(trial)
    return values


def _grid(*sizes):
    hps = keras_tuner.HyperParameters()
    for i, size in enumerate(sizes):
        hps.Choice(f"d{i}", list(range(size)))
    return hps


def _edits(a, b):
    return sum(a.get(k) != b.get(k) for k in set(a) | set(b))


def test_tries_every_value_once_then_stops(tmp_path):
    oracle = _oracle(tmp_path, _grid(3, 3), initial_random=2)
    tried = []
    while (values := _step(oracle, lambda v: float(v["d0"] * 3 + v["d1"]))) is not None:
        tried.append((values["d0"], values["d1"]))
    assert sorted(tried) == [(i, j) for i in range(3) for j in range(3)]
    assert oracle.create_trial("t").status == STOPPED


def test_climbs_one_edit_at_a_time_and_restarts_only_at_local_optima(tmp_path, nb201_table):
    space = NasBench201Space()
    names = space.decision_names
    oracle = _oracle(tmp_path, make_hyperparameters(space), initial_random=10)

    def accuracy(values):
        return nb201_table.accuracy(space.from_json({"edges": [values[n] for n in names]}))

    tried, climb, restarts = [], [], 0
    for i in range(150):
        incumbent = oracle.incumbent()
        values = _step(oracle, accuracy)
        assert values not in tried
        if i >= 10 and _edits(values, incumbent.hyperparameters.values) != 1:
            # A restart: every one-edit neighbour of the incumbent was tried before, and
            # the restart begins a new climb.
            restarts += 1
            base = incumbent.hyperparameters.values
            neighbours = [{**base, n: op} for n in names for op in OPS if op != base[n]]
            assert len(neighbours) == 24 and all(n in tried for n in neighbours)
            assert oracle.incumbent().hyperparameters.values == values
            climb = []
        tried.append(values)
        climb.append(accuracy(values))
    assert restarts >= 1  # 150 trials climb past at least one local optimum
    # The incumbent is the best of its own climb, not of the whole search (with this seed,
    # an earlier climb found something better).
    assert oracle.incumbent().score == max(climb) < max(accuracy(v) for v in tried)


def test_finds_the_optimum_of_a_toy_space_and_minimizes(tmp_path):
    target = {"d0": 3, "d1": 0, "d2": 2}

    def matches(values):
        return float(sum(values[k] == v for k, v in target.items()))

    oracle = _oracle(tmp_path, _grid(4, 4, 4), name="max", initial_random=1)
    for count in range(1, 65):
        if _step(oracle, matches) == target:
            break
    # A climb gains one match per improving edit: far fewer trials than the 64 values.
    assert count <= 30
    assert oracle.incumbent().hyperparameters.values == target

    loss = keras_tuner.Objective("loss", "min")
    oracle = _oracle(tmp_path, _grid(4, 4, 4), name="min", obj=loss, initial_random=1)
    for count in range(1, 65):
        if _step(oracle, lambda v: 3.0 - matches(v), metric="loss") == target:
            break
    assert count <= 30


def test_reaches_the_nasbench201_optimum(nb201_table):
    ranks = []
    for seed in range(3):
        run = search.run_strategy("local", nb201_table, 200, seed=seed, reward="noise_free")
        assert len(set(run.archs)) == 200
        ranks.append(nb201_table.rank(run.returned[-1]))
    # 200 of 15,625 architectures: every seed ends among the best 0.2 %, most at the top.
    assert max(ranks) < 32 and ranks.count(0) >= 2


def test_resumes_from_its_saved_state(tmp_path):
    def score(values):
        return float(values["d0"] + 2 * values["d1"] - values["d2"])

    straight = _oracle(tmp_path, _grid(5, 5, 5), name="straight", initial_random=3)
    expected = [_step(straight, score) for _ in range(40)]

    first = _oracle(tmp_path, _grid(5, 5, 5), name="resumed", initial_random=3)
    got = [_step(first, score) for _ in range(20)]
    state = first.get_state()
    assert json.loads(json.dumps(state)) == state  # native Python values only
    assert state["initial_random"] == 3 and isinstance(state["climb_start"], int)
    resumed = _oracle(tmp_path, _grid(5, 5, 5), name="resumed", initial_random=10)
    resumed.reload()  # keras-tuner's resume path: trial files + oracle.json -> set_state
    assert resumed.initial_random == 3
    got += [_step(resumed, score) for _ in range(20)]
    assert got == expected


def test_conditional_spaces(tmp_path):
    hps = keras_tuner.HyperParameters()
    kind = hps.Choice("kind", ["conv", "pool", "identity"])
    with hps.conditional_scope("kind", "conv"):
        hps.Int("filters", 1, 3)
        hps.Choice("kernel", [3, 5])
    with hps.conditional_scope("kind", "pool"):
        hps.Choice("pool", ["max", "avg"])
    hps.Fixed("stride", 1)
    assert kind == "conv"
    oracle = _oracle(tmp_path, hps, initial_random=1)
    active = {"conv": {"filters", "kernel"}, "pool": {"pool"}, "identity": set()}
    tried = []

    def score(values):
        return {"conv": 1.0, "pool": 2.0, "identity": 0.0}[values["kind"]] + \
            0.1 * values.get("filters", 0)

    while (values := _step(oracle, score)) is not None:
        assert set(values) == {"kind", "stride"} | active[values["kind"]]
        assert values not in tried
        tried.append(values)
    assert len(tried) == 3 * 2 + 2 + 1


def test_failed_trials_never_become_incumbents_and_bad_settings(tmp_path):
    oracle = _oracle(tmp_path, _grid(3, 3), initial_random=1)
    trial = oracle.create_trial("t")
    trial.status = trial_module.TrialStatus.FAILED
    oracle.end_trial(trial)
    assert oracle.incumbent() is None
    assert oracle.create_trial("t").status == RUNNING  # a random proposal, no incumbent
    with pytest.raises(ConfigError, match="initial_random"):
        _oracle(tmp_path, _grid(3), initial_random=0)
    hps = keras_tuner.HyperParameters()
    hps.Float("lr", 0.1, 1.0)
    with pytest.raises(ConfigError, match="Float without step"):
        _oracle(tmp_path, hps, name="float").populate_space("0")
