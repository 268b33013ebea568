"""Stage 1 at the paper's size: steps per second and decision accuracy of the LSTM coder.

Trains the simulator/decoder pair of a macro space (default L=15: m=120 decisions) from the
same initial weights under several (learning rate, steps) settings, side by side in one
process, and reports for each: seconds per step, the decision accuracy on held-out uniform
samples at regular checkpoints, and the steps and seconds it took to reach the accuracy the
paper's setting (Adam at 1e-5) reached at its last checkpoint. Steps run inside one graph
call per checkpoint (``embedding.pretraining.Pretrainer``); ``--per_step_calls`` also times
one graph call and one host synchronisation per step, as stage 1 ran before.

    python bin/benchmark_stage1.py --layers=15 --settings=1e-5:600,3e-3:600 --every=100
"""

import time

import numpy as np

from nases_tf.storage import fileio


def _coder(layers, coder, embedding_dim, seed):
    from nases_tf.embedding.coder import Coder
    from nases_tf.embedding.config import EmbeddingConfig
    from nases_tf.spaces import MacroSpace

    config = EmbeddingConfig(coder=coder, embedding_dim=embedding_dim or None)
    return Coder(MacroSpace(layers), config, seed=seed)


def run_setting(layers, coder, embedding_dim, learning_rate, steps, every, seed=0,
                per_step_calls=False):
    """Trains one coder; returns its accuracy curve and timing.

    Args:
        layers: L of the macro space.
        coder: ``lstm`` or ``mlp``.
        embedding_dim: n (0: the default for m).
        learning_rate: Adam learning rate.
        steps: training steps.
        every: steps between accuracy checkpoints.
        seed: initial weights and samples.
        per_step_calls: run one graph call per step (with a host sync), as stage 1 did
            before steps ran inside one call.
    """
    import tensorflow as tf

    from nases_tf.embedding.pretraining import Pretrainer, reconstruction_metrics

    coder = _coder(layers, coder, embedding_dim, seed)
    m = coder.space.num_decisions
    trainer = Pretrainer(coder.autoencoder, m, learning_rate, 128, seed)
    held_out = coder.held_out(512)
    curve = [(0, reconstruction_metrics(coder.autoencoder, held_out, coder.space.sizes)
              ["decision_accuracy"], 0.0)]
    trainer.train(0, 1)  # trace once, outside the timing
    seconds, step = 0.0, 1
    single = tf.function(lambda s: trainer._steps(s, s + 1))
    if per_step_calls:
        single(tf.constant(1, tf.int64))
        step = 2
    while step < steps:
        stop = min(steps, (step // every + 1) * every)
        start = time.perf_counter()
        if per_step_calls:
            for s in range(step, stop):
                float(single(tf.constant(s, tf.int64)))
        else:
            trainer.train(step, stop)
        seconds += time.perf_counter() - start
        step = stop
        accuracy = reconstruction_metrics(coder.autoencoder, held_out,
                                          coder.space.sizes)["decision_accuracy"]
        curve.append((step, accuracy, seconds))
    timed_steps = steps - (2 if per_step_calls else 1)
    return {"learning_rate": learning_rate, "steps": steps, "num_decisions": m,
            "embedding_dim": coder.embedding_dim, "per_step_calls": per_step_calls,
            "seconds_per_step": seconds / max(timed_steps, 1),
            "curve": [{"step": s, "decision_accuracy": a, "seconds": t} for s, a, t in curve]}


def first_reaching(result, accuracy):
    """The first checkpoint after step 0 of ``result`` at or above ``accuracy`` (dict), or
    None."""
    return next((c for c in result["curve"][1:] if c["decision_accuracy"] >= accuracy), None)


def main(argv=None):
    """Command line: see the module docstring."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=15)
    parser.add_argument("--coder", default="lstm")
    parser.add_argument("--embedding_dim", type=int, default=0)
    parser.add_argument("--settings", default="1e-5:600,3e-3:600",
                        help="LR:STEPS pairs; the first is the reference")
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--per_step_calls", action="store_true")
    parser.add_argument("--output_json", default=None)
    args = parser.parse_args(argv)
    results = []
    for item in args.settings.split(","):
        lr, steps = item.split(":")
        results.append(run_setting(args.layers, args.coder, args.embedding_dim, float(lr),
                                   int(steps), args.every))
    if args.per_step_calls:
        lr, steps = args.settings.split(",")[-1].split(":")
        results.append(run_setting(args.layers, args.coder, args.embedding_dim, float(lr),
                                   min(int(steps), 2 * args.every), args.every,
                                   per_step_calls=True))
    target = results[0]["curve"][-1]["decision_accuracy"]
    print(f"m={results[0]['num_decisions']}, n={results[0]['embedding_dim']}, {args.coder}; "
          f"target: the reference's final decision accuracy {target:.3f}")
    for r in results:
        hit = first_reaching(r, target)
        reach = (f"reached at step {hit['step']} ({hit['seconds']:.0f} s)" if hit
                 else "not reached")
        print(f"lr {r['learning_rate']:g}{' per-step calls' if r['per_step_calls'] else ''}: "
              f"{r['seconds_per_step']:.3f} s/step, accuracy "
              + " ".join(f"{c['decision_accuracy']:.3f}@{c['step']}" for c in r["curve"])
              + f"; {reach}")
    if args.output_json:
        fileio.write_json(args.output_json, {"target": target, "results": results})
    return results


def run():
    """Console entry point."""
    main()


if __name__ == "__main__":
    run()
