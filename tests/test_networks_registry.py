"""Standalone macro child networks (shapes, parameter counts, saving) and the registry of
each space's networks."""

import keras
import numpy as np
import pytest

from nases_tf.errors import ConfigError, SettingError
from nases_tf.networks import (MacroSupernet, MicroSupernet, build_macro_model, build_network,
                               build_supernet, count_params, has_supernet, register_network)
from nases_tf.spaces import MacroSpace, MicroSpace, NasBench201Space


def test_random_architecture_builds_and_runs_forward():
    space = MacroSpace(15)
    arch = space.sample(np.random.default_rng(7))
    model = build_macro_model(space, arch, filters=8, num_classes=10)
    out = model(np.zeros((3, 32, 32, 3), "float32"), training=False)
    assert out.shape == (3, 10)
    # two reductions: 32 -> 16 -> 8, channels 8 -> 16 -> 32
    assert model.get_layer("head").input.shape[1:] == (8, 8, 32)


def test_parameter_count_matches_hand_count():
    space = MacroSpace(1)
    model = build_macro_model(space, [1], filters=4, num_classes=10)
    # stem 3*3*3*4 + BN 8; sep 3x3 without projection: 3*3*4 + 4*4 + BN 8; dense 4*10 + 10
    assert count_params(model) == 108 + 8 + 36 + 16 + 8 + 50

    space = MacroSpace(2)  # reduction after layer 0: 4 -> 8 channels
    arch = space.join([1, 2], [[], [1]])
    model = build_macro_model(space, arch, filters=4, num_classes=10)
    stem, layer0 = 108 + 8, 36 + 16 + 8
    reduction = 4 * 4 + 4 * 4 + 16
    layer1 = (8 * 8 + 16) + (25 * 8 + 8 * 8 + 16)  # 1x1 projection, then sep 5x5
    layer1 += 16  # the batch norm after its skip sum
    head = 8 * 10 + 10
    assert count_params(model) == stem + layer0 + reduction + layer1 + head


def test_l2_weight_decay_and_he_init_on_every_kernel():
    space = MacroSpace(3)
    arch = space.join([1, 2, 0], [[], [1], [1, 1]])
    model = build_macro_model(space, arch, filters=4)
    kernels = [w for w in model.trainable_weights if "kernel" in w.path]
    assert len(model.losses) == len(kernels) > 0
    conv = model.get_layer("layer1_sep_conv_5x5").proj.conv
    assert conv.kernel_initializer.__class__.__name__ == "HeNormal"


def test_saved_model_reloads_to_same_outputs(tmp_path):
    space = MacroSpace(6)
    arch = space.sample(np.random.default_rng(2))
    model = build_macro_model(space, arch, filters=8)
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
    path = str(tmp_path / "model.keras")
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(again(x)), atol=1e-6)


def test_registry_builds_each_spaces_networks():
    macro, micro = MacroSpace(2), MicroSpace(nodes=1, cells_per_stage=1)
    model = build_network(macro, macro.join([1, 2], [[], [1]]), filters=4)
    assert model.name == "macro_child" and model.get_layer("layer1_sep_conv_5x5")
    model = build_network(micro, micro.sample(np.random.default_rng(0)), filters=4,
                          input_shape=(16, 16, 3), name="tiny")
    assert model.name == "tiny" and model.get_layer("cell4_out")
    assert isinstance(build_supernet(macro, filters=4), MacroSupernet)
    assert isinstance(build_supernet(micro, filters=2, input_shape=(16, 16, 3)), MicroSupernet)
    assert has_supernet("macro") and has_supernet("micro") and not has_supernet("nasbench201")


def test_registry_names_a_space_without_networks_and_the_setting_that_needs_one():
    space = NasBench201Space()
    arch = space.sample(np.random.default_rng(0))
    with pytest.raises(ConfigError, match="search space 'nasbench201' has no image network"):
        build_network(space, arch)
    with pytest.raises(SettingError, match="SearchConfig.reward='weight_sharing' needs a "
                                           "supernet"):
        build_supernet(space)


def test_register_network_adds_a_space(monkeypatch):
    from nases_tf.networks import registry

    monkeypatch.setattr(registry, "_NETWORKS", dict(registry._NETWORKS))
    calls = []

    def builder(space, arch, filters, num_classes, input_shape, **kwargs):
        calls.append((space.name, arch, filters, num_classes, input_shape, kwargs))
        return "model"

    register_network("nasbench201", builder)
    assert build_network(NasBench201Space(), (0,) * 6, filters=8, weight_decay=0.0) == "model"
    assert calls == [("nasbench201", (0,) * 6, 8, 10, (32, 32, 3), {"weight_decay": 0.0})]
