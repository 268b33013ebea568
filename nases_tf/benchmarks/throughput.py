"""Throughput of the weight-sharing search, measured side by side in one process.

Installed as ``nases-benchmark-throughput``; ``bin/benchmark_throughput.py`` calls the same
``run``. Example::

    nases-benchmark-throughput --layers=12 --filters=36 --batch_size=128 --archs=5 \\
        --output_json=runs/throughput.json

Sections of the report (each a key of the output JSON's ``sections``):

- ``supernet_vs_standalone``: training images/second of the supernet (macro, or micro with
  ``--space=micro``) on random architectures, with the train step the search runs
  (``make_train_step``), against the standalone models of the same architectures, trained
  with the same loss (cross-entropy + L2) and optimizer (SGD, Nesterov momentum, SGDR) by
  ``networks.steps.make_train_step``, on the same fixed batch. The steps that trace a
  function are not timed. Where the search's step runs segment by segment (micro), the
  base class's one-graph step is timed too, which tells the segmenting's share of a gap
  from the supernet's own. Goal: ratio >= ``SUPERNET_GOAL``.
- ``input_pipeline``: images/second that ``pipeline.train_batches`` produces (the shipped
  natural-image npz, or random uint8 images without it) against the images/second the
  supernet trains on. Goal: ratio >= ``PIPELINE_GOAL``.
- ``controller_share``: the share of a search epoch's time spent in the controller and
  decoder. Goal: at most ``CONTROLLER_GOAL``.

Nothing here asserts on time: the ratios are reported, with their goals, for a person to read.
"""

import os

# Set before TensorFlow is imported: its C++ start-up chatter hides the report.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import time  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import flags  # noqa: E402

from nases_tf import data  # noqa: E402
from nases_tf.data import pipeline  # noqa: E402

from nases_tf.training import sgdr  # noqa: E402
from nases_tf.benchmarks.entry import run_app  # noqa: E402
from nases_tf.storage.fileio import write_json  # noqa: E402
from nases_tf.networks import build_network, build_supernet  # noqa: E402
from nases_tf.networks.steps import make_train_step  # noqa: E402
from nases_tf.networks.supernet import Supernet  # noqa: E402
from nases_tf.spaces import MacroSpace, MicroSpace  # noqa: E402

SUPERNET_GOAL = 0.9
PIPELINE_GOAL = 5.0
CONTROLLER_GOAL = 0.01
# The shipped photos, where they stand beside the checkout (../shared/data).
DEFAULT_NPZ = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))), "shared", "data", "natural-images-10class.npz")


def define_flags(flag_values=None):
    """Defines the benchmark's absl flags.

    Args:
        flag_values: an absl ``FlagValues`` (absl's global ``FLAGS`` if None).
    """
    fv = flag_values if flag_values is not None else flags.FLAGS
    flags.DEFINE_enum("space", "macro", ["macro", "micro"], "The search space.",
                      flag_values=fv)
    flags.DEFINE_integer("layers", 12, "Layers of the macro space (L).", flag_values=fv)
    flags.DEFINE_integer("nodes", 5, "Nodes per cell of the micro space (B).", flag_values=fv)
    flags.DEFINE_integer("cells_per_stage", 5, "Normal cells per stage of the micro space (N).",
                         flag_values=fv)
    flags.DEFINE_integer("filters", 36, "Channels of the first stage (F).", flag_values=fv)
    flags.DEFINE_integer("batch_size", 128, "Training batch size.", flag_values=fv)
    flags.DEFINE_integer("archs", 5, "Number of random architectures to time.", flag_values=fv)
    flags.DEFINE_integer("steps", 8, "Timed training steps per architecture and model.",
                         flag_values=fv)
    flags.DEFINE_integer("warmup_steps", 2,
                         "Untimed steps before timing each model (the first one traces).",
                         flag_values=fv)
    flags.DEFINE_integer("pipeline_batches", 60, "Timed batches of the input pipeline.",
                         flag_values=fv)
    flags.DEFINE_string("data", DEFAULT_NPZ,
                        "npz file of uint8 images 'x' and labels 'y' for the input pipeline; "
                        "random images when it does not exist.", flag_values=fv)
    flags.DEFINE_integer("seed", 0, "Seed of the architectures, weights and data.",
                         flag_values=fv)
    flags.DEFINE_string("output_json", None, "Write the results here (JSON).", flag_values=fv)


