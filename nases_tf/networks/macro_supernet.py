"""Weight-sharing supernet of the ``macro`` space.

One ``MacroSupernet`` holds every op of every layer once, under the layer names of the
standalone builder (``networks.macro``). A call runs only the path of its architecture:

- each layer's op is chosen with ``tf.switch_case`` on the layer's op index;
- each skip addition sits behind a ``tf.cond`` on its bit, so an absent skip costs little;
  the sum is batch-normalized (``merge_norm``), as in the standalone model;
- at a reduction, the output of an earlier layer is reduced (``tf.cond``) only when a later
  layer takes it as a skip (``output_needed`` of the standalone builder, computed from the
  arch tensor with a static gather table).

What keeps it fast on a CPU: the ops' max pool has a custom gradient
(``layers.max_pool_3x3``); a plain ``tf.cond`` per skip would hand back a full-size zero
gradient for every absent skip (``_make_add_skips`` chains the gradients instead); and a
fixed batch size in the step's signature keeps shapes static, so the gradients of the
batch-norm means are the cheap tile-and-scale kind.
"""

import functools

import tensorflow as tf

from nases_tf.networks.layers import OPS, classifier_head, merge_norm, serializable, stem_block
from nases_tf.networks.macro import merge_name, op_layer, reduction_layer
from nases_tf.networks.supernet import Supernet, branch


def _op_positions(space):
    """Flat index of each layer's op decision, and of each of its skip bits."""
    op_pos, skip_pos, pos = [], [], 0
    for i in range(space.layers):
        op_pos.append(pos)
        skip_pos.append([pos + 1 + j for j in range(i)])
        pos += 1 + i
    return op_pos, skip_pos


def needed_table(space):
    """Static gather table of ``output_needed``: for reduction ``r`` (after layer ``p``) and
    layer ``j < p``, the flat indices of the skip bits ``skips[k][j]``, ``k > p``; the output
    of ``j`` is needed past the reduction when any of those bits is set (layer ``p`` itself
    is always needed).

    Args:
        space: the ``MacroSpace``.
    """
    _, skip_pos = _op_positions(space)
    table = []
    for point in space.reduction_after():
        table.append([[skip_pos[k][j] for k in range(point + 1, space.layers)]
                      for j in range(point)])
    return table


