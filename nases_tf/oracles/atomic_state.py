"""keras-tuner project state that survives a kill at any moment.

keras-tuner writes ``oracle.json``, ``tuner0.json`` and each ``trial.json`` in place, so a
process killed mid-write leaves a 0-byte or truncated file and every ``overwrite=False``
rerun then fails. ``Oracle.end_trial`` also saves the oracle before it drops the ended trial
from ``ongoing_trials``, so a kill between the two reruns that trial and lists it twice in
``end_order``. The mixins here write every file atomically (temp file, then ``os.replace``),
read damaged files left by older runs as missing, drop finished trials from the retry
queue on reload, retry trials whose file was written but which the oracle file never
started, rebuild a lost ``trial.json`` from the oracle file (or run the trial again when
that cannot be), take a ``Choice``'s new values when they changed between runs, and remove
the temporary files a killed write left behind. Put them first among the bases:
``class MyOracle(AtomicOracleStateMixin, keras_tuner.Oracle)``.
"""

import json
import os

import keras_tuner
from absl import logging
from keras_tuner.engine import hyperparameters as hp_module

from nases_tf.storage import checkpoints, fileio, run_lock

_ENDED = ("COMPLETED", "FAILED", "INVALID")


def _is_local(path):
    return "://" not in str(path)


