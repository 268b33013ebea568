"""``bin/run_nases.py --help``: the flags grouped by the part of a run they set, each with
its default and allowed values, and the weight-sharing levers with the value each
``--ws_schedule`` gives them. (absl's own ``--helpfull`` lists every flag of every module.)
"""

import dataclasses

from nases_tf.cli.flags import BINDINGS, FLAGS
from nases_tf.data.images import DataConfig
from nases_tf.embedding.config import EmbeddingConfig
from nases_tf.search.config import SearchConfig
from nases_tf.search.schedules import SCHEDULES, Levers
from nases_tf.spaces.config import SpaceConfig
from nases_tf.training.config import FinalConfig, RuntimeConfig

GROUPS = (
    ("run", "what to run, where, and how it is seeded and shown"),
    ("data", "the images"),
    ("space", "the search space and the child networks of search and final training"),
    ("stage 1", "the architecture autoencoder (simulator and decoder)"),
    ("search", "stage 2: the controller's search"),
    ("weight-sharing levers", "each defaults to its value in --ws_schedule"),
    ("final training", "the returned architecture trained from scratch"),
)
_GROUP_OF_CONFIG = {DataConfig: "data", SpaceConfig: "space", EmbeddingConfig: "stage 1",
                    SearchConfig: "search", Levers: "weight-sharing levers",
                    FinalConfig: "final training", RuntimeConfig: "run"}
_GROUP_OF_FLAG = {
    "space": "space", "filters": "space", "batch_size": "space", "cutout": "space",
    "ws_schedule": "weight-sharing levers",
    # the controller's settings live with the embedding it searches, but belong to stage 2
    **{name: "search" for name in ("samples_per_update", "controller_lr", "baseline_decay",
                                   "entropy_weight", "initial_sigma")}}
USAGE = ("usage: bin/run_nases.py --flagfile=configs/X.cfg [--flag=value ...] "
         "--output_dir=DIR\n\n"
         "  --flagfile: a file of flags, one per line (configs/*.cfg); flags after it win.")


def group_of(name):
    """The help group of flag ``name``."""
    if name in _GROUP_OF_FLAG:
        return _GROUP_OF_FLAG[name]
    binding = BINDINGS.get(name)
    if binding is None:
        return "run"
    owner = binding.targets[0][0]
    return _GROUP_OF_CONFIG.get(owner, "run")


def _describe(flag):
    notes = []
    if flag.name in {f.name for f in dataclasses.fields(Levers)}:
        notes.append(", ".join(f"{name}: {_plain(getattr(levers, flag.name))}"
                               for name, levers in SCHEDULES.items()))
    elif flag.default is None:
        notes.append("required" if flag.name == "output_dir" else "default: none")
    else:
        notes.append(f"default: {_plain(flag.default)}")
    return f"  --{flag.name}: {flag.help} ({'; '.join(notes)})"


def _plain(value):
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value) or "''"
    return "''" if value == "" else str(value)


def grouped_help():
    """The text ``--help`` prints."""
    by_group = {name: [] for name, _ in GROUPS}
    for flag in FLAGS.get_flags_for_module("nases_tf.cli.flags"):
        by_group[group_of(flag.name)].append(_describe(flag))
    parts = [USAGE]
    for name, what in GROUPS:
        if by_group[name]:
            parts.append(f"{name} ({what}):\n" + "\n".join(by_group[name]))
    parts.append("absl's own flags (logging, --helpfull): bin/run_nases.py --helpfull")
    return "\n\n".join(parts)
