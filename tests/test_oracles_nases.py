"""NASESOracle and the NASES tuner (nases_tf.oracles.nases) with real keras-tuner objects."""

import json
import math
import os
import pathlib
import socket
import subprocess
import sys
import textwrap

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras_tuner.engine import trial as trial_module  # noqa: E402

from nases_tf.benchmarks import tuner_benchmark  # noqa: E402
from nases_tf.benchmarks.tuner_objective import cheap_space  # noqa: E402
from nases_tf.embedding.controller import EmbeddingController  # noqa: E402
from nases_tf.tuner import NASES, NASESOracle  # noqa: E402

from oracle_helpers import (CHAINS, FAST, Killed, ScoreTuner, SumTuner,  # noqa: E402
                            assert_valid_active_values, completed_distinct_trials,
                            quiet as _quiet, score_objective)

REPO = pathlib.Path(__file__).resolve().parents[1]
COMPLETED = trial_module.TrialStatus.COMPLETED


# -- 1. a keras-tuner search with a real Keras model -------------------------------------


def build_mixed_model(hp):
    """A small regression MLP: Int layers whose per-layer units appear as the space grows,
    Choice, Float (log), Boolean, and a conditional scope for SGD's momentum."""
    inputs = keras.Input((6,))
    x = inputs
    activation = hp.Choice("activation", ["relu", "tanh"])
    for i in range(hp.Int("layers", 1, 3)):
        x = keras.layers.Dense(hp.Int(f"units_{i}", 4, 16, step=4), activation=activation)(x)
    if hp.Boolean("dropout"):
        x = keras.layers.Dropout(0.1)(x)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    lr = hp.Float("lr", 1e-4, 1e-1, sampling="log")
    optimizer = hp.Choice("optimizer", ["adam", "sgd"])
    with hp.conditional_scope("optimizer", ["sgd"]):
        momentum = hp.Float("momentum", 0.0, 0.9, step=0.3)
    if optimizer == "sgd":
        opt = keras.optimizers.SGD(lr, momentum=momentum)
    else:
        opt = keras.optimizers.Adam(lr)
    model.compile(optimizer=opt, loss="mse")
    return model


@pytest.mark.parametrize("proposals", ["trust_region", "elitist"])
def test_keras_model_search_over_a_mixed_conditional_space(tmp_path, capsys, proposals):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 6)).astype("float32")
    y = (x @ rng.normal(size=(6, 1))).astype("float32")
    tuner = NASES(build_mixed_model, objective="val_loss", max_trials=6, seed=7,
                  directory=str(tmp_path), project_name="mixed", proposals=proposals,
                  initial_points=3, confirm_every=0, **FAST)
    # confirm_every=0: every trial's values are checked to be new below (a noisy val_loss
    # may otherwise open the trust region's confirmations; test_oracles_nases_trust_region
    # tests those)
    tuner.search(x[:32], y[:32], validation_data=(x[32:], y[32:]), epochs=1, batch_size=16)
    out = capsys.readouterr().out
    for k in range(1, 7):  # keras-tuner's trial display: each trial and the best so far
        assert f"Trial {k} Complete" in out, out[-2000:]
    assert "Best val_loss So Far" in out and "Total elapsed time" in out
    oracle = tuner.oracle
    trials = completed_distinct_trials(oracle, 6)
    assert all(math.isfinite(trial.score) for trial in trials)
    # the oracle's decisions are the tunable hyperparameters it has seen, one slot per name
    names = {hp.name for hp in oracle.get_space().space}
    assert set(oracle.decision_names) <= names and "lr" in oracle.decision_names
    if proposals == "elitist":
        assert oracle.controller.updates.numpy() >= 1
    else:  # the trust region learned from every trial; stage 1 never ran
        assert oracle.controller is None
        assert sum(r is not None for r in oracle._proposer.rewards) == 6
    if proposals == "elitist":  # the best score, as keras-tuner's oracles
        best = trials[int(np.argmin([t.score for t in trials]))]
    else:  # the best of the trust region's pick scores
        point = oracle._proposer.points[oracle._proposer.best_index()]
        best = next(t for t in trials if np.allclose(
            oracle._codec.pad(oracle._trial_points[t.trial_id]), point))
    assert tuner.get_best_hyperparameters()[0].values == best.hyperparameters.values
    json.dumps(oracle.get_state())  # the whole state is JSON