def _id_order(trial_id):
    return (0, int(trial_id), trial_id) if trial_id.isdigit() else (1, 0, trial_id)


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

    def get_state(self):
        """keras-tuner's oracle state, plus the values and result of every ended trial, from
        which a lost ``trial.json`` is rebuilt."""
        state = super().get_state()
        state["ended_trials"] = {
            trial_id: {"values": trial.hyperparameters.values, "status": trial.status,
                       "score": trial.score, "best_step": trial.best_step,
                       "message": trial.message}
            for trial_id, trial in self.trials.items() if trial.status in _ENDED}
        return state

    def reload(self):
        """Reloads trials and oracle state, recovering from damaged files.

        A damaged ``oracle.json`` is rebuilt from the trials. A trial whose ``trial.json``
        is damaged or missing is rebuilt from ``oracle.json`` when it had ended, and is
        otherwise run again under its own id with new values: either way no id is ever
        handed out twice and the search reaches ``max_trials``.
        """
        from keras_tuner.engine import trial as trial_module

        fname = self._get_oracle_fname()
        if not _is_local(fname):
            return super().reload()
        self.trials = {}
        checkpoints.remove_leftovers(self._project_dir)  # temp files of killed writes
        trial_dirs = []
        for trial_dir in sorted(os.listdir(self._project_dir)):
            if not trial_dir.startswith("trial_"):
                continue
            trial_dirs.append(trial_dir[len("trial_"):])
            checkpoints.remove_leftovers(os.path.join(self._project_dir, trial_dir))
            state = read_state(os.path.join(self._project_dir, trial_dir, "trial.json"))
            if state is not None:
                trial = trial_module.Trial.from_state(state)
                self.trials[trial.trial_id] = trial
        given = self.hyperparameters
        state = read_state(fname)
        rebuilt = state is None
        state = self._rebuilt_state() if rebuilt else state
        lost = self._lost_ids(state, trial_dirs)
        self.set_state(self._known_trials_only(state, lost))
        self._adopt_changed_choices(given)
        self._lost_trials = set()
        for trial_id in lost:
            self._recover(trial_id, (state.get("ended_trials") or {}).get(trial_id))
        if rebuilt and lost:
            self.start_order = sorted(self.start_order, key=_id_order)
        for trial in self.ongoing_trials.values():
            self._retry_queue.append(trial.trial_id)
        self.ongoing_trials = {}
        # A trial saved as ended is never run again, whatever the oracle file says.
        self._retry_queue = [t for t in dict.fromkeys(self._retry_queue)
                             if t not in self.end_order]
        self._adopt_unlisted_trials()
        return None

    def _adopt_changed_choices(self, given):
        # keras-tuner restores the saved space over the one passed to the oracle; a Choice
        # whose values were changed since takes the new ones, so a dropped value is never
        # proposed again and an added one can be.
        def key(hp):
            return hp.name, json.dumps(hp.get_config()["conditions"], sort_keys=True)

        new = {key(hp): hp for hp in given.space if isinstance(hp, hp_module.Choice)}
        space, changed = [], False
        for hp in self.hyperparameters.space:
            update = new.get(key(hp)) if isinstance(hp, hp_module.Choice) else None
            if update is not None and list(update.values) != list(hp.values):
                logging.warning("hyperparameter %r has the values %s now (%s before); the "
                                "search proposes the new ones", hp.name, list(update.values),
                                list(hp.values))
                hp, changed = update, True
            space.append(hp)
        if changed:
            self.hyperparameters = hp_module.HyperParameters()
            self.hyperparameters.merge(space)
            self._on_space_changed()

    def _on_space_changed(self):
        """Called when a Choice's values changed on reload; oracles holding state tied to
        the old values rebuild it."""

    def _lost_ids(self, state, trial_dirs):
        # The ids handed out but not loaded: those the oracle file started, those of trial
        # directories without a readable file, and the gaps in keras-tuner's numbering
        # (0, 1, 2, ...), which it would otherwise hand out again for new trials.
        handed = set(state.get("start_order", [])) | set(trial_dirs) | set(self.trials)
        if handed and all(t.isdigit() for t in handed):
            width = max(len(t) for t in handed)
            taken = {int(t) for t in handed}
            handed |= {f"{n:0{width}d}" for n in range(max(taken)) if n not in taken}
        return sorted(handed - set(self.trials), key=_id_order)

    def _recover(self, trial_id, ended):
        """Puts lost trial ``trial_id`` back: rebuilt from ``ended`` (its entry in the
        oracle file), or as a trial to run again with new values."""
        from keras_tuner.engine import trial as trial_module

        hps = self.hyperparameters.copy()
        hps.values = dict(ended["values"]) if ended else {}
        trial = trial_module.Trial(hps, trial_id=trial_id,
                                   status=ended["status"] if ended else "IDLE")
        self.trials[trial_id] = trial
        if trial_id not in self.start_order:
            self.start_order.append(trial_id)
        if ended:
            trial.score, trial.best_step = ended["score"], ended["best_step"]
            trial.message = ended.get("message")
            if trial.score is not None and not hasattr(self.objective, "name_to_direction"):
                trial.metrics.register(self.objective.name, self.objective.direction)
                trial.metrics.update(self.objective.name, trial.score, step=trial.best_step)
            if trial_id not in self.end_order:
                self.end_order.append(trial_id)
            self._save_trial(trial)
            logging.warning("trial %s was rebuilt from %s", trial_id, self._get_oracle_fname())
            return
        self._lost_trials.add(trial_id)
        self._run_times[trial_id] = 0
        self._retry_queue.append(trial_id)
        logging.warning("trial %s of %s was lost; it runs again with new values", trial_id,
                        self._project_dir)

    @keras_tuner.synchronized
    def create_trial(self, tuner_id):
        """Creates the next trial as keras-tuner does; a lost trial due to run again gets
        its new values here, from the oracle's own proposal."""
        if _is_local(self._project_dir) and getattr(self, "_project_lock", None) is None:
            self._project_lock = run_lock.DirectoryLock(
                self._project_dir, f"keras-tuner project {self._project_dir}").acquire()
        lost = getattr(self, "_lost_trials", set())
        while (tuner_id not in self.ongoing_trials and self._retry_queue
               and self._retry_queue[-1] in lost):
            trial = self.trials[self._retry_queue[-1]]
            response = self.populate_space(trial.trial_id)
            lost.discard(trial.trial_id)
            if response["status"] == "RUNNING":
                trial.hyperparameters = self.hyperparameters.copy()
                trial.hyperparameters.values = response["values"]
                self._record_values(trial)
                self._save_trial(trial)
                break
            # nothing left to propose: the id is dropped from the search
            self._retry_queue.pop()
            del self.trials[trial.trial_id]
            self.start_order.remove(trial.trial_id)
        trial = super().create_trial(tuner_id)
        if trial.status == "STOPPED" and not self.ongoing_trials and self._project_lock:
            self._project_lock.release()  # the search is over; a new one locks again
            self._project_lock = None
        return trial

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

    def _known_trials_only(self, state, lost):
        # keras-tuner's lists may only name loaded trials; a lost trial keeps its place in
        # the start order and is put back by _recover.
        known = self.trials
        state = dict(state)
        for key in ("start_order", "end_order", "retry_queue"):
            state[key] = [t for t in dict.fromkeys(state.get(key, []))
                          if t in known or (key == "start_order" and t in lost)]
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