def _sync(value):
    return [np.asarray(v) for v in tf.nest.flatten(value)]


def _timed(step, args):
    wall, cpu = time.perf_counter(), time.process_time()
    _sync(step(*args))
    return time.perf_counter() - wall, time.process_time() - cpu


def supernet_vs_standalone(space, archs, filters=36, batch_size=128, steps=8,
                           warmup_steps=2, seed=0, log=print):
    """Training images/second of the supernet and of the standalone models of ``archs``.

    The supernet's training step is traced once (``warmup_steps`` untimed steps). Then for
    each architecture in turn a standalone model is built and traced (``warmup_steps``
    untimed steps), and ``steps`` supernet steps on the architecture alternate with
    ``steps`` standalone steps, so that a slow drift of the machine (other processes) hits
    both alike. Besides wall time, the process's CPU time is recorded: on a shared machine it
    is the steadier measure of the work each step does.

    Returns a dict with per-architecture and total images/second and the ratios.

    Args:
        space: the search space of ``archs`` (one with a supernet).
        archs: the architectures to time.
        filters: channels of the first stage.
        batch_size: images per step.
        steps: timed steps per architecture and model.
        warmup_steps: untimed steps before timing each model.
        seed: seed of the batch.
        log: called with one line per architecture.
    """
    rng = np.random.default_rng(seed)
    images = tf.constant(rng.normal(size=(batch_size, 32, 32, 3)).astype(np.float32))
    labels = tf.constant(rng.integers(0, 10, size=batch_size).astype(np.int64))
    supernet = build_supernet(space, filters=filters)
    sn_step = supernet.make_train_step(sgdr.child_optimizer(100), batch_size=batch_size)
    # The one-graph step, where the search's differs from it (same loss and updates).
    one_graph = (Supernet.make_train_step(supernet, sgdr.child_optimizer(100), batch_size)
                 if type(supernet).make_train_step is not Supernet.make_train_step else None)
    arch_tensors = [supernet.arch_tensor(a) for a in archs]
    start = time.perf_counter()
    for s in range(max(1, warmup_steps)):
        _sync(sn_step(images, labels, arch_tensors[s % len(archs)]))
    sn_trace = time.perf_counter() - start
    if one_graph is not None:
        for s in range(max(1, warmup_steps)):
            _sync(one_graph(images, labels, arch_tensors[s % len(archs)]))
    rows, totals = [], np.zeros((3, 2))  # [supernet, standalone, one graph] x [wall, cpu]
    for a, arch in enumerate(archs):
        model = build_network(space, arch, filters=filters)
        sa_step = make_train_step(model, sgdr.child_optimizer(100))
        for _ in range(max(1, warmup_steps)):
            _sync(sa_step(images, labels))
        times = np.zeros((3, steps, 2))
        for s in range(steps):
            times[0, s] = _timed(sn_step, (images, labels, arch_tensors[a]))
            times[1, s] = _timed(sa_step, (images, labels))
            if one_graph is not None:
                times[2, s] = _timed(one_graph, (images, labels, arch_tensors[a]))
        totals += times.sum(axis=1)
        sums = times.sum(axis=1)
        row = {"arch": space.readable(arch),
               "supernet_images_per_second": batch_size * steps / sums[0, 0],
               "standalone_images_per_second": batch_size * steps / sums[1, 0],
               "ratio": sums[1, 0] / sums[0, 0],
               "cpu_ratio": sums[1, 1] / sums[0, 1],
               "supernet_median_step_s": float(np.median(times[0, :, 0])),
               "standalone_median_step_s": float(np.median(times[1, :, 0]))}
        if one_graph is not None:
            row.update(one_graph_ratio=sums[1, 0] / sums[2, 0],
                       one_graph_cpu_ratio=sums[1, 1] / sums[2, 1],
                       one_graph_median_step_s=float(np.median(times[2, :, 0])))
        rows.append(row)
        log(f"arch {a}: supernet {row['supernet_images_per_second']:.1f} img/s, standalone "
            f"{row['standalone_images_per_second']:.1f} img/s, ratio {row['ratio']:.3f} "
            f"(cpu time {row['cpu_ratio']:.3f})  [{row['arch']}]")
        del model, sa_step
    n_images = batch_size * steps * len(archs)
    out = {"supernet_images_per_second": n_images / totals[0, 0],
           "standalone_images_per_second": n_images / totals[1, 0],
           "ratio": totals[1, 0] / totals[0, 0],
           "cpu_ratio": totals[1, 1] / totals[0, 1],
           "median_ratio": float(np.median([r["ratio"] for r in rows])),
           "supernet_first_steps_s": sn_trace,
           "supernet_traces": int(sn_step.experimental_get_tracing_count()),
           "per_arch": rows, "goal": SUPERNET_GOAL}
    if one_graph is not None:
        out.update(one_graph_images_per_second=n_images / totals[2, 0],
                   one_graph_ratio=totals[1, 0] / totals[2, 0],
                   one_graph_cpu_ratio=totals[1, 1] / totals[2, 1])
    return out


