"""Carrying a NASES coder and controller over to a space that gained hyperparameters.

keras-tuner spaces can grow during a search (a new conditional branch, names made in a
loop). New hyperparameters get new slots at the end of the unit vector; every weight learned
so far is carried over, so the proposals for the existing hyperparameters do not change.
"""

import numpy as np

# Logit spread of new decoder outputs: the logistic of N(0, 1.7^2) is close to uniform on
# (0, 1), so every value of a new hyperparameter stays reachable.
NEW_OUTPUT_LOGIT_STD = 1.7


def embed(old, shape, fill=0.0):
    """A ``shape`` array holding ``old`` in its leading block and ``fill`` elsewhere.

    Args:
        old: an array of at most ``shape`` in every dimension.
        shape: the new shape.
        fill: the value of the new entries.
    """
    old = np.asarray(old)
    out = np.full(shape, fill, dtype=old.dtype)
    block = tuple(slice(0, min(a, b)) for a, b in zip(old.shape, shape))
    out[block] = old[block]
    return out


def carry_weights(old_weights, model):
    """Sets ``model``'s weights to ``old_weights`` embedded in the new shapes (zeros added).

    Args:
        old_weights: the weights of the same model built for fewer decisions.
        model: the model built for the grown space.
    """
    model.set_weights([embed(o, np.shape(n)) for o, n in zip(old_weights, model.get_weights())])


def calibrate_new_outputs(simulator, decoder, old_m, rng):
    """Gives an mlp decoder's outputs ``old_m:`` random directions of its hidden layer,
    scaled so their values spread over (0, 1) on typical embeddings.

    Args:
        simulator: the grown simulator (its new input rows are zero).
        decoder: the grown mlp decoder (layers ``hidden`` and ``architecture``).
        old_m: the number of decisions before the growth.
        rng: a ``numpy.random.Generator``.
    """
    m = int(simulator.input_shape[-1])
    embeddings = simulator(rng.random((512, m), dtype=np.float32), training=False)
    hidden = np.asarray(decoder.get_layer("hidden")(embeddings))
    out = decoder.get_layer("architecture")
    kernel, bias = (np.array(w) for w in out.get_weights())
    for j in range(old_m, m):
        direction = rng.normal(size=kernel.shape[0]).astype(np.float32)
        logits = hidden @ direction
        scale = NEW_OUTPUT_LOGIT_STD / (float(logits.std()) + 1e-6)
        kernel[:, j] = direction * scale
        bias[j] = -float(logits.mean()) * scale
    out.set_weights([kernel, bias])


def carry_controller(old_controller, controller, rng):
    """Copies an ``EmbeddingController``'s state into one built for the grown space; the
    chains' new slots are drawn uniformly.

    Args:
        old_controller: the controller of the smaller space.
        controller: the new controller of the grown space.
        rng: a ``numpy.random.Generator``.
    """
    old_vars = old_controller.get_state()["variables"]
    new_vars = controller.get_state()["variables"]
    controller.set_state({"variables": [embed(o, np.shape(n)) for o, n in
                                        zip(old_vars, new_vars)]})
    old_chains = old_controller.chains.numpy()
    chains = rng.random((len(old_chains), controller.num_decisions), dtype=np.float32)
    chains[:, :old_chains.shape[1]] = old_chains
    controller.chains.assign(chains)
