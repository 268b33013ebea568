"""One-time cost of the micro supernet's training step: build, trace and first run, and the
peak memory, each configuration measured in a fresh Python process.

``bin/benchmark_micro_trace.py`` calls ``run``. Example (the paper's size, then smaller)::

    nice -n 10 python bin/benchmark_micro_trace.py --configs=5:5:40,2:5:16 --batch_size=64

Per configuration ``N:B:F`` (cells per stage, nodes per cell, filters) the child process
builds ``MicroSupernet``, traces every function of ``make_train_step`` (``trace``) and
runs one step on random images (which adds TensorFlow's graph optimization and the first
execution) and ``TIMED_STEPS`` more (the steady-state step time), then reports the seconds
of each part and its peak resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``),
at the end and right after the trace. Nothing here asserts on time.
"""

import json
import os
import subprocess
import sys

# Set before TensorFlow is imported: its C++ start-up chatter hides the report.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from nases_tf.benchmarks.entry import run_app  # noqa: E402
from nases_tf.errors import ConfigError  # noqa: E402
from nases_tf.storage.fileio import write_json  # noqa: E402

# Steps timed after the first, on random architectures: the steady-state step time.
TIMED_STEPS = 3


def define_flags(flag_values=None):
    """Defines the benchmark's absl flags.

    Args:
        flag_values: an absl ``FlagValues`` (absl's global ``FLAGS`` if None).
    """
    fv = flag_values if flag_values is not None else flags.FLAGS
    flags.DEFINE_list("configs", ["5:5:40"], "N:B:F configurations (cells per stage, "
                      "nodes per cell, filters), each measured in its own process.",
                      flag_values=fv)
    flags.DEFINE_integer("batch_size", 64, "Images per training step.", flag_values=fv)
    flags.DEFINE_integer("image_size", 32, "Image height and width.", flag_values=fv)
    flags.DEFINE_string("output_json", "", "Write the report here too.", flag_values=fv)


def parse_config(text):
    """``"N:B:F"`` as a tuple of three positive ints.

    Args:
        text: the configuration, e.g. ``"5:5:40"``.
    """
    try:
        values = tuple(int(v) for v in text.split(":"))
    except ValueError:
        values = ()
    if len(values) != 3 or min(values) < 1:
        raise ConfigError(f"--configs entry {text!r} must be N:B:F, three positive integers")
    return values


def measure_here(cells_per_stage, nodes, filters, batch_size, image_size):
    """Builds, traces and runs one training step of a micro supernet in this process and
    returns the seconds of each part and the process's peak memory (MB).

    Args:
        cells_per_stage: N.
        nodes: B.
        filters: F.
        batch_size: images per step.
        image_size: image height and width.
    """
    import resource
    import time

    import keras
    import numpy as np
    import tensorflow as tf

    from nases_tf.networks import MicroSupernet
    from nases_tf.spaces import MicroSpace

    start = time.perf_counter()
    space = MicroSpace(nodes=nodes, cells_per_stage=cells_per_stage)
    supernet = MicroSupernet(space, filters=filters, input_shape=(image_size, image_size, 3))
    optimizer = keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True)
    step = supernet.make_train_step(optimizer, batch_size=batch_size)
    built = time.perf_counter()
    step.trace()
    traced = time.perf_counter()
    traced_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rng = np.random.default_rng(0)
    images = tf.constant(rng.normal(size=(batch_size, image_size, image_size, 3)), tf.float32)
    labels = tf.constant(rng.integers(0, 10, batch_size), tf.int64)
    loss, _ = step(images, labels, supernet.arch_tensor(space.sample(rng)))
    float(loss)
    ran = time.perf_counter()
    for _ in range(TIMED_STEPS):
        loss, _ = step(images, labels, supernet.arch_tensor(space.sample(rng)))
    float(loss)
    stepped = time.perf_counter()
    return {"cells_per_stage": cells_per_stage, "nodes": nodes, "filters": filters,
            "batch_size": batch_size, "build_seconds": round(built - start, 2),
            "trace_seconds": round(traced - built, 2),
            "first_step_seconds": round(ran - traced, 2),
            "step_seconds": round((stepped - ran) / TIMED_STEPS, 3),
            "trace_peak_memory_mb": round(traced_peak / 1024),
            "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def measure_in_subprocess(config, batch_size, image_size):
    """Runs ``measure_here`` for ``config`` (``(N, B, F)``) in a fresh Python process, so
    that its peak memory is that configuration's alone.

    Args:
        config: ``(cells_per_stage, nodes, filters)``.
        batch_size: images per step.
        image_size: image height and width.
    """
    code = ("import json, sys; from nases_tf.benchmarks.micro_trace import measure_here; "
            "print(json.dumps(measure_here(*map(int, sys.argv[1:]))))")
    args = [str(v) for v in (*config, batch_size, image_size)]
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"config": ":".join(map(str, config)), "error": tail[0]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def format_table(rows):
    """The report as a text table, one line per configuration.

    Args:
        rows: the dicts ``measure_in_subprocess`` returns.
    """
    lines = ["  N  B   F batch  build s  trace s  first step s  step s  peak MB "
             "(after trace)"]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['config']}: failed: {r['error']}")
            continue
        lines.append(f"{r['cells_per_stage']:3d}{r['nodes']:3d}{r['filters']:4d}"
                     f"{r['batch_size']:6d}{r['build_seconds']:9.1f}{r['trace_seconds']:9.1f}"
                     f"{r['first_step_seconds']:14.1f}{r['step_seconds']:8.2f}"
                     f"{r['peak_memory_mb']:9d} ({r['trace_peak_memory_mb']})")
    return "\n".join(lines)


def main(flag_values):
    """Measures every configuration of ``--configs``, prints the table, writes the JSON.

    Args:
        flag_values: parsed absl ``FlagValues`` holding the flags of ``define_flags``.
    """
    configs = [parse_config(c) for c in flag_values.configs]
    rows = [measure_in_subprocess(c, flag_values.batch_size, flag_values.image_size)
            for c in configs]
    print(format_table(rows))
    if flag_values.output_json:
        write_json(flag_values.output_json, {"rows": rows})
    return rows


def run(argv=None):
    """Measures the configurations the command line ``argv`` names (``entry.run_app``).

    Args:
        argv: program name and flags (None: ``sys.argv``).
    """
    run_app(define_flags, main, argv)


if __name__ == "__main__":
    run()