def input_pipeline(path, batch_size=128, batches=60, seed=0, consumer_images_per_second=None):
    """Images/second of ``pipeline.train_batches`` (iterated alone, nothing consuming it), and
    its ratio to ``consumer_images_per_second`` (the training throughput it must feed).

    Args:
        path: npz file of uint8 images ``x`` and labels ``y``; random images when it does
            not exist (or is None).
        batch_size: images per batch.
        batches: timed batches.
        seed: seed of the pipeline and of the random images.
        consumer_images_per_second: the training throughput to compare with (None: no ratio).
    """
    if path and os.path.exists(path):
        images = data.load_images("npz:" + path)
        x, y, source = images.train_x, images.train_y, images.source
    else:
        rng = np.random.default_rng(seed)
        x = rng.integers(0, 256, size=(max(2048, batch_size), 32, 32, 3), dtype=np.uint8)
        y = rng.integers(0, 10, size=len(x)).astype(np.int64)
        source = "random uint8 images"
    mean, std = pipeline.channel_stats(x)
    it = iter(pipeline.train_batches(x, y, batch_size, seed, mean, std))
    for _ in range(3):
        _sync(next(it))
    start = time.perf_counter()
    for _ in range(batches):
        _sync(next(it))
    seconds = time.perf_counter() - start
    out = {"source": source, "batches": batches,
           "images_per_second": batches * batch_size / seconds,
           "consumer_images_per_second": consumer_images_per_second, "goal": PIPELINE_GOAL}
    out["ratio"] = (out["images_per_second"] / consumer_images_per_second
                    if consumer_images_per_second else None)
    return out


