"""keras-tuner project state that survives a kill at any moment.

keras-tuner writes ``oracle.json``, ``tuner0.json`` and each ``trial.json`` in place, so a
process killed mid-write leaves a 0-byte or truncated file and every ``overwrite=False``
rerun then fails. ``Oracle.end_trial`` also saves the oracle before it drops the ended trial
from ``ongoing_trials``, so a kill between the two reruns that trial and lists it twice in
``end_order``. The mixins here write every file atomically (temp file, then ``os.replace``),
read damaged files left by older runs as missing, drop finished trials from the retry
queue on reload, retry trials whose file was written but which the oracle file never
started, and remove the temporary files a killed write left behind. Put them first among the bases:
``class MyOracle(AtomicOracleStateMixin, keras_tuner.Oracle)``.
"""

import json
import os

from absl import logging

from nases_tf.storage import checkpoints, fileio

_ENDED = ("COMPLETED", "FAILED", "INVALID")


def _is_local(path):
    return "://" not in str(path)


def read_state(path):
    """The JSON object in ``path``, or None when the file is missing, empty or truncated
    (with a warning naming it in the last two cases).

    Args:
        path: a keras-tuner state file.
    """
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        logging.warning("%s is damaged (%s), probably by a killed run; rebuilding its state",
                        path, "empty" if os.path.getsize(path) == 0 else exc)
        return None


def save_state(path, obj):
    """Writes a keras-tuner state object to ``path`` atomically.

    Args:
        path: the state file.
        obj: its JSON-able content.
    """
    fileio.write_json(path, obj, indent=None)


class AtomicOracleStateMixin:
    """Atomic ``oracle.json`` and ``trial.json`` files for a ``keras_tuner.Oracle``, and a
    reload that survives damaged files and does not rerun trials that already ended."""

    def save(self):
        """Writes the oracle's state to ``oracle.json`` atomically."""
        fname = self._get_oracle_fname()
        if not _is_local(fname):
            return super().save()
        save_state(fname, self.get_state())
        return None

    def _save_trial(self, trial):
        path = os.path.join(self._get_trial_dir(trial.trial_id), "trial.json")
        if not _is_local(path):
            return super()._save_trial(trial)
        save_state(path, trial.get_state())
        return None

    def reload(self):
        """Reloads trials and oracle state; rebuilds the state from the trials when
        ``oracle.json`` is damaged, and skips damaged ``trial.json`` files."""
        from keras_tuner.engine import trial as trial_module

        fname = self._get_oracle_fname()
        if not _is_local(fname):
            return super().reload()
        self.trials = {}
        checkpoints.remove_leftovers(self._project_dir)  # temp files of killed writes
        for trial_dir in sorted(os.listdir(self._project_dir)):
            if trial_dir.startswith("trial_"):
                checkpoints.remove_leftovers(os.path.join(self._project_dir, trial_dir))
            state = read_state(os.path.join(self._project_dir, trial_dir, "trial.json"))
            if trial_dir.startswith("trial_") and state is not None:
                trial = trial_module.Trial.from_state(state)
                self.trials[trial.trial_id] = trial
        state = read_state(fname)
        self.set_state(self._known_trials_only(self._rebuilt_state() if state is None
                                               else state))
        for trial in self.ongoing_trials.values():
            self._retry_queue.append(trial.trial_id)
        self.ongoing_trials = {}
        # A trial saved as ended is never run again, whatever the oracle file says.
        self._retry_queue = [t for t in dict.fromkeys(self._retry_queue)
                             if t not in self.end_order]
        self._adopt_unlisted_trials()
        return None

    def _adopt_unlisted_trials(self):
        # A kill between a new trial's trial.json and the oracle's save leaves a trial the
        # oracle file never started: it would hold a trial id (and a place under
        # max_trials) without ever running or ending. It is started now, and run again
        # unless its file says it ended.
        for trial_id in sorted(set(self.trials) - set(self.start_order)):
            self.start_order.append(trial_id)
            if self.trials[trial_id].status in _ENDED:
                self.end_order.append(trial_id)
            else:
                self._retry_queue.append(trial_id)

    def _rebuilt_state(self):
        state = self.get_state()
        ids = sorted(self.trials)
        state.update(ongoing_trials={}, start_order=ids,
                     end_order=[t for t in ids if self.trials[t].status in _ENDED],
                     retry_queue=[t for t in ids if self.trials[t].status not in _ENDED],
                     run_times={t: 1 for t in ids})
        hashes = {t: self._compute_values_hash(self.trials[t].hyperparameters.values)
                  for t in ids}
        state.update(id_to_hash=hashes, tried_so_far=sorted(set(hashes.values())))
        for trial in self.trials.values():
            self.update_space(trial.hyperparameters)
        state["hyperparameters"] = self.hyperparameters.get_config()
        return state

    def _known_trials_only(self, state):
        # A trial whose trial.json was unreadable is forgotten: keras-tuner's lists may only
        # name loaded trials.
        known = self.trials
        state = dict(state)
        for key in ("start_order", "end_order", "retry_queue"):
            state[key] = [t for t in dict.fromkeys(state.get(key, [])) if t in known]
        state["ongoing_trials"] = {k: t for k, t in state.get("ongoing_trials", {}).items()
                                   if t in known}
        return state


class AtomicTunerStateMixin:
    """Atomic ``tuner0.json`` for a ``keras_tuner.Tuner``; a damaged one reads as empty."""

    def save(self):
        """Saves the oracle (unless a worker) and writes the tuner state atomically."""
        fname = self._get_tuner_fname()
        if not _is_local(fname):
            return super().save()
        if not self._is_worker():
            self.oracle.save()
        save_state(fname, self.get_state())
        return None

    def reload(self):
        """Reloads the oracle (unless a worker) and the tuner state, if readable."""
        fname = self._get_tuner_fname()
        if not _is_local(fname):
            return super().reload()
        if not self._is_worker():
            self.oracle.reload()
        self.set_state(read_state(fname) or {})
        return None
