"""Stage 1: the coder (simulator + decoder), its pretraining, saving and reach."""

import json

import numpy as np
import pytest

from nases_tf.embedding.coder import Coder
from nases_tf.embedding.config import EmbeddingConfig, default_embedding_dim
from nases_tf.errors import ArchitectureError, DataError
from nases_tf.spaces import MacroSpace

# Most tests here read conftest's pretrained ``small_coder``: one worker runs them all, so
# it is made once.
pytestmark = pytest.mark.xdist_group("small_coder")


def test_stage1_lstm_learns_well_above_an_untrained_decoder(small_coder):
    space, coder, _, metrics = small_coder
    assert coder.embedding_dim == 4 and coder.simulator.output_shape == (None, 4)
    assert metrics["decision_accuracy"] > metrics["untrained_decision_accuracy"] + 0.2
    assert metrics["mse"] < 0.06  # predicting the mean 0.5 everywhere gives 1/12 = 0.083
    # decoding random embeddings reaches a good part of the 5^3 * 2^3 = 1000 architectures
    assert metrics["distinct_architectures"] > 100


def test_mlp_coder_trains_too():
    space = MacroSpace(3)
    coder = Coder(space, EmbeddingConfig(coder="mlp", embedding_dim=4, pretrain_steps=300),
                  log_every=300)
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        metrics = coder.pretrain(d, verbose=0)
    assert metrics["decision_accuracy"] > metrics["untrained_decision_accuracy"] + 0.2


def test_saved_coder_reloads_to_same_outputs_and_refuses_another_space(small_coder):
    space, coder, directory, _ = small_coder
    again = Coder.load(directory, space)
    x = coder.held_out(64)
    np.testing.assert_allclose(again.simulator.predict(x, verbose=0),
                               coder.simulator.predict(x, verbose=0), atol=1e-6)
    e = coder.simulator.predict(x, verbose=0)
    np.testing.assert_allclose(again.decoder.predict(e, verbose=0),
                               coder.decoder.predict(e, verbose=0), atol=1e-6)
    with pytest.raises(ArchitectureError, match="was made for search space"):
        Coder.load(directory, MacroSpace(4))
    with pytest.raises(DataError, match="has embedding_dim=4, this run asks for 8"):
        Coder.load(directory, space, embedding_dim=8)
    with pytest.raises(DataError, match="is coder='lstm', this run asks for 'mlp'"):
        Coder.load(directory, space, coder="mlp")
    # about m/3 for large spaces; small spaces get enough room to reach their architectures
    assert default_embedding_dim(120) == 32 and default_embedding_dim(30) == 10
    assert default_embedding_dim(6) == 5 and default_embedding_dim(2) == 2


def test_reach_and_exact_reconstruction_are_measured_and_saved(small_coder):
    space, coder, directory, metrics = small_coder
    assert 0.0 < metrics["exact_reconstruction"] <= 1.0
    # 1000 architectures: the decoder is probed with 10,000 random embeddings
    assert metrics["random_embeddings"] == 10_000
    assert metrics["reachable_fraction"] == pytest.approx(
        metrics["distinct_architectures"] / space.cardinality())
    with open(f"{directory}/coder.json") as f:
        saved = json.load(f)["metrics"]
    assert saved["exact_reconstruction"] == metrics["exact_reconstruction"]
    assert saved["reachable_fraction"] == metrics["reachable_fraction"]


def test_coder_weights_come_from_its_seed_not_the_global_random_state():
    import random

    import keras

    space = MacroSpace(3)
    config = EmbeddingConfig(coder="mlp", embedding_dim=4)
    keras.utils.set_random_seed(1)
    state = random.getstate()
    first = Coder(space, config, seed=5)
    assert random.getstate() == state  # building a coder draws nothing from Python's random
    keras.utils.set_random_seed(2)
    second = Coder(space, config, seed=5)
    third = Coder(space, config, seed=6)
    for a, b in zip(first.simulator.get_weights() + first.decoder.get_weights(),
                    second.simulator.get_weights() + second.decoder.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.simulator.get_weights()[0], third.simulator.get_weights()[0])