@serializable
class MacroSupernet(Supernet):
    """Weight-sharing supernet of a ``MacroSpace``: every op of every layer, one path a call.

    Call it with ``(images, arch)``: ``images`` a float tensor ``(batch,) + input_shape``,
    ``arch`` an int32 tensor of shape ``(m,)`` holding the flat architecture vector (per
    layer the op index, then the skip bits; see ``MacroSpace``). It returns float32 logits
    equal to those of ``build_macro_model(space, arch, ...)`` with the same weights.

    Args:
        space: the ``MacroSpace``.
        filters: channels of the first stage, F (doubled at each reduction).
        num_classes: number of logits.
        input_shape: image shape (height, width, channels).
        weight_decay: L2 factor on every kernel.
        **kwargs: passed to ``keras.Model`` (``name``, ``dtype``).
    """

    space_name = "macro"

    def _create_layers(self):
        space = self.space
        self._op_pos, self._skip_pos = _op_positions(space)
        self._points = tuple(space.reduction_after())
        self._needed = needed_table(space)
        f, wd = self.filters, self.weight_decay
        self.stem = stem_block(f, weight_decay=wd, name="stem")
        # Flat lists (Keras tracks them); op_layers[i * len(OPS) + k] is op k of layer i.
        self.op_layers = [op_layer(space, f, i, op, wd)
                          for i in range(space.layers) for op in OPS]
        self.reduction_layers = [reduction_layer(space, f, r, j, wd)
                                 for r, point in enumerate(self._points)
                                 for j in range(point + 1)]
        # merge_layers[i - 1] normalizes layer i's skip sum.
        self.merge_layers = [merge_norm(merge_name(i)) for i in range(1, space.layers)]
        self.head = classifier_head(self.num_classes, weight_decay=wd, name="head")

    # -- structure -----------------------------------------------------------------------

    def _op_layer(self, layer, op):
        return self.op_layers[layer * len(OPS) + op]

    def _reduction_layer(self, reduction, layer):
        start = sum(p + 1 for p in self._points[:reduction])
        return self.reduction_layers[start + layer]

    def build(self, input_shape=None):
        """Creates every variable of every op (the input shape comes from the constructor)."""
        shape = (None,) + self.image_shape
        self.stem.build(shape)
        shape = self.stem.compute_output_shape(shape)
        for i in range(self.space.layers):
            for k in range(len(OPS)):
                self._op_layer(i, k).build(shape)
            if i > 0:
                self.merge_layers[i - 1].build(shape)
            if i in self._points:
                r = self._points.index(i)
                for j in range(i + 1):
                    self._reduction_layer(r, j).build(shape)
                shape = self._reduction_layer(r, i).compute_output_shape(shape)
        self.head.build(shape)
        self.built = True

    # -- forward -------------------------------------------------------------------------

    def call(self, inputs, training=None):
        images, arch = inputs
        arch = tf.cast(tf.reshape(arch, [-1]), tf.int32)
        x = self.stem(images, training=training)
        outputs = []
        for i in range(self.space.layers):
            branches = [branch(self._op_layer(i, k), x, training) for k in range(len(OPS))]
            out = tf.switch_case(arch[self._op_pos[i]], branches, name=f"layer{i}_op")
            live = [j for j, source in enumerate(outputs) if source is not None]
            if live:
                bits = tf.gather(arch, [self._skip_pos[i][j] for j in live]) > 0
                add_skips = _ADD_SKIPS[i < self.space.layers - 1]
                out, *passed = add_skips(out, bits, *[outputs[j] for j in live])
                for j, source in zip(live, passed):
                    outputs[j] = source
                out = self.merge_layers[i - 1](out, training=training)
            outputs.append(out)
            if i in self._points:
                outputs = self._reduce(self._points.index(i), outputs, arch, training)
            x = outputs[-1]
        return self.head(x)

    def _reduce(self, r, outputs, arch, training):
        point = self._points[r]
        reduced = []
        for j, out in enumerate(outputs):
            layer = self._reduction_layer(r, j)
            if j == point:
                reduced.append(layer(out, training=training))
            elif out is None or not self._needed[r][j]:
                reduced.append(None)
            else:
                needed = tf.reduce_any(tf.gather(arch, self._needed[r][j]) > 0)
                reduced.append(tf.cond(
                    needed, branch(layer, out, training),
                    functools.partial(_zeros_like_output, layer, out),
                    name=f"reduce{r}_of{j}_if_needed"))
        return reduced


def _zeros_like_output(layer, x):
    # Placeholder for a reduced output no later layer reads; never added to anything.
    shape = tf.shape(x)
    out = layer.compute_output_shape(tuple(x.shape))
    return tf.zeros([shape[0], (shape[1] + 1) // 2, (shape[2] + 1) // 2, out[-1]], x.dtype)


def _make_add_skips(pass_through):
    """The skip additions of one layer, ``out + sum_j bits[j] * sources[j]``, each behind a
    ``tf.cond``, with a gradient that does not materialize zeros for absent skips.

    A plain ``tf.cond`` per skip hands back a full-size zero tensor as the gradient of every
    absent skip's source, and autodiff then sums all of them per source. Here, with
    ``pass_through``, the sources are also returned unchanged (``tf.identity``, free) and
    the next layer's skips take them from there, so the gradient of a source travels down
    that chain and each layer only adds its ``dy`` when its bit is set. The last layer
    (``pass_through=False``) starts the chains, with a zero tensor for absent skips.
    """

    @tf.custom_gradient
    def add_skips(out, bits, *sources):
        for j, source in enumerate(sources):
            out = tf.cond(bits[j], lambda o=out, s=source: o + s,
                          lambda o=out: tf.identity(o))
        passed = [tf.identity(s) for s in sources] if pass_through else []

        def grad(dy, *d_passed):
            d_sources = []
            for j in range(len(sources)):
                if pass_through:
                    d = tf.cond(bits[j], lambda g=d_passed[j]: g + dy,
                                lambda g=d_passed[j]: tf.identity(g))
                else:
                    d = tf.cond(bits[j], lambda: tf.identity(dy), lambda: tf.zeros_like(dy))
                d_sources.append(d)
            return [dy, None] + d_sources

        return [out] + passed, grad

    return add_skips


_ADD_SKIPS = {True: _make_add_skips(True), False: _make_add_skips(False)}

