"""Pictures of architectures: the SVG of each space, the raster image, the TensorBoard
image, and the pictures the search and final training leave."""

import glob
import os
import re

import numpy as np
import pytest

from nases_tf import data, drawing
from nases_tf.errors import ConfigError
from nases_tf.spaces import MICRO_OPS, MacroSpace, MicroSpace, NasBench201Space
from nases_tf.spaces.base import SearchSpace
from nases_tf.spaces.macro import MACRO_OPS

from drawing_helpers import (MACRO_SKIPS, SVG, label, macro_arch, micro_arch, parse_svg,
                             with_class)


# -- SVG -----------------------------------------------------------------------------------

def test_macro_svg_has_a_labelled_box_per_layer_an_arc_per_skip_and_the_reductions():
    space, arch = macro_arch()
    root = parse_svg(drawing.draw_svg(space, arch))
    layers = with_class(root, "layer")
    names = space.to_json(arch)["ops"]
    assert [g.get("data-op") for g in layers] == names
    assert [label(g) for g in layers] == names
    assert [int(g.get("data-layer")) for g in layers] == list(range(6))
    arcs = with_class(root, "skip", "path")
    expected = {(j, i) for i, row in enumerate(MACRO_SKIPS) for j, bit in enumerate(row) if bit}
    assert len(arcs) == len(expected) == 7
    assert {(int(a.get("data-from")), int(a.get("data-to"))) for a in arcs} == expected
    assert all(" C " in a.get("d") for a in arcs)  # curves, not straight lines
    reductions = with_class(root, "reduction")
    assert [int(g.get("data-after")) for g in reductions] == list(space.reduction_after())
    assert len(with_class(root, "chain", "path")) == 6 + len(reductions) + 1
    assert root.find(f"{SVG}title").text == space.readable(arch)
    # every arc meets its boxes at a point of its own: fan-in and fan-out can be counted
    ends = {(a.get("data-from"), a.get("data-to")): re.findall(r"[-\d.]+", a.get("d"))
            for a in arcs}
    starts = [tuple(points[:2]) for points in ends.values()]
    tips = [tuple(points[-2:]) for points in ends.values()]
    assert len(set(starts)) == len(set(tips)) == len(arcs)
    assert not set(starts) & set(tips)
    # a legend: one swatch per op in its colour, and what an arc's colour says
    swatches = [g for g in with_class(root, "legend") if g.get("data-op")]
    assert [g.get("data-op") for g in swatches] == list(MACRO_OPS)
    assert any("skip arc" in (t.text or "") for t in root.iter(f"{SVG}text"))


def test_micro_svg_draws_both_cells_with_two_edges_per_node():
    space, arch = micro_arch()
    root = parse_svg(drawing.draw_svg(space, arch))
    cells = with_class(root, "cell")
    assert [c.get("data-cell") for c in cells] == ["normal", "reduction"]
    for cell, kind, nodes in zip(cells, ("normal", "reduction"), space.split(arch)):
        edges = with_class(cell, "edge", "path")
        assert len(edges) == 2 * space.nodes
        want = sorted((source, i + 2, MICRO_OPS[op]) for i, (a, oa, b, ob) in enumerate(nodes)
                      for source, op in ((a, oa), (b, ob)))
        got = sorted((int(e.get("data-from")), int(e.get("data-to")), e.get("data-op"))
                     for e in edges)
        assert got == want, kind
        labels = sorted(label(g) for g in with_class(cell, "op"))
        assert labels == sorted(op for _, _, op in want)
        node_names = [g.get("data-node") for g in with_class(cell, "node")]
        assert node_names == ["c(k-2)", "c(k-1)", "n2", "n3", "n4", "concat"]
        concat = with_class(cell, "concat", "path")
        assert [int(e.get("data-from")) for e in concat] == list(MicroSpace.unused_nodes(nodes))


def test_nasbench201_svg_labels_the_six_edges_and_dashes_none():
    space = NasBench201Space()
    arch = space.from_string("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|"
                             "nor_conv_1x1~1|none~2|")
    root = parse_svg(drawing.draw_svg(space, arch))
    edges = with_class(root, "edge", "path")
    assert [(int(e.get("data-from")), int(e.get("data-to")), e.get("data-op")) for e in edges] \
        == [(0, 1, "nor_conv_3x3"), (0, 2, "none"), (1, 2, "skip_connect"),
            (0, 3, "avg_pool_3x3"), (1, 3, "nor_conv_1x1"), (2, 3, "none")]
    assert [e.get("stroke-dasharray") is not None for e in edges] == \
        [e.get("data-op") == "none" for e in edges]


def test_write_svg_writes_the_drawing_atomically(tmp_path):
    space, arch = macro_arch()
    path = tmp_path / "deep" / "arch.svg"
    drawing.write_svg(space, arch, str(path))
    assert path.read_text() == drawing.draw_svg(space, arch)
    assert os.listdir(path.parent) == ["arch.svg"]  # no temp file left behind


def test_spaces_without_a_drawing_are_refused_and_one_can_be_registered():
    class Pair(SearchSpace):
        name = "pair_for_drawing_test"
        decision_names = ("a", "b")
        sizes = (2, 3)

        def config(self):
            return {"name": self.name}

        def readable(self, arch):
            return str(arch)

        def to_json(self, arch):
            return list(arch)

        def from_json(self, obj):
            return self.validate(obj)

    space = Pair()
    assert not drawing.drawable(space)
    with pytest.raises(ConfigError, match="no drawing for search space 'pair_for_drawing_test'"):
        drawing.draw_svg(space, (1, 2))
    drawing.register_drawing(space.name, lambda s, a: drawing.draw_scene(
        NasBench201Space(), (a[0], a[1], 0, 0, 0, 0)))
    assert drawing.drawable(space)
    assert "nor_conv_1x1" in drawing.draw_svg(space, (1, 2))


