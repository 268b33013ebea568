"""Weight-sharing supernet of the ``micro`` (ENAS cell) space.

One ``MicroSupernet`` holds, for every cell of the network, every op of every node input
slot once, under the layer names of the standalone builder (``networks.micro``). A call
runs only the path of its architecture:

- variables are held per (cell, node, slot, op, stride): the input choice is not part of
  the key, since both cell inputs and all nodes have the cell's width. In a reduction cell
  an op reading a cell input has stride 2 and one reading a node stride 1, so the slot holds
  both variants (``..._s2`` and plain; an identity with stride 2 is a factorized reduction);
  node 0 of a reduction cell only reads cell inputs and holds only the stride-2 variants.
- each (node, slot) selects its input with ``tf.gather`` on the stacked candidates and
  runs its op with ``micro_slot.slot_output``: plain tensor ops on weights gathered by the
  op index and a 0/1 mask, no control flow, which keeps the trace small. In a
  reduction cell, cell inputs and nodes differ in resolution: the slot selects one cell
  input and one node, and its op index runs over 10 ops (5 with stride 2 on the cell input,
  5 with stride 1 on the node). The chosen op's output, gradients and BN statistics are
  exactly those of its layer; the other ops add zeros and get zero gradients.
- the cell output is a ``CellOutput`` over all B nodes whose kernel rows are multiplied by
  the 0/1 "no other node reads it" mask computed from the arch tensor; a standalone model's
  ``CellOutput`` kernel is the slice of the unmasked rows (``copy_weights_to/from`` slice).
- the network runs as a chain of segments (stem; per cell, its preprocessing and the cell;
  head), each in a traced function that the segments of one kind and shape share; the
  train and eval steps (``segmented_steps``) call them one by one and recompute each
  segment's forward pass in its backward pass.
"""

import collections
import functools

import keras
import numpy as np
import tensorflow as tf

from nases_tf.networks.layers import (OPS, CellOutput, classifier_head, serializable,
                                      stem_block)
from nases_tf.networks.micro import (cell_layer_name, cell_plan, op_layer, op_part,
                                     op_strides, preprocess_layer)
from nases_tf.networks.micro_slot import slot_output
from nases_tf.networks.segmented_steps import SegmentedEvalStep, SegmentedTrainStep
from nases_tf.networks.supernet import Supernet, assign_weights
from nases_tf.spaces.micro import CELL_KINDS


