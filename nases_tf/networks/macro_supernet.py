"""Weight-sharing supernet of the ``macro`` space, and the train/eval steps of the search.

One ``MacroSupernet`` holds every op of every layer once, under the layer names of the
standalone builder (``networks.macro``), so weights copy between the two by name. A call
takes ``(images, arch)`` where ``arch`` is the flat architecture vector as an int32 tensor,
and runs only that architecture's path:

- each layer's op is chosen with ``tf.switch_case`` on the layer's op index;
- each skip addition sits behind a ``tf.cond`` on its bit, so an absent skip costs little;
- at a reduction, the output of an earlier layer is reduced (``tf.cond``) only when a later
  layer takes it as a skip (``output_needed`` of the standalone builder, computed from the
  arch tensor with a static gather table).

The graph does not depend on the architecture, so one traced function serves them all.
All variables are created in ``build`` (none may be created inside a branch).

Speed on a CPU (``bin/benchmark_throughput.py`` measures it against the standalone model):
max-pool's gradient inside a switch branch falls off oneDNN's fast path (``ops.MacroOp``
uses a custom-gradient max pool); a plain ``tf.cond`` per skip would hand back a full-size
zero gradient for every absent skip (``_make_add_skips`` chains the gradients instead); and
a fixed batch size in the step's signature (``batch_size``) keeps shapes static, so the
gradients of the batch-norm means are the cheap tile-and-scale kind.
"""

import functools

import keras
import tensorflow as tf

from nases_tf import ops
from nases_tf.networks.macro import op_layer_name, reduction_name, stage_filters
from nases_tf.networks.supernets import SupernetConfigMixin
from nases_tf.spaces.macro import MACRO_OPS