# -- 2. better than random search on the cheap objective ---------------------------------

@pytest.mark.slow
def test_nases_finds_better_values_than_random_search_on_average():
    report, = tuner_benchmark.compare([tuner_benchmark.CheapProblem()], ["random", "nases"],
                                      3, [20], log=None)
    result = report["strategies"]
    # the values NASES tries are better on average, by a clear margin (its first 10 trials
    # are random too; for any 3 consecutive seeds of 0-7 its mean is 0.09 to 0.13 above
    # random search's)
    assert result["nases"]["mean_reward"] > result["random"]["mean_reward"] + 0.01, result


# -- 3. resume ---------------------------------------------------------------------------


def _nases_json(directory, project):
    with open(os.path.join(directory, project, "oracle.json")) as f:
        return json.load(f)["nases"]


def test_killed_search_resumes_with_the_same_controller_and_no_duplicates(tmp_path):
    def make(max_trials, **kwargs):
        oracle = NASESOracle(objective=score_objective(), max_trials=max_trials, seed=11,
                             hyperparameters=cheap_space(), **CHAINS)
        return _quiet(ScoreTuner(oracle, directory=str(tmp_path), project_name="resume",
                                 **kwargs))

    first = make(5, overwrite=True)
    with pytest.raises(Killed):
        first.kill_at = 5  # trials 0-3 complete, trial 4 is running when the process dies
        first.search(verbose=0)
    saved = _nases_json(tmp_path, "resume")
    assert saved["controller"] == first.oracle.get_state()["nases"]["controller"]
    updates_before = int(first.oracle.controller.updates.numpy())
    assert updates_before == 2

    second = make(12)  # overwrite=False: reloads, and may run more trials than before
    oracle = second.oracle
    restored = oracle.get_state()["nases"]
    for key in ("names", "simulator", "decoder", "controller", "records", "pending",
                "next_chain"):
        assert restored[key] == saved[key], key
    assert oracle.trials["4"].status == trial_module.TrialStatus.RUNNING
    second.search(verbose=0)
    trials = [oracle.trials[i] for i in oracle.start_order]
    assert len(oracle.trials) == 12 and all(t.status == COMPLETED for t in trials)
    assert second.attempts.get("4") == 1  # the interrupted trial was rerun, not lost
    hashes = [oracle._compute_values_hash(t.hyperparameters.values) for t in trials]
    assert len(set(hashes)) == 12
    assert int(oracle.controller.updates.numpy()) == 6  # (12 completed) / 2 per update


# -- 4. failed trials and NaN scores ------------------------------------------------------