@serializable
class MicroSupernet(Supernet):
    """Weight-sharing supernet of a ``MicroSpace``: every op of every node, one path a call.

    Call it with ``(images, arch)``: ``images`` a float tensor ``(batch,) + input_shape``,
    ``arch`` an int32 tensor of shape ``(m,)`` holding the flat architecture vector (see
    ``MicroSpace``). It returns float32 logits equal to those of
    ``build_micro_model(space, arch, ...)`` with the same weights.

    Args:
        space: the ``MicroSpace`` (its ``nodes`` B and ``cells_per_stage`` N size the net).
        filters: channels of the first stage, F (doubled at each reduction cell).
        num_classes: number of logits.
        input_shape: image shape (height, width, channels).
        weight_decay: L2 factor on every kernel.
        **kwargs: passed to ``keras.Model`` (``name``, ``dtype``).
    """

    space_name = "micro"

    def _create_layers(self):
        space = self.space
        self._plan = cell_plan(space, self.filters)
        wd, nodes = self.weight_decay, space.nodes
        self.stem = stem_block(3 * self.filters, weight_decay=wd, name="stem")
        # Flat lists (Keras tracks them); ``_index`` maps (cell, part) to a position.
        self.pre_layers, self.op_layers, self.out_layers = [], [], []
        self._index = {}
        # The network as a chain of segments (see ``segment_sources``), held untracked
        # (Keras tracks the flat lists).
        self._segments = _Untracked([_Segment("stem", [self.stem], (0,), self._stem)])
        self._functions, self._templates = _Untracked({}), _Untracked({})
        self._batch_norms = _Untracked({})
        for c, (kind, width, reduce_prev) in enumerate(self._plan):
            first_op = len(self.op_layers)
            self.pre_layers.append(preprocess_layer(c, 0, width, reduce_prev, wd))
            self.pre_layers.append(preprocess_layer(c, 1, width, False, wd))
            for i in range(nodes):
                for slot in "ab":
                    for strides in self._strides(kind, i):
                        for op in OPS:
                            self._index[(c, op_part(i, slot, op, strides))] = len(self.op_layers)
                            self.op_layers.append(op_layer(c, i, slot, op, width, strides, wd))
            self.out_layers.append(CellOutput(width, range(2, nodes + 2), weight_decay=wd,
                                              name=cell_layer_name(c, "out")))
            # Its preprocessing reads the outputs of cells c - 2 and c - 1 (or the stem's).
            reads = tuple(1 if k < 0 else 2 * k + 3 for k in (c - 2, c - 1))
            self._segments.value += [
                _Segment(("pre", self._plan[c]), self.pre_layers[-2:], reads,
                         functools.partial(self._preprocess, c)),
                _Segment((kind, width), self.op_layers[first_op:] + self.out_layers[-1:],
                         (2 * c + 2,), functools.partial(self._cell, c))]
        self.head = classifier_head(self.num_classes, weight_decay=wd, name="head")
        self._segments.value.append(_Segment("head", [self.head], (2 * len(self._plan) + 1,),
                                             self._head))
        # Flat positions of the decisions, per cell kind: (nodes, 4).
        self._pos = {kind: [[space.position(kind, i, f)
                             for f in ("input_a", "op_a", "input_b", "op_b")]
                            for i in range(nodes)] for kind in CELL_KINDS}

    # -- structure -----------------------------------------------------------------------

    @staticmethod
    def _strides(kind, node):
        """Stride variants held by a slot of node ``node`` (0-based) in a cell of ``kind``."""
        return sorted({op_strides(kind, source) for source in range(node + 2)}, reverse=True)

    def _op_layer(self, cell, node, slot, op, strides):
        return self.op_layers[self._index[(cell, op_part(node, slot, op, strides))]]

    def build(self, input_shape=None):
        """Creates every variable of every op (the input shape comes from the constructor)."""
        shape = (None,) + self.image_shape
        self.stem.build(shape)
        prev2 = prev1 = self.stem.compute_output_shape(shape)
        for c, (kind, width, _) in enumerate(self._plan):
            pre0, pre1 = self.pre_layers[2 * c], self.pre_layers[2 * c + 1]
            pre0.build(prev2)
            pre1.build(prev1)
            in_shape = pre1.compute_output_shape(prev1)
            node_shape = in_shape
            for i in range(self.space.nodes):
                for slot in "ab":
                    for strides in self._strides(kind, i):
                        for k in range(len(OPS)):
                            layer = self._op_layer(c, i, slot, k, strides)
                            layer.build(in_shape if strides == 2 or kind == "normal"
                                        else node_shape)
                            if strides == 2:
                                node_shape = layer.compute_output_shape(in_shape)
            out = self.out_layers[c]
            out.build([node_shape] * self.space.nodes)
            prev2, prev1 = prev1, out.compute_output_shape([node_shape])
        self.head.build(prev1)
        self.built = True

    # -- forward -------------------------------------------------------------------------

    def call(self, inputs, training=None):
        images, arch = inputs
        arch = tf.cast(tf.reshape(arch, [-1]), tf.int32)
        values, moved = self.run_segments(images, arch, bool(training))
        if training:
            for variable, value in zip(self.moving_variables(), moved):
                variable.assign(value)
        return values[-1]

    # -- the network as a chain of segments ----------------------------------------------
    #
    # Segment 0 is the stem, then each cell is two segments: its two preprocessing layers
    # (their outputs stacked) and the cell itself; the last is the classifier head. Each
    # runs in a traced function shared by the segments of the same kind and variable
    # shapes (e.g. the normal cells of a stage): it runs the first such segment's layers
    # under a ``keras.StatelessScope`` holding the weights of the segment being computed,
    # and hands back the BN moving statistics instead of assigning them. The segmented
    # train step calls them one after the other and recomputes each segment's forward in
    # its backward, so graph optimization sees a few cell-sized graphs and only one
    # segment's activations are held at a time.

    @property
    def segment_count(self):
        """Number of segments: stem, two per cell, head."""
        return len(self._segments.value)

    def segment_sources(self, segment):
        """Indices, in the list ``run_segments`` returns, of the values segment ``segment``
        reads (its output is value ``segment + 1``; value 0 is the images).

        Args:
            segment: the segment's index.
        """
        return self._segments.value[segment].sources

    def segment_variables(self, segment):
        """(trainable, non-trainable) variables of segment ``segment``'s layers, in order.

        Args:
            segment: the segment's index.
        """
        layers = self._segments.value[segment].layers
        return ([v for layer in layers for v in layer.trainable_variables],
                [v for layer in layers for v in layer.non_trainable_variables])

    def moving_variables(self):
        """The BN moving statistics of every segment, in the order ``run_segments`` returns
        their new values."""
        return [v for s in range(self.segment_count) for v in self.segment_variables(s)[1]]

    def run_segments(self, images, arch, training):
        """The network's forward pass, segment by segment.

        Returns ``(values, moved)``: ``values`` the images then every segment's output (the
        logits last), ``moved`` the new values of ``moving_variables()`` (not assigned).

        Args:
            images: float tensor ``(batch,) + input_shape``.
            arch: int32 tensor ``(m,)``.
            training: normalize with batch statistics and move the moving statistics.
        """
        values, moved = [images], []
        for s in range(self.segment_count):
            out, segment_moved = self.segment_forward(
                s, [values[i] for i in self.segment_sources(s)], arch, training)
            values.append(out)
            moved.extend(segment_moved)
        return values, moved

    def segment_forward(self, segment, inputs, arch, training):
        """``(output, moved)`` of segment ``segment`` on ``inputs`` (the values it reads):
        its output and the new values of its BN moving statistics.

        Args:
            segment: the segment's index.
            inputs: list of its input tensors.
            arch: int32 tensor ``(m,)``.
            training: normalize with batch statistics and move the moving statistics.
        """
        trainable, moving = self._variable_values(segment)
        function = self._function(segment, ("forward", training), inputs)
        return function(inputs, arch, trainable, moving)

    def segment_backward(self, segment, inputs, arch, output_gradient, loss_scale):
        """Gradients of segment ``segment`` run in training mode on ``inputs``, given
        ``output_gradient`` of its output, and its weight decay: ``(gradients of the
        inputs, gradients of the trainable variables, weight decay)``. The variables'
        gradients include ``loss_scale`` times those of the weight decay (the regularizers
        of its variables). The forward pass is recomputed (and moves no statistic).

        Args:
            segment: the segment's index.
            inputs: list of its input tensors.
            arch: int32 tensor ``(m,)``.
            output_gradient: gradient of the (scaled) loss with respect to its output.
            loss_scale: float32 scalar tensor, the optimizer's loss scale (1 without one).
        """
        trainable, moving = self._variable_values(segment)
        function = self._function(segment, ("backward",), inputs)
        return function(inputs, arch, trainable, moving, output_gradient, loss_scale)

    def trace_segments(self, images_spec):
        """Traces the training-mode forward and the backward function of every segment
        for images of ``images_spec`` (a ``tf.TensorSpec``) without running them.

        Args:
            images_spec: shape and dtype of the images.
        """
        specs = [images_spec]
        for s in range(self.segment_count):
            inputs = [specs[i] for i in self.segment_sources(s)]
            specs.append(self._output_spec(s, inputs))
            self._function(s, ("backward",), inputs).get_concrete_function()

    def segment_functions(self):
        """The traced functions created so far (for their tracing counts)."""
        return list(self._functions.value.values())

    def _variable_values(self, segment):
        return [[tf.convert_to_tensor(v) for v in group]
                for group in self.segment_variables(segment)]

    def _template(self, segment):
        """The first segment of ``segment``'s kind with the same variable shapes."""
        templates = self._templates.value
        if segment not in templates:
            tag = self._segments.value[segment].tag
            shapes = _shapes(self.segment_variables(segment))
            templates[segment] = next(
                t for t in range(segment + 1) if self._segments.value[t].tag == tag and
                _shapes(self.segment_variables(t)) == shapes)
        return templates[segment]

    def _function(self, segment, mode, inputs):
        """The traced function of ``mode`` (``("forward", training)`` or ``("backward",)``)
        for ``segment``'s template and the shapes of ``inputs``, created on first use with
        an input signature of those shapes (traced once)."""
        template = self._template(segment)
        key = (template, mode, tuple(tuple(x.shape) for x in inputs), self._momenta(template))
        functions = self._functions.value
        if key not in functions:
            trainable, moving = self.segment_variables(template)
            specs = [[tf.TensorSpec(x.shape, x.dtype) for x in inputs],
                     tf.TensorSpec((self.space.num_decisions,), tf.int32),
                     [tf.TensorSpec(v.shape, v.dtype) for v in trainable],
                     [tf.TensorSpec(v.shape, v.dtype) for v in moving]]
            if mode[0] == "forward":
                body = functools.partial(self._stateless_forward, template, mode[1])
            else:
                body = functools.partial(self._stateless_backward, template)
                specs += [self._output_spec(template, inputs), tf.TensorSpec((), tf.float32)]
            functions[key] = tf.function(body, input_signature=specs, autograph=False)
        return functions[key]

    def _momenta(self, segment):
        """The momentum of each BN layer of ``segment``, a number or a variable's id: a
        function reads it as it is when traced (``search.scoring`` swaps in a variable to
        re-estimate the statistics), so each setting gets its own function."""
        layers = self._batch_norms.value
        if segment not in layers:
            layers[segment] = [
                bn for layer in self._segments.value[segment].layers
                for bn in layer._flatten_layers(include_self=True, recursive=True)
                if isinstance(bn, keras.layers.BatchNormalization)]
        return tuple(m if isinstance(m, (int, float)) else id(m)
                     for m in (bn.momentum for bn in layers[segment]))

    def _output_spec(self, segment, inputs):
        """Shape and dtype of ``segment``'s output on ``inputs`` (tensors or specs), from
        its traced forward function."""
        forward = self._function(segment, ("forward", True), inputs)
        out = forward.get_concrete_function().structured_outputs[0]
        return tf.TensorSpec(out.shape, out.dtype)

    def _stateless_forward(self, segment, training, inputs, arch, trainable, moving):
        trainable_vars, moving_vars = self.segment_variables(segment)
        mapping = list(zip(trainable_vars + moving_vars, trainable + moving))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            out = self._segments.value[segment].run(inputs, arch, training)
        return out, [scope.get_current_value(v) for v in moving_vars]

    def _stateless_backward(self, segment, inputs, arch, trainable, moving, output_gradient,
                            loss_scale):
        forward = self._function(segment, ("forward", True), inputs)
        with tf.GradientTape() as tape:
            tape.watch([inputs, trainable])
            out, _ = forward(inputs, arch, trainable, moving)
            penalty = _weight_decay(self.segment_variables(segment)[0], trainable)
        gradients = tape.gradient([out, penalty], [inputs, trainable],
                                  output_gradients=[output_gradient, loss_scale],
                                  unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return gradients[0], gradients[1], penalty

    def _stem(self, inputs, arch, training):
        return self.stem(inputs[0], training=training)

    def _head(self, inputs, arch, training):
        return self.head(inputs[0])

    def _preprocess(self, c, inputs, arch, training):
        """Cell ``c``'s two inputs brought to its width, stacked."""
        return tf.stack([self.pre_layers[2 * c + k](x, training=training)
                         for k, x in enumerate(inputs)])

    def _cell(self, c, inputs, arch, training):
        """The output of cell ``c`` (its layers as they are) on its stacked preprocessed
        inputs (``inputs``, a list of one tensor)."""
        kind, nodes = self._plan[c][0], self.space.nodes
        pos = self._pos[kind]
        states = tf.unstack(inputs[0])
        for i in range(nodes):
            terms = []
            for s, slot in enumerate("ab"):
                source, op = arch[pos[i][2 * s]], arch[pos[i][2 * s + 1]]
                if kind == "normal" or i == 0:
                    x = _select(source, states)
                    terms.append(self._apply_ops(c, i, slot, op, training,
                                                 [(op_strides(kind, 0), x)]))
                else:
                    # Cell inputs (stride 2) and nodes (stride 1) differ in resolution:
                    # select one of each; the op index runs over both ops sets.
                    reads_node = tf.cast(source >= 2, tf.int32)
                    x_in = _select(tf.minimum(source, 1), states[:2])
                    x_node = _select(tf.maximum(source - 2, 0), states[2:])
                    terms.append(self._apply_ops(c, i, slot, op + reads_node * len(OPS),
                                                 training, [(2, x_in), (1, x_node)]))
            states.append(terms[0] + terms[1])
        sources = tf.gather(arch, [p[f] for p in pos for f in (0, 2)])
        used = tf.reduce_any(
            tf.equal(sources[None, :], tf.range(2, nodes + 2)[:, None]), axis=1)
        loose = 1.0 - tf.cast(used, tf.float32)
        return self.out_layers[c](states[2:], node_mask=loose, training=training)

    def _apply_ops(self, cell, node, slot, op, training, inputs):
        """The op ``op`` of one slot: for each ``(strides, x)`` of ``inputs`` in turn, the
        ops with that stride applied to ``x`` (``op`` counts on across the sets)."""
        out = 0
        for n, (strides, x) in enumerate(inputs):
            layers = [self._op_layer(cell, node, slot, k, strides) for k in range(len(OPS))]
            out += slot_output(layers, op - n * len(OPS), x, strides, training)
        return out

    # -- the steps of the search loop ----------------------------------------------------

    def make_train_step(self, optimizer, batch_size=None):
        """The base class's training step, run segment by segment
        (``segmented_steps.SegmentedTrainStep``): same loss, gradients and updates, a
        Python callable ``(images, labels, arch) -> (loss, accuracy)`` whose traced
        functions are traced once for every architecture.

        Args:
            optimizer: a Keras optimizer (a ``LossScaleOptimizer`` works too).
            batch_size: fix the batch size in the signature (None: any).
        """
        return SegmentedTrainStep(self, optimizer, self.step_signature(batch_size))

    def make_eval_step(self, batch_size=None):
        """The base class's evaluation step (accuracy with batch statistics, the moving
        statistics of the path move), run segment by segment
        (``segmented_steps.SegmentedEvalStep``).

        Args:
            batch_size: fix the batch size in the signature (None: any).
        """
        return SegmentedEvalStep(self, self.step_signature(batch_size), training=True)

    # -- weights -------------------------------------------------------------------------

    def _copy_layer(self, source, target, to_supernet):
        """A cell output's kernel goes into (or comes from) the rows of the nodes the
        standalone cell concatenates; every other layer copies as is."""
        if not isinstance(source, CellOutput) or source.nodes == target.nodes:
            return super()._copy_layer(source, target, to_supernet)
        full, part = (target, source) if to_supernet else (source, target)
        if any(n not in full.nodes for n in part.nodes):
            raise ValueError(f"layer {source.name!r}: nodes {part.nodes} not in {full.nodes}")
        rows = _kernel_rows(full, part.nodes)
        values = [w.numpy() for w in source.weights]
        k = next(i for i, w in enumerate(source.weights) if w is source.kernel)
        if to_supernet:
            merged = target.kernel.numpy()
            merged[:, :, rows, :] = values[k]
            values[k] = merged
        else:
            values[k] = values[k][:, :, rows, :]
        assign_weights(source, target, values)


class _Segment(collections.namedtuple("_Segment", "tag layers sources run")):
    """A part of the network run by one traced function: ``tag`` (with the variable
    shapes) says which segments can share it, ``run(inputs, arch, training)`` computes its
    output from its ``layers``' current weights."""


class _Untracked:
    """Holds ``value`` out of sight of Keras' and TensorFlow's attribute tracking (layers
    already tracked elsewhere, traced functions)."""

    def __init__(self, value):
        self.value = value


def _weight_decay(variables, values):
    """The sum of the regularizers of ``variables`` (Keras variables) on ``values``."""
    terms = [v.regularizer(x) for v, x in zip(variables, values) if v.regularizer is not None]
    return tf.add_n(terms) if terms else tf.constant(0.0)


def _shapes(variable_groups):
    return [tuple(v.shape) for group in variable_groups for v in group]


def _select(index, tensors):
    """``tensors[index]`` for an int32 scalar tensor ``index``."""
    if len(tensors) == 1:
        return tensors[0]
    return tf.gather(tf.stack(tensors), index)


def _kernel_rows(full, nodes):
    """Row indices of the full (every node) cell-output kernel that hold ``nodes``."""
    per_node = full.kernel.shape[2] // len(full.nodes)
    return np.concatenate([np.arange(per_node) + full.nodes.index(n) * per_node
                           for n in nodes])

