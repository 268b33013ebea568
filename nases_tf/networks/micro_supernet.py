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
"""

import functools

import keras
import numpy as np
import tensorflow as tf

from nases_tf.networks.layers import (OPS, CellOutput, classifier_head, serializable,
                                      stem_block)
from nases_tf.networks.micro import (cell_layer_name, cell_plan, op_layer, op_part,
                                     op_strides, preprocess_layer)
from nases_tf.networks.micro_slot import slot_output
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
        # Per cell, its op and output layers (Keras tracks the flat lists above).
        self._cell_layers = _Untracked([])
        self._cell_functions = _Untracked({})
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
            self._cell_layers.value.append(self.op_layers[first_op:] + self.out_layers[-1:])
        self.head = classifier_head(self.num_classes, weight_decay=wd, name="head")
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
        prev2 = prev1 = self.stem(images, training=training)
        for c in range(len(self._plan)):
            inputs = (self.pre_layers[2 * c](prev2, training=training),
                      self.pre_layers[2 * c + 1](prev1, training=training))
            prev2, prev1 = prev1, self._run_cell(c, inputs, arch, training)
        return self.head(prev1)

    def _run_cell(self, cell, inputs, arch, training):
        """Cell ``cell``'s output on its preprocessed ``inputs``, computed by the traced
        function it shares with every cell of its kind and width: the function runs the
        first such cell's layers under a ``keras.StatelessScope`` holding this cell's
        weights, and hands back the BN moving statistics, assigned here."""
        variables = self._cell_variables(cell)
        template = next(c for c in range(cell + 1) if
                        self._plan[c][:2] == self._plan[cell][:2] and
                        _shapes(self._cell_variables(c)) == _shapes(variables))
        functions = self._cell_functions.value
        if template not in functions:
            functions[template] = tf.function(
                functools.partial(self._stateless_cell, template), autograph=False)
        trainable, moving = ([tf.convert_to_tensor(v) for v in group] for group in variables)
        out, moved = functions[template](inputs, arch, trainable, moving, training)
        if training:
            for variable, value in zip(variables[1], moved):
                variable.assign(value)
        return out

    def _cell_variables(self, cell):
        """(trainable, non-trainable) variables of cell ``cell``'s layers, in order."""
        layers = self._cell_layers.value[cell]
        return ([v for layer in layers for v in layer.trainable_variables],
                [v for layer in layers for v in layer.non_trainable_variables])

    def _stateless_cell(self, cell, inputs, arch, trainable, moving, training):
        trainable_vars, moving_vars = self._cell_variables(cell)
        mapping = list(zip(trainable_vars + moving_vars, trainable + moving))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            out = self._cell(cell, inputs, arch, training)
        return out, [scope.get_current_value(v) for v in moving_vars]

    def _cell(self, c, inputs, arch, training):
        """The output of cell ``c`` (its layers as they are) on its preprocessed inputs."""
        kind, nodes = self._plan[c][0], self.space.nodes
        pos = self._pos[kind]
        states = list(inputs)
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


class _Untracked:
    """Holds ``value`` out of sight of Keras' and TensorFlow's attribute tracking (layers
    already tracked elsewhere, traced functions)."""

    def __init__(self, value):
        self.value = value


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