def test_failed_trials_and_nan_scores_never_reach_the_controller(tmp_path, monkeypatch):
    seen = []
    original = EmbeddingController.update

    def spy(self, states, embeddings, rewards):
        seen.append(np.asarray(rewards, np.float64).copy())
        return original(self, states, embeddings, rewards)

    monkeypatch.setattr(EmbeddingController, "update", spy)

    def fail(trial_id, attempt):
        n = int(trial_id)
        if n % 4 == 1:
            return "raise"  # crashes on every attempt: FAILED after its retry
        if n % 4 == 2:
            return "nan"  # keras-tuner keeps a NaN in the metric history: FAILED too
        if n % 4 == 3 and attempt == 1:
            return "raise"  # crashes once, completes when retried
        return None

    oracle = NASESOracle(objective=keras_tuner.Objective("score", "min"), max_trials=12,
                         seed=5, hyperparameters=cheap_space(), max_retries_per_trial=1,
                         max_consecutive_failed_trials=100, **CHAINS)
    tuner = _quiet(ScoreTuner(oracle, fail=fail, directory=str(tmp_path), project_name="f"))
    tuner.search(verbose=0)

    statuses = {tid: t.status for tid, t in oracle.trials.items()}
    failed = [tid for tid, s in statuses.items() if s == trial_module.TrialStatus.FAILED]
    completed = [t for t in oracle.trials.values() if t.status == COMPLETED]
    assert sorted(failed) == sorted(t for t in statuses if int(t) % 4 in (1, 2))
    assert len(completed) == 6 and all(math.isfinite(t.score) for t in completed)
    assert all(tuner.attempts[t.trial_id] == 2 for t in completed if int(t.trial_id) % 4 == 3)
    # every reward given to the controller is the negated score of a completed trial
    rewards = np.concatenate(seen)
    assert len(seen) == int(oracle.controller.updates.numpy()) == 3
    assert np.all(np.isfinite(rewards)) and len(rewards) == 6
    assert set(np.round(-rewards, 9)) <= {round(t.score, 9) for t in completed}
    for variable in oracle.controller.trainable_variables:
        assert np.all(np.isfinite(variable.numpy()))
    assert math.isfinite(float(oracle.controller.baseline.numpy()))
    assert not set(failed) & (set(oracle._records) | set(oracle._pending))


def test_nan_only_search_never_updates_and_stops_at_max_trials(tmp_path):
    oracle = NASESOracle(objective=score_objective(), max_trials=4, seed=2,
                         hyperparameters=cheap_space(), max_consecutive_failed_trials=10,
                         **CHAINS)
    tuner = _quiet(ScoreTuner(oracle, fail=lambda tid, attempt: "nan",
                              directory=str(tmp_path), project_name="nan"))
    tuner.search(verbose=0)
    assert len(oracle.trials) == 4
    assert int(oracle.controller.updates.numpy()) == 0
    assert float(oracle.controller.baseline_ready.numpy()) == 0.0
    assert oracle._pending == [] and oracle._records == {}


# -- exhaustion and a growing space ------------------------------------------------------


def test_small_space_is_exhausted_cleanly(tmp_path):
    hps = keras_tuner.HyperParameters()
    hps.Choice("a", [1, 2, 3])
    hps.Boolean("b")
    oracle = NASESOracle(objective=score_objective(), max_trials=50, seed=3,
                         hyperparameters=hps, **FAST)

    tuner = _quiet(SumTuner(oracle, directory=str(tmp_path), project_name="tiny"))
    tuner.search(verbose=0)
    values = [tuple(sorted(t.hyperparameters.values.items())) for t in oracle.trials.values()]
    assert len(values) == len(set(values)) == 6  # all 3 x 2 combinations, each once
    assert oracle.create_trial("tuner0").status == trial_module.TrialStatus.STOPPED


