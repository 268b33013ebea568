"""Shared fixtures: paths to the read-only data in ../shared/data and a quiet TensorFlow."""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
NATURAL_NPZ = SHARED_DATA / "natural-images-10class.npz"
NB201_CSV = SHARED_DATA / "nasbench201_cifar10.csv"
NB201_SEEDS_CSV = SHARED_DATA / "nasbench201_200ep_seeds.csv"
HPO_DIR = SHARED_DATA / "hpo"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Runs the tests marked slow first (each module's in their order), and makes
    ``--dist loadgroup`` group again under pytest 9.2.

    pytest-xdist hands out the shared-fixture groups first and single tests in collection
    order, so a long test collected late would run alone while the other worker has nothing
    left. And pytest-xdist 3.8 marks an item's group by rewriting ``item._nodeid``, which
    pytest 9.2 no longer reads (its node ids live in ``item._id``), so without the rewrite
    below every ``xdist_group`` would be ignored and a shared module fixture built once per
    worker."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # an older pytest reads ``_nodeid`` itself
        return
    for item in items:
        grouped = getattr(item, "_nodeid", None)
        if isinstance(grouped, str) and grouped != item.nodeid:
            item._id = NodeId.parse(grouped)


@pytest.fixture(scope="session")
def natural_npz():
    """Path of the shipped natural-image npz (real photos, 10 classes, 32x32)."""
    if not NATURAL_NPZ.exists():
        pytest.skip(f"{NATURAL_NPZ} not found: the shipped data must stand beside the checkout")
    return str(NATURAL_NPZ)


def _every_nth_photo(natural_npz, tmp_path_factory, n, name):
    """Path of a new npz of every ``n``-th photo of ``natural_npz`` (the file holds its
    classes one after the other, so each keeps about 1/n of its photos)."""
    import numpy as np

    with np.load(natural_npz) as full:
        x, y = full["x"][::n], full["y"][::n]
    path = tmp_path_factory.mktemp(name) / f"{name}.npz"
    np.savez(path, x=x, y=y)
    return str(path)


@pytest.fixture(scope="session")
def natural_npz_half(natural_npz, tmp_path_factory):
    """Path of an npz of every other shipped photo (917 of them): with ``--batch_size=64``
    final training takes 11 steps an epoch instead of 23."""
    return _every_nth_photo(natural_npz, tmp_path_factory, 2, "natural_half")


@pytest.fixture(scope="session")
def natural_npz_quarter(natural_npz, tmp_path_factory):
    """Path of an npz of every fourth shipped photo (459 of them, 44 to 48 a class), for
    command-line runs whose checks do not depend on how many photos they train on: with
    ``--batch_size=32`` the search split has 10 training batches and 1 validation batch."""
    return _every_nth_photo(natural_npz, tmp_path_factory, 4, "natural_quarter")


@pytest.fixture(scope="session")
def nb201_table():
    """The shipped NAS-Bench-201 table (CIFAR-10 column) as a ``NasBench201Table``."""
    if not NB201_CSV.is_file():
        pytest.skip(f"{NB201_CSV} not found: the shipped data must stand beside the checkout")
    from nases_tf.benchmarks.nasbench201 import NasBench201Table

    return NasBench201Table.load(NB201_CSV, "cifar10")


@pytest.fixture(scope="session")
def nb201_seeds_table():
    """The shipped per-seed NAS-Bench-201 table (CIFAR-10 columns) as a
    ``NasBench201Table`` with validation runs."""
    if not NB201_SEEDS_CSV.is_file():
        pytest.skip(f"{NB201_SEEDS_CSV} not found: the shipped data must stand beside the "
                    "checkout")
    from nases_tf.benchmarks.nasbench201 import NasBench201Table

    return NasBench201Table.load(NB201_SEEDS_CSV, "cifar10")


@pytest.fixture(autouse=True)
def _float32_policy():
    """Every test starts and ends with the float32 Keras policy."""
    import keras
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(scope="session")
def small_coder(tmp_path_factory):
    """An LSTM coder of a 3-layer macro space (m=6, n=4), pretrained and saved: (space,
    coder, directory, pretraining metrics)."""
    from nases_tf.embedding.coder import Coder
    from nases_tf.embedding.config import EmbeddingConfig
    from nases_tf.spaces import MacroSpace

    space = MacroSpace(3)
    coder = Coder(space, EmbeddingConfig(coder="lstm", embedding_dim=4, pretrain_steps=400),
                  seed=0, log_every=400)
    directory = str(tmp_path_factory.mktemp("coder"))
    metrics = coder.pretrain(directory, verbose=0)
    coder.save(directory)
    return space, coder, directory, metrics


# A tiny run of every stage through bin/run_nases.py: the tuned schedule, its costly levers
# cut down (3 fine-tuning steps, 2 random candidates, 1-epoch re-ranking).
TINY_RUN = ["--stage=all", "--layers=4", "--filters=8", "--batch_size=64", "--seed=1",
            "--verbose=0", "--coder=lstm", "--pretrain_steps=30", "--search_epochs=1",
            "--controller_steps=2", "--samples_per_update=2", "--rescore_samples=2",
            "--finetune_steps=3", "--rescore_random=2", "--rerank_top=2", "--rerank_epochs=1",
            "--final_epochs=1"]


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory, natural_npz):
    """A finished ``TINY_RUN`` on the shipped photos: (its flags, output directory, the
    finished process). Tests that change the directory work on a copy (``copy_run``)."""
    from cli_helpers import run

    out = tmp_path_factory.mktemp("finished") / "run"
    flags = TINY_RUN + [f"--dataset=npz:{natural_npz}"]
    done = run(*flags, f"--output_dir={out}")
    assert done.returncode == 0, done.stderr[-3000:]
    return flags, out, done


@pytest.fixture
def copy_run(finished_run, tmp_path):
    """A copy of ``finished_run``'s directory to change: (flags with its --output_dir, the
    copy's path)."""
    import shutil

    flags, out, _ = finished_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    return flags + [f"--output_dir={copy}"], copy
