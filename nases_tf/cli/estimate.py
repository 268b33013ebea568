"""A rough estimate of how long a micro-space run takes on a CPU, from the sizes alone, so
that the command line can warn before starting a run that would take hours.

The cost model: a micro network's convolutions cost about the same in each of its three
stages (the resolution halves in both sides as the channels double), so one image costs
about ``(3 N + 2) * B * H * W * F**2`` units; a CPU trains through a fixed number of units
a second, and the supernet's first step adds a one-time trace, proportional to its number
of node input slots. Search epochs run the search split once plus the controller's
validation batches; the final candidates' path fine-tuning runs its training batches;
final epochs run the training split.
"""

from nases_tf.search.schedules import final_scoring_levers

# CPU seconds per unit (one image through one cell node at width F), and the one-time
# seconds of building and tracing the supernet per node input slot, fitted to the micro
# supernet's training step on this project's 2-core CPU (bin/benchmark_micro_trace.py).
SECONDS_PER_UNIT = 3.4e-9
TRACE_SECONDS_PER_SLOT = 0.7
# Estimates above this many seconds are worth a warning.
WARN_SECONDS = 3600.0


def micro_units_per_image(cells_per_stage, nodes, filters, image_side=32):
    """Cost units of one image through a micro network (see the module docstring).

    Args:
        cells_per_stage: N.
        nodes: B.
        filters: F.
        image_side: image height and width.
    """
    return (3 * cells_per_stage + 2) * nodes * image_side ** 2 * filters ** 2


def micro_run_seconds(cells_per_stage, nodes, filters, train_images, search_epochs=0,
                      controller_images=0, final_epochs=0, finetune_images=0, image_side=32):
    """Estimated CPU seconds of a weight-sharing search and a final training in the micro
    space.

    Args:
        cells_per_stage: N.
        nodes: B.
        filters: F.
        train_images: images of the training split (the search trains on 90 % of them).
        search_epochs: weight-sharing search epochs (0: no search).
        controller_images: validation images the controller scores per search epoch.
        final_epochs: final training epochs (0: no final training).
        finetune_images: training images of the final candidates' path fine-tuning.
        image_side: image height and width.
    """
    per_image = micro_units_per_image(cells_per_stage, nodes, filters, image_side)
    images = search_epochs * (0.9 * train_images + controller_images) + finetune_images
    images += final_epochs * train_images
    slots = (3 * cells_per_stage + 2) * nodes * 2
    trace = TRACE_SECONDS_PER_SLOT * slots if search_epochs else 0.0
    return trace + images * per_image * SECONDS_PER_UNIT


def slow_run_warning(seconds, what):
    """One warning line when ``seconds`` exceeds ``WARN_SECONDS``, else None.

    Args:
        seconds: the estimate (``micro_run_seconds``).
        what: the run's sizes, as the user gave them.
    """
    if seconds <= WARN_SECONDS:
        return None
    return (f"{what} would take about {seconds / 3600:.0f} hours on this CPU (an estimate "
            "from the network's sizes); configs/demo_micro.cfg runs in minutes")


def finetune_images(search, train_images):
    """Training images the final candidates' path fine-tuning runs: (at most) every
    re-scored candidate times ``finetune_steps`` batches, within the final-scoring budget.

    Args:
        search: a ``SearchConfig`` (its levers resolved).
        train_images: images of the training split (the search trains on 90% of them).
    """
    candidates = search.final_candidates
    steps_per_epoch = int(0.9 * train_images) // search.batch_size
    levers = final_scoring_levers(search.levers, search.epochs * steps_per_epoch,
                                  steps_per_epoch, candidates)
    return candidates * levers.finetune_steps * search.batch_size


def warning_for_run(config, space, train_images):
    """The slow-run warning (or None) for a command-line run: a ``micro`` space run's
    weight-sharing search and final training, as far as ``--stage`` runs them.

    Args:
        config: the ``RunConfig``.
        space: the search space.
        train_images: images of the training split.
    """
    if space.name != "micro":
        return None
    search = config.search
    searches = config.stage in ("search", "all") and search.reward == "weight_sharing"
    search_epochs = search.epochs if searches else 0
    final_epochs = config.final.epochs if config.stage in ("final", "all") else 0
    controller_images = (search.controller_steps * config.embedding.samples_per_update *
                         search.batch_size)
    seconds = micro_run_seconds(space.cells_per_stage, space.nodes, search.filters,
                                train_images, search_epochs, controller_images, final_epochs,
                                finetune_images(search, train_images) if searches else 0)
    return slow_run_warning(
        seconds, f"--space=micro with N={space.cells_per_stage}, B={space.nodes}, "
                 f"F={search.filters}, {search_epochs} search and {final_epochs} final epochs")