def test_growing_space_keeps_what_the_controller_learned(tmp_path):
    hps = keras_tuner.HyperParameters()
    hps.Choice("a", ["x", "y", "z"])
    hps.Int("b", 0, 9)
    hps.Float("c", 0.1, 10.0, sampling="log")
    oracle = NASESOracle(objective=score_objective(), max_trials=30, seed=4,
                         hyperparameters=hps, **CHAINS)
    oracle._set_project_dir(str(tmp_path), "grow")
    oracle.verbose = 0

    def finish(trial):
        oracle.update_trial(trial.trial_id, {"score": float(trial.hyperparameters.get("b"))})
        trial.status = COMPLETED
        oracle.end_trial(trial)

    def run(n):
        for _ in range(n):
            finish(oracle.create_trial("tuner0"))

    run(6)
    controller = oracle.controller
    assert int(controller.updates.numpy()) == 3 and oracle.decision_names == ["a", "b", "c"]
    probe_states = np.random.default_rng(0).random((16, 3), dtype=np.float32)
    probe_embeddings = np.random.default_rng(1).normal(size=(16, 2)).astype(np.float32)
    old_means = controller.policy(probe_states).numpy()
    old_decoded = oracle._decoder(probe_embeddings).numpy()
    old_sigma, old_baseline = controller.sigma, float(controller.baseline.numpy())

    grown = oracle.get_space()  # a new conditional branch and a new plain entry appear
    grown.Boolean("d")
    with grown.conditional_scope("a", ["z"]):
        grown.Int("e", 1, 4)
    oracle.update_space(grown)
    pending = oracle.create_trial("tuner0")  # the oracle adapts when it populates a trial

    controller = oracle.controller
    assert oracle.decision_names == ["a", "b", "c", "d", "e"]
    states = np.concatenate([probe_states, np.random.default_rng(2).random((16, 2))], 1)
    np.testing.assert_allclose(controller.policy(states).numpy(), old_means, atol=1e-5)
    np.testing.assert_allclose(oracle._decoder(probe_embeddings).numpy()[:, :3], old_decoded,
                               atol=1e-6)
    np.testing.assert_allclose(controller.sigma, old_sigma, rtol=1e-6)
    assert float(controller.baseline.numpy()) == old_baseline
    finish(pending)
    run(3)
    assert int(controller.updates.numpy()) == 5  # learning carried on
    new = oracle._decoder(np.random.default_rng(3).normal(size=(256, 2)).astype("float32"))
    assert np.ptp(new.numpy()[:, 3:], axis=0).min() > 0.3  # new values are reachable
    for trial in list(oracle.trials.values())[6:]:
        assert_valid_active_values(trial.hyperparameters)
        assert "d" in trial.hyperparameters.values
        assert ("e" in trial.hyperparameters.values) == (trial.hyperparameters.get("a") == "z")
    # and the grown state round-trips through JSON
    again = NASESOracle(objective=score_objective(), max_trials=30, seed=4,
                        hyperparameters=hps, **CHAINS)
    state = json.loads(json.dumps(oracle.get_state()))
    again.trials = oracle.trials
    again.set_state(state)
    np.testing.assert_allclose(again.controller.policy(states).numpy(),
                               controller.policy(states).numpy(), atol=1e-6)


# -- 5. distributed: one chief, two workers ----------------------------------------------