# -- raster --------------------------------------------------------------------------------

@pytest.mark.parametrize("space", [MacroSpace(6), MicroSpace(3), NasBench201Space()],
                         ids=lambda s: s.name)
def test_raster_image_is_rgb_uint8_of_a_fixed_size_and_shows_the_architecture(space):
    rng = np.random.default_rng(3)
    first, second = space.sample(rng), space.sample(rng)
    while second == first:
        second = space.sample(rng)
    image = drawing.draw_image(space, first)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    scene = drawing.draw_scene(space, first)
    assert image.shape[:2] == (np.ceil(scene.height), np.ceil(scene.width))
    other = drawing.draw_image(space, second)
    assert other.shape == image.shape  # one size per space: TensorBoard's slider stays steady
    assert np.any(other != image)
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 5  # ink, paper and op colours
    assert drawing.draw_image(space, first, scale=2).shape[:2] == \
        (2 * image.shape[0], 2 * image.shape[1])


def test_raster_labels_are_inked():
    space = NasBench201Space()
    arch = (0, 0, 0, 0, 0, 0)
    image = drawing.draw_image(space, arch)
    scene = drawing.draw_scene(space, arch)
    op_box = next(b for b in _boxes(scene.items) if b.kind == "op")
    cx, cy = (round(v) for v in op_box.center)
    window = image[cy - 3:cy + 4, cx - 10:cx + 11]
    assert np.any(np.all(window == (0x33, 0x33, 0x33), axis=-1))  # text ink in the label


def _boxes(items):
    from nases_tf.drawing.scene import Box, walk
    return [item for item in walk(items) if isinstance(item, Box)]


# -- TensorBoard ---------------------------------------------------------------------------

def test_log_architecture_image_writes_the_picture_under_its_tag(tmp_path):
    import tensorflow as tf

    space, arch = macro_arch()
    writer = tf.summary.create_file_writer(str(tmp_path))
    drawing.log_architecture_image(space, arch, 3, writer)
    images = _logged_images(str(tmp_path))
    assert list(images) == [("search/architecture", 3)]
    np.testing.assert_array_equal(images["search/architecture", 3], drawing.draw_image(space, arch))


def _logged_images(log_dir):
    """{(tag, step): image array} of the image summaries under ``log_dir``."""
    import tensorflow as tf

    out = {}
    for path in glob.glob(os.path.join(log_dir, "**", "events.out.tfevents.*"), recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "images":
                    encoded = tf.make_ndarray(value.tensor)[2]  # [width, height, png, ...]
                    out[value.tag, event.step] = tf.io.decode_png(encoded).numpy()
    return out


# -- the search and final training leave pictures ------------------------------------------

@pytest.fixture(scope="module")
def small_images(natural_npz):
    """256 training and 64 test photos of the shipped natural images."""
    images = data.load_images(f"npz:{natural_npz}")
    return data.ImageData(images.train_x[:256], images.train_y[:256], images.test_x[:64],
                          images.test_y[:64], images.num_classes, images.source)


def test_search_writes_arch_svg_and_logs_the_best_architecture_each_epoch(tmp_path,
                                                                          small_images):
    from nases_tf.embedding.coder import Coder
    from nases_tf.embedding.config import EmbeddingConfig
    from nases_tf.search.config import SearchConfig
    from nases_tf.search.loop import Search
    from nases_tf.training.config import RuntimeConfig

    space = MacroSpace(3)
    embedding = EmbeddingConfig(coder="mlp", embedding_dim=3, pretrain_steps=50,
                                samples_per_update=2)
    coder = Coder(space, embedding, log_every=50)
    coder.pretrain(str(tmp_path / "coder"), verbose=0)
    config = SearchConfig(epochs=2, batch_size=16, filters=8, controller_steps=2,
                          rescore_samples=2, rescore_top=1)
    search = Search(space, coder, small_images, str(tmp_path), config, embedding,
                    RuntimeConfig(verbose=0))
    result = search.run()
    best = space.from_json(result["architecture"])
    svg = (tmp_path / "search" / "arch.svg").read_text()
    assert svg == drawing.draw_svg(space, best)
    images = _logged_images(str(tmp_path / "tensorboard" / "search"))
    per_epoch = "controller/best_rewarded_architecture"
    assert sorted(images) == [(per_epoch, 1), (per_epoch, 2), ("result/architecture", 2)]
    np.testing.assert_array_equal(images[per_epoch, 2],
                                  drawing.draw_image(space, search.tracker.best(1)[0]))
    # the search's end logs what it returns
    np.testing.assert_array_equal(images["result/architecture", 2],
                                  drawing.draw_image(space, best))


def test_final_training_writes_arch_svg(tmp_path, small_images):
    from nases_tf.training.config import FinalConfig, RuntimeConfig
    from nases_tf.training.final import train_final

    space = MacroSpace(3)
    arch = space.sample(np.random.default_rng(0))
    train_final(space, arch, small_images, str(tmp_path),
                FinalConfig(epochs=1, batch_size=64, filters=8), RuntimeConfig(verbose=0))
    assert (tmp_path / "final" / "arch.svg").read_text() == drawing.draw_svg(space, arch)
