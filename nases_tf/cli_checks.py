"""The command line's checks of a run as a whole before TensorFlow starts: numbers, seed,
output directory, the dataset file, and the settings recorded in ``--output_dir``. They
read but never write; each failure is one ConfigError / DataError line."""

import os

from nases_tf import npz_images, run_identity, validation
from nases_tf.errors import DataError

FLOAT_FLAGS = ("pretrain_lr", "controller_lr", "baseline_decay", "entropy_weight",
               "initial_sigma")
# Image sides this TensorFlow build trains with oneDNN's custom ops on; larger images crash
# a strided 1x1 convolution's training step (SIGSEGV) unless the custom ops are off.
ONEDNN_SAFE_SIDE = 48


def _check_batches(values, train_count):
    batch = values["batch_size"]
    needs = []
    if values["stage"] in ("search", "all"):
        val_count = train_count - int(round(train_count * 0.9))
        needs += [("search training split", train_count - val_count),
                  ("search validation split", val_count)]
    if values["stage"] in ("final", "all"):
        needs.append(("final training split", train_count))
    for what, count in needs:
        if count < batch:
            raise DataError(f"--dataset={values['dataset']}: the {what} has {count} "
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


def check_flags(values):
    """Checks the seed, the float flags and the output directory.

    Args:
        values: dict of flag name -> value.
    """
    validation.check_seed(values["seed"])
    for name in FLOAT_FLAGS:
        validation.check_finite(name, values[name])
    validation.check_output_dir(values["output_dir"])


def check_inputs(values, space, arch=None):
    """Checks the dataset file and the settings recorded in ``--output_dir`` (after
    ``check_flags``); returns extras for the run
    (``dataset_sha256``, and ``onednn_off`` when the workaround above applies).

    Args:
        values: dict of flag name -> value.
        space: the search space.
        arch: the architecture ``--stage=final`` trains (None otherwise).
    """
    extras = {"onednn_off": False}
    if values["dataset"].startswith("npz:") and values["stage"] != "pretrain":
        train_x, _, _, _, _ = npz_images.read_npz(values["dataset"][4:])
        _check_batches(values, len(train_x))
        extras["onednn_off"] = avoid_onednn_crash(train_x.shape[1:])
    extras["dataset_sha256"] = run_identity.dataset_digest(values["dataset"])
    run_identity.check_run(values["output_dir"], values["stage"], values, space, arch,
                           extras["dataset_sha256"], values["overwrite"])
    return extras


def remove_if_left_empty(path, existed):
    """Removes ``--output_dir`` after a refused run when this run created it and left it
    empty (directories only, innermost first).

    Args:
        path: the output directory.
        existed: whether it existed before the run.
    """
    if existed or not os.path.isdir(path):
        return
    for root, _, _ in sorted(os.walk(path), key=lambda w: -len(w[0])):
        try:
            os.rmdir(root)
        except OSError:
            return