_PACKAGE = "nases_tf"


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
    is always needed)."""
    _, skip_pos = _op_positions(space)
    table = []
    for point in space.reduction_after():
        table.append([[skip_pos[k][j] for k in range(point + 1, space.layers)]
                      for j in range(point)])
    return table


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MacroSupernet(SupernetConfigMixin, keras.Model):
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

    def __init__(self, space, filters=40, num_classes=10, input_shape=(32, 32, 3),
                 weight_decay=ops.WEIGHT_DECAY, **kwargs):
        kwargs.setdefault("name", "macro_supernet")
        super().__init__(**kwargs)
        if getattr(space, "name", None) != "macro":
            raise ValueError(f"MacroSupernet needs a macro space, got {space!r}")
        self.space = space
        self.filters, self.num_classes = int(filters), int(num_classes)
        self.image_shape = tuple(int(s) for s in input_shape)
        self.weight_decay = float(weight_decay)
        self._op_pos, self._skip_pos = _op_positions(space)
        self._points = tuple(space.reduction_after())
        self._needed = needed_table(space)
        wd = self.weight_decay
        self.stem = ops.Stem(self.filters, weight_decay=wd, name="stem")
        # Flat lists (Keras tracks them); op_layers[i * len(MACRO_OPS) + k] is op k of layer i.
        self.op_layers = [
            ops.MacroOp(op, stage_filters(space, self.filters, i), project=i > 0,
                        weight_decay=wd, name=op_layer_name(i, op))
            for i in range(space.layers) for op in MACRO_OPS]
        self.reduction_layers = [
            ops.FactorizedReduction(2 * stage_filters(space, self.filters, point),
                                    weight_decay=wd, name=reduction_name(r, j))
            for r, point in enumerate(self._points) for j in range(point + 1)]
        self.head = ops.ClassifierHead(self.num_classes, weight_decay=wd, name="head")
        self.build()

    # -- structure -----------------------------------------------------------------------

    def _op_layer(self, layer, op):
        return self.op_layers[layer * len(MACRO_OPS) + op]

    def _reduction_layer(self, reduction, layer):
        start = sum(p + 1 for p in self._points[:reduction])
        return self.reduction_layers[start + layer]

    def _named_layers(self):
        layers = [self.stem, *self.op_layers, *self.reduction_layers, self.head]
        return {layer.name: layer for layer in layers}

    def build(self, input_shape=None):
        """Creates every variable of every op (the input shape comes from the constructor)."""
        shape = (None,) + self.image_shape
        self.stem.build(shape)
        shape = self.stem.compute_output_shape(shape)
        for i in range(self.space.layers):
            for k in range(len(MACRO_OPS)):
                self._op_layer(i, k).build(shape)
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
            branches = [functools.partial(_run, self._op_layer(i, k), x, training)
                        for k in range(len(MACRO_OPS))]
            out = tf.switch_case(arch[self._op_pos[i]], branches, name=f"layer{i}_op")
            live = [j for j, source in enumerate(outputs) if source is not None]
            if live:
                bits = tf.gather(arch, [self._skip_pos[i][j] for j in live]) > 0
                add_skips = _ADD_SKIPS[i < self.space.layers - 1]
                out, *passed = add_skips(out, bits, *[outputs[j] for j in live])
                for j, source in zip(live, passed):
                    outputs[j] = source
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
                    needed, functools.partial(_run, layer, out, training),
                    functools.partial(_zeros_like_output, layer, out),
                    name=f"reduce{r}_of{j}_if_needed"))
        return reduced

    # -- weights -------------------------------------------------------------------------

    def copy_weights_from(self, standalone):
        """Copies every weight (BN moving statistics included) of a standalone model built
        by ``build_macro_model`` for this space into the layers of the same names."""
        mine = self._named_layers()
        for layer in standalone.layers:
            if layer.weights:
                _copy_layer(layer, _lookup(mine, layer.name, self.name))

    def copy_weights_to(self, standalone):
        """Copies this supernet's weights into the layers of a standalone model built by
        ``build_macro_model`` (all of its weights, BN moving statistics included)."""
        mine = self._named_layers()
        for layer in standalone.layers:
            if layer.weights:
                _copy_layer(_lookup(mine, layer.name, self.name), layer)



def _run(layer, x, training):
    return layer(x, training=training)


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


def _lookup(layers, name, owner):
    if name not in layers:
        raise ValueError(f"layer {name!r} of the standalone model has no counterpart in "
                         f"{owner}: was it built for the same space?")
    return layers[name]


def _copy_layer(source, target):
    src, dst = source.weights, target.weights
    if len(src) != len(dst):
        raise ValueError(f"layer {source.name!r}: {len(src)} weights, {len(dst)} in the copy")
    for s, d in zip(src, dst):
        if tuple(s.shape) != tuple(d.shape):
            raise ValueError(f"layer {source.name!r}: weight {s.path} has shape {s.shape}, "
                             f"{d.path} has {d.shape}: built with other filters?")
        d.assign(s.value)


# -- the steps of the search loop ------------------------------------------------------------


def _signature(supernet, batch_size):
    return [tf.TensorSpec((batch_size,) + supernet.image_shape, tf.float32, name="images"),
            tf.TensorSpec((batch_size,), tf.int64, name="labels"),
            tf.TensorSpec((supernet.space.num_decisions,), tf.int32, name="arch")]


def _accuracy(labels, logits):
    hits = tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int64), labels)
    return tf.reduce_mean(tf.cast(hits, tf.float32))


def make_train_step(supernet, optimizer, batch_size=None):
    """One training step of the shared weights on one architecture's path.

    Returns a ``tf.function`` ``(images, labels, arch) -> (loss, accuracy)``: images float32
    ``(batch, H, W, C)``, labels int64 ``(batch,)``, arch int32 ``(m,)``. Its input
    signature is fixed, so it is traced once for every architecture. The loss is the mean
    sparse categorical cross-entropy of the logits plus ``sum(supernet.losses)`` (the L2
    weight decay of every kernel); the gradients of all trainable variables are applied.

    A deliberate choice, as in ENAS: the ops an architecture does not take get exactly zero
    gradients from the data loss, but they are still updated: their L2 term has a gradient,
    and SGD momentum keeps moving them along their earlier updates.

    Args:
        supernet: a ``MacroSupernet``.
        optimizer: a Keras optimizer (a ``LossScaleOptimizer`` works too).
        batch_size: fix the batch size in the signature (None: any). A fixed size keeps
            every shape static, which on a CPU makes the step about 2 % faster.
    """
    variables = supernet.trainable_variables
    if not optimizer.built:
        optimizer.build(variables)

    @tf.function(input_signature=_signature(supernet, batch_size))
    def train_step(images, labels, arch):
        with tf.GradientTape() as tape:
            logits = supernet((images, arch), training=True)
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
            if supernet.losses:
                loss += tf.add_n(supernet.losses)
            scaled = optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, variables)
        optimizer.apply(grads, variables)
        return loss, _accuracy(labels, logits)

    return train_step


def make_eval_step(supernet, batch_size=None):
    """Accuracy of one architecture on one (validation) batch, ENAS's reward.

    Returns a ``tf.function`` ``(images, labels, arch) -> accuracy`` (float32 scalar),
    traced once for every architecture. It runs the network with ``training=True``: batch
    statistics normalize, as in ENAS's reward computation, since the shared moving averages
    fit no single architecture. As a side effect the BN moving statistics of the path are
    updated; no weight is.

    Args:
        supernet: a ``MacroSupernet``.
        batch_size: fix the batch size in the signature (None: any, e.g. for a smaller
            last batch).
    """

    @tf.function(input_signature=_signature(supernet, batch_size))
    def eval_step(images, labels, arch):
        return _accuracy(labels, supernet((images, arch), training=True))

    return eval_step
