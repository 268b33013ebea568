"""The command line's checks of a run as a whole before TensorFlow starts: the output
directory, the dataset file's contents, the architecture ``--stage=final`` trains, and the
settings recorded in ``--output_dir``. They read but never write; each failure is one
ConfigError / DataError / ArchitectureError line. (Each flag's own value is checked as the
flags are parsed: ``nases_tf.cli.flags``.)"""

import dataclasses
import os
import tempfile

from nases_tf.cli import run_record
from nases_tf.cli.config import record_labels
from nases_tf.data import npz_images
from nases_tf.errors import ConfigError, DataError
from nases_tf.spaces import arch_json
from nases_tf.storage import fileio

# Image sides this TensorFlow build trains with oneDNN's custom ops on; larger images crash
# a strided 1x1 convolution's training step (SIGSEGV) unless the custom ops are off.
ONEDNN_SAFE_SIDE = 48


@dataclasses.dataclass(frozen=True)
class RunInputs:
    """What the checks made of a run's inputs.

    Attributes:
        space: the search space.
        arch: the architecture ``--stage=final`` trains (None: the search decides).
        labels: ``{setting path: label}`` of the run's settings, for the run record.
        onednn_off: whether oneDNN's custom ops were turned off for large images.
    """

    space: object
    arch: tuple
    labels: dict
    onednn_off: bool


def check_output_dir(path):
    """Raises ConfigError unless ``--output_dir`` is, or can be created as, a writable
    directory. Probes with a temporary file that is removed at once.

    Args:
        path: the flag's value.
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise ConfigError(f"--output_dir={path} is a file, not a directory")
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        if os.path.islink(existing):  # os.makedirs cannot create what a symlink points to
            where = "" if existing == os.path.abspath(path) else f" cannot be created: {existing}"
            raise ConfigError(f"--output_dir={path}{where} is a symlink to "
                              f"{os.readlink(existing)}, which does not exist")
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ConfigError(f"--output_dir={path} cannot be created: {existing} is a file")
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".nases-write-test-")
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        raise ConfigError(f"--output_dir={path} is not writable ({exc.strerror or exc} "
                          f"in {existing})") from None


def check_batches(config, train_count):
    """Raises DataError unless every split the run trains on holds one batch.

    Args:
        config: the ``RunConfig``.
        train_count: examples of the dataset's training split.
    """
    needs = []
    if config.stage in ("search", "all"):
        val_count = train_count - int(round(train_count * 0.9))
        needs += [("search training split", train_count - val_count, config.search.batch_size),
                  ("search validation split", val_count, config.search.batch_size)]
    if config.stage in ("final", "all"):
        needs.append(("final training split", train_count, config.final.batch_size))
    for what, count, batch in needs:
        if count < batch:
            raise DataError(f"--dataset={config.data.dataset}: the {what} has {count} "
                            f"examples, fewer than one batch of --batch_size={batch}")


def avoid_onednn_crash(image_shape):
    """Turns oneDNN's custom ops off (before TensorFlow is imported) for images larger than
    the sides known to train safely; returns whether it did.

    Args:
        image_shape: (height, width, channels) of the dataset's images.
    """
    if max(image_shape[:2]) <= ONEDNN_SAFE_SIDE or "TF_ENABLE_ONEDNN_OPTS" in os.environ:
        return False
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
    return True


def load_arch(space, text, seed):
    """The architecture ``--arch`` names: ``random`` (seeded) or an arch.json file.

    Args:
        space: the search space.
        text: the flag's value.
        seed: the run seed (for ``random``).
    """
    from nases_tf.training.random_baseline import random_architecture

    if text == "random":
        return random_architecture(space, seed)
    return arch_json.load_architecture(space, fileio.read_json(text, "--arch"),
                                       f"--arch={text}")


def final_arch(config, space):
    """The architecture ``--stage=final`` trains: ``--arch``, else the finished search's.

    Args:
        config: the ``RunConfig``.
        space: the search space.
    """
    searched = os.path.join(config.output_dir, "search", "arch.json")
    arch = config.arch or (searched if os.path.isfile(searched) else None)
    if not arch:
        raise ConfigError("--stage=final needs --arch=random or --arch=PATH.json (or a "
                          f"finished search in {searched})")
    return load_arch(space, arch, config.runtime.seed)


def check_inputs(config):
    """Checks the output directory, the dataset's contents, the final stage's architecture
    and the settings recorded in ``--output_dir``; returns the ``RunInputs``.

    Args:
        config: the ``RunConfig``.
    """
    check_output_dir(config.output_dir)
    space = config.space.build()
    config.embedding.dim_for(space.num_decisions)
    onednn_off = False
    if config.data.dataset.startswith("npz:") and config.stage != "pretrain":
        train_x, _, _, _, _ = npz_images.read_npz(config.data.dataset[4:])
        check_batches(config, len(train_x))
        onednn_off = avoid_onednn_crash(train_x.shape[1:])
    arch = final_arch(config, space) if config.stage == "final" else None
    labels = record_labels(config)
    run_record.check_run(config, labels, space.to_json(arch) if arch is not None else None)
    return RunInputs(space, arch, labels, onednn_off)


def remove_if_left_empty(path, existed):
    """Removes ``--output_dir`` after a refused run when this run created it and left it
    empty (directories only, innermost first).

    Args:
        path: the output directory.
        existed: whether it existed before the run.
    """
    if existed or not path or not os.path.isdir(path):
        return
    for root, _, _ in sorted(os.walk(path), key=lambda w: -len(w[0])):
        try:
            os.rmdir(root)
        except OSError:
            return