def controller_share(space, filters, batch_size, supernet_images_per_second, seed=0,
                     train_examples=45000, controller_steps=50, samples_per_update=4,
                     repeats=5, log=print):
    """Share of one search epoch's wall time spent in the controller and the decoder.

    Times, in this process, what the search loop does per epoch with the paper's schedule
    (``search.Search``): one batched controller sample of an architecture per training
    minibatch (``train_examples // batch_size`` of them), ``controller_steps`` controller
    steps (sample, REINFORCE update, chain advance) with the default LSTM coder, and a
    supernet reward evaluation per sample on a validation minibatch. The shared-weight
    training time comes from the supernet's measured images/second.

    Args:
        space: the search space (one with a supernet).
        filters: channels of the supernet's first stage.
        batch_size: images per minibatch.
        supernet_images_per_second: measured shared-weight training throughput.
        seed: seed of the controller and the data.
        train_examples: size of the search's training split.
        controller_steps: controller steps per search epoch.
        samples_per_update: architectures per controller step.
        repeats: timed repetitions of each part.
        log: called with the result line.
    """
    from nases_tf.embedding.coder import build_decoder, build_simulator
    from nases_tf.embedding.config import default_embedding_dim
    from nases_tf.embedding.controller import EmbeddingController

    m = space.num_decisions
    n = default_embedding_dim(m)
    controller = EmbeddingController(build_simulator(m, n), build_decoder(m, n),
                                     num_chains=samples_per_update, seed=seed)
    steps_per_epoch = train_examples // batch_size
    epoch_states = np.resize(controller.chains.numpy(), (steps_per_epoch, m))
    controller.sample(epoch_states)  # trace
    start = time.perf_counter()
    for _ in range(repeats):
        controller.sample(epoch_states)
    sample_epoch = (time.perf_counter() - start) / repeats

    def controller_step():
        states = controller.chains.numpy()
        embeddings, decoded = controller.sample()
        controller.update(states, embeddings, np.random.default_rng(0).random(len(states)))
        controller.advance(decoded)

    controller_step()  # trace
    start = time.perf_counter()
    for _ in range(repeats):
        controller_step()
    step_time = (time.perf_counter() - start) / repeats

    supernet = build_supernet(space, filters=filters)
    eval_step = supernet.make_eval_step(batch_size=batch_size)
    rng = np.random.default_rng(seed)
    images = tf.constant(rng.normal(size=(batch_size, 32, 32, 3)).astype(np.float32))
    labels = tf.constant(rng.integers(0, 10, batch_size).astype(np.int64))
    archs = [tf.constant(space.sample(rng), tf.int32) for _ in range(repeats + 1)]
    _sync(eval_step(images, labels, archs[0]))  # trace
    start = time.perf_counter()
    for arch in archs[1:]:
        _sync(eval_step(images, labels, arch))
    eval_time = (time.perf_counter() - start) / repeats

    controller_seconds = sample_epoch + controller_steps * step_time
    training_seconds = steps_per_epoch * batch_size / supernet_images_per_second
    reward_seconds = controller_steps * samples_per_update * eval_time
    total = controller_seconds + training_seconds + reward_seconds
    out = {"share": controller_seconds / total, "goal": CONTROLLER_GOAL,
           "controller_seconds_per_epoch": controller_seconds,
           "sample_per_epoch_seconds": sample_epoch,
           "controller_step_seconds": step_time,
           "shared_training_seconds_per_epoch": training_seconds,
           "reward_seconds_per_epoch": reward_seconds,
           "embedding_dim": n, "decisions": m, "steps_per_epoch": steps_per_epoch}
    log(f"controller share of a search epoch: {out['share']:.4f} "
        f"({controller_seconds:.2f} s of {total:.1f} s)")
    return out