WORKER_SCRIPT = textwrap.dedent("""
    import glob, json, os, sys, time
    import numpy as np
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, {tests!r})
    import keras_tuner
    from oracle_helpers import ScoreTuner, score_objective
    from nases_tf.benchmarks.tuner_objective import cheap_space
    from nases_tf.tuner import NASESOracle

    project, proposals = sys.argv[1], sys.argv[2]
    tuner_id = os.environ["KERASTUNER_TUNER_ID"]


    class WorkerTuner(ScoreTuner):
        # Trials wait (at most a minute) until both workers are up, and take a moment,
        # so that both workers run trials. With the trust region a score is noisy (as one
        # training run is), so that values are trained again, and each worker logs when
        # it trained which values.
        def run_trial(self, trial, *args, **kwargs):
            deadline = time.time() + 60
            while len(glob.glob(os.path.join(project, "up_*"))) < 2 and time.time() < deadline:
                time.sleep(0.1)
            start = time.time()
            time.sleep(0.2)
            result = super().run_trial(trial, *args, **kwargs)
            if proposals == "trust_region":
                noise = np.random.default_rng(int(trial.trial_id)).normal(0.0, 0.5)
                result = {{name: value + noise for name, value in result.items()}}
                line = json.dumps([json.dumps(trial.hyperparameters.values,
                                              sort_keys=True), start, time.time()])
                with open(os.path.join(project, "runs_" + tuner_id), "a") as f:
                    f.write(line + "\\n")
            return result


    settings = dict(pretrain_steps=200, samples_per_update=2) if proposals != "trust_region" \\
        else dict(initial_points=4)
    oracle = NASESOracle(objective=score_objective(), max_trials=int(sys.argv[3]), seed=3,
                         hyperparameters=cheap_space(), proposals=proposals, **settings)
    tuner = WorkerTuner(oracle, directory=project, project_name="dist")
    if tuner_id != "chief":
        open(os.path.join(project, "up_" + tuner_id), "w").close()
    tuner.search(verbose=0)
    if tuner_id == "chief":
        oracle = tuner.oracle
        trials = list(oracle.trials.values())
        result = {{"completed": sum(t.status == "COMPLETED" for t in trials),
                  "distinct": len({{oracle._compute_values_hash(t.hyperparameters.values)
                                   for t in trials}})}}
        if proposals == "trust_region":
            result["rewards"] = sum(r is not None for r in oracle._proposer.rewards)
            result["best"] = oracle.get_best_trials(1)[0].trial_id
        else:
            result["updates"] = int(oracle.controller.updates.numpy())
        print("RESULT " + json.dumps(result))
    else:
        print("RESULT " + json.dumps({{"ran": tuner.calls}}))
""")


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _result(output):
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    assert lines, output[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


@pytest.mark.slow
@pytest.mark.parametrize("proposals,trials", [("elitist", 8), ("trust_region", 24)])
def test_chief_and_two_workers_complete_a_search(tmp_path, proposals, trials):
    script = tmp_path / "run_tuner.py"
    script.write_text(WORKER_SCRIPT.format(tests=str(REPO / "tests")))
    port = str(_free_port())
    project = tmp_path / "project"
    project.mkdir()
    procs = {}
    for tuner_id in ("chief", "tuner0", "tuner1"):
        env = dict(os.environ, KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1",
                   KERASTUNER_ORACLE_PORT=port, PYTHONPATH=str(REPO))
        procs[tuner_id] = subprocess.Popen(
            [sys.executable, str(script), str(project), proposals, str(trials)], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    outputs = {}
    try:
        for tuner_id, proc in procs.items():
            outputs[tuner_id], _ = proc.communicate(timeout=240)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for tuner_id, proc in procs.items():
        assert proc.returncode == 0, (tuner_id, outputs.get(tuner_id, "")[-3000:])
    chief = _result(outputs["chief"])
    ran = [_result(outputs[w])["ran"] for w in ("tuner0", "tuner1")]
    assert sum(ran) == trials and min(ran) >= 1, ran
    if proposals == "elitist":
        assert chief == {"completed": 8, "distinct": 8, "updates": 4}, chief
        return
    # noisy scores: some values are trained again, every score reaches the proposer, and
    # the same values never train on both workers at once (a repeat waits for the score)
    assert chief["completed"] == chief["rewards"] == trials, chief
    assert chief["distinct"] < trials, chief
    runs = [json.loads(line) for w in ("tuner0", "tuner1")
            for line in (project / f"runs_{w}").read_text().splitlines()]
    assert len(runs) == trials
    for i, (values, start, end) in enumerate(runs):
        for other, start2, end2 in runs[i + 1:]:
            assert values != other or end <= start2 or end2 <= start, (values, start, end)


# -- the macro hypermodel -----------------------------------------------------------------


def test_macro_hypermodel_searches_real_images(tmp_path, natural_npz):
    from nases_tf.hypermodels import MacroHyperModel

    with np.load(natural_npz) as data:
        x, y = data["x"][:96], data["y"][:96]
    hypermodel = MacroHyperModel(layers=2, filters=8, num_classes=10, input_shape=(32, 32, 3),
                                 steps_per_epoch=2, epochs=1, batch_size=32)
    tuner = NASES(hypermodel, objective="val_accuracy", max_trials=2, seed=1,
                  directory=str(tmp_path), project_name="macro", pretrain_steps=100)
    tuner.search(x[:64], y[:64], validation_data=(x[64:], y[64:]), verbose=0)
    oracle = tuner.oracle
    assert oracle.decision_names == list(hypermodel.space.decision_names)
    trials = list(oracle.trials.values())
    assert len(trials) == 2 and all(t.status == COMPLETED for t in trials)
    for trial in trials:
        assert_valid_active_values(trial.hyperparameters)
        assert 0.0 <= trial.score <= 1.0
        arch = hypermodel.architecture(trial.hyperparameters)
        assert hypermodel.space.readable(arch)
