"""An advisory lock on a directory one run writes to, so a second run on the same directory
stops at once instead of doing all the work beside the first one.

The lock is an ``flock`` on a lock file in the directory, which holds the holder's pid and
host for messages. The kernel drops an ``flock`` when its process dies, however it dies, so
a lock left by a killed run is simply taken over (with a warning naming the old holder), and
of two runs starting together exactly one gets it. Within one process the lock is shared: a
notebook may build its tuner twice.
"""

import atexit
import fcntl
import json
import os
import socket
import time

from absl import logging

from nases_tf.errors import NasesError

LOCK_NAME = ".nases.lock"

_HELD = {}  # real path of a locked directory -> the open lock file of this process


class LockedError(NasesError):
    """The directory is locked by another live run."""


def _read_holder(f):
    f.seek(0)
    try:
        holder = json.loads(f.read() or "null")
        return f"pid {int(holder['pid'])} on {holder['host']} (since {holder['since']})"
    except (ValueError, KeyError, TypeError):
        return None  # empty: its holder was killed as it took the lock


class DirectoryLock:
    """The lock on ``directory``, taken by ``acquire`` and given back by ``release`` (also
    a context manager).

    Args:
        directory: the directory to lock (created if missing).
        name: how messages name it (e.g. ``--output_dir=runs/a``); the path by default.
    """

    def __init__(self, directory, name=None):
        self.directory = str(directory)
        self.name = name or self.directory
        self.path = os.path.join(self.directory, LOCK_NAME)
        self._key = None

    def acquire(self):
        """Takes the lock, or raises LockedError naming the live holder."""
        os.makedirs(self.directory, exist_ok=True)
        key = os.path.realpath(self.directory)
        if key in _HELD:
            _HELD[key][1] += 1
            self._key = key
            return self
        while True:
            f = open(self.path, "a+")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(f) or "another run"
                f.close()
                raise LockedError(
                    f"{self.name} is in use by {holder}; wait for that run "
                    "to end (the lock goes with it)") from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(f.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            f.close()  # the holder removed the file as we opened it: lock the new one
        old = _read_holder(f)
        if old is not None:
            logging.warning("%s: taking over the lock of %s, which is no longer running",
                            self.name, old)
        f.seek(0)
        f.truncate()
        json.dump({"pid": os.getpid(), "host": socket.gethostname(),
                   "since": time.strftime("%Y-%m-%d %H:%M:%S")}, f)
        f.flush()
        _HELD[key] = [f, 1]
        self._key = key
        return self

    def release(self):
        """Gives the lock back; the file goes when the last holder in this process lets go."""
        key, self._key = self._key, None
        if key is None or key not in _HELD:
            return
        _HELD[key][1] -= 1
        if _HELD[key][1] > 0:
            return
        f, _ = _HELD.pop(key)
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass
        f.close()

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


@atexit.register
def _release_all():
    # A normal exit takes the lock files along; after a kill the kernel drops the locks and
    # the next run takes the files over.
    for key, (f, _) in list(_HELD.items()):
        try:
            os.remove(os.path.join(key, LOCK_NAME))
        except OSError:
            pass
        f.close()
    _HELD.clear()