def run_benchmark(layers=12, filters=36, batch_size=128, archs=5, steps=8, warmup_steps=2,
                  pipeline_batches=60, data_path=DEFAULT_NPZ, seed=0, log=print,
                  space_name="macro", nodes=5, cells_per_stage=5):
    """Runs every section on a macro (or micro) space; returns the result dict (``config``
    and ``sections``).

    Args:
        layers: layers of the macro space, L.
        filters: channels of the first stage, F.
        batch_size: images per step.
        archs: number of random architectures to time.
        steps: timed steps per architecture and model.
        warmup_steps: untimed steps before timing each model.
        pipeline_batches: timed batches of the input pipeline.
        data_path: npz file for the input pipeline (random images when it does not exist).
        seed: seed of the architectures, weights and data.
        log: called with progress lines.
        space_name: ``macro`` or ``micro``.
        nodes, cells_per_stage: the micro space's B and N.
    """
    space = (MicroSpace(nodes=nodes, cells_per_stage=cells_per_stage)
             if space_name == "micro" else MacroSpace(layers))
    rng = np.random.default_rng(seed)
    arch_list = [space.sample(rng) for _ in range(archs)]
    keras.utils.set_random_seed(seed)
    config = {"space": space.config(), "layers": layers, "filters": filters, "batch_size": batch_size, "archs": archs,
              "steps": steps, "warmup_steps": warmup_steps,
              "pipeline_batches": pipeline_batches, "data": data_path, "seed": seed,
              "tensorflow": tf.__version__,
              "devices": [d.device_type for d in tf.config.list_physical_devices()],
              "cpu_count": os.cpu_count()}
    sections = {}
    sections["supernet_vs_standalone"] = supernet_vs_standalone(
        space, arch_list, filters, batch_size, steps, warmup_steps, seed, log)
    sections["input_pipeline"] = input_pipeline(
        data_path, batch_size, pipeline_batches, seed,
        sections["supernet_vs_standalone"]["supernet_images_per_second"])
    sections["controller_share"] = controller_share(
        space, filters, batch_size,
        sections["supernet_vs_standalone"]["supernet_images_per_second"], seed, log=log)
    return {"config": config, "sections": sections}


def format_table(result):
    """The small table the benchmark prints.

    Args:
        result: the dict ``run_benchmark`` returns.
    """
    s = result["sections"]
    sn, pipe = s["supernet_vs_standalone"], s["input_pipeline"]
    source = "npz images" if pipe["source"].startswith("npz:") else "random images"

    def row(label, images=None, ratio=None, goal=None, fmt=".3f"):
        return (f"{label:<36}{'' if images is None else f'{images:.1f}':>10}"
                f"{'' if ratio is None else format(ratio, fmt):>8}"
                f"{'' if goal is None else f'>={goal:g}':>8}")

    share = s.get("controller_share")
    lines = [f"{'measure':<36}{'images/s':>10}{'ratio':>8}{'goal':>8}",
             row("supernet training, random archs", sn["supernet_images_per_second"]),
             row("standalone training, same archs", sn["standalone_images_per_second"]),
             row("  supernet / standalone (wall)", ratio=sn["ratio"], goal=sn["goal"]),
             row("  supernet / standalone (CPU time)", ratio=sn["cpu_ratio"])]
    if "one_graph_ratio" in sn:
        lines += [row("one-graph supernet step", sn["one_graph_images_per_second"]),
                  row("  one graph / standalone (wall)", ratio=sn["one_graph_ratio"]),
                  row("  one graph / standalone (CPU time)", ratio=sn["one_graph_cpu_ratio"])]
    lines += [row(f"input pipeline ({source})", pipe["images_per_second"]),
              row("  pipeline / supernet training", ratio=pipe["ratio"], goal=pipe["goal"],
                  fmt=".1f"),
              row("controller+decoder share of search", ratio=share["share"], fmt=".4f")
              + f"{'<=' + format(share['goal'], 'g'):>8}"]
    return "\n".join(line.rstrip() for line in lines)


def main(flag_values):
    """Runs the benchmark with parsed flags, prints its table and writes the JSON report.

    Args:
        flag_values: parsed absl ``FlagValues`` holding the flags of ``define_flags``.
    """
    fv = flag_values
    result = run_benchmark(fv.layers, fv.filters, fv.batch_size, fv.archs, fv.steps,
                           fv.warmup_steps, fv.pipeline_batches, fv.data, fv.seed,
                           space_name=fv.space, nodes=fv.nodes,
                           cells_per_stage=fv.cells_per_stage)
    print(format_table(result))
    if fv.output_json:
        write_json(fv.output_json, result)
    return result


def run(argv=None):
    """Console entry point (``argv``: the command line, None for ``sys.argv``)."""
    run_app(define_flags, main, argv)


if __name__ == "__main__":
    run()
