"""Train and eval steps of a network run as a chain of segments, each its own traced
function (the micro supernet).

The network provides ``segment_count``, ``segment_sources``, ``segment_variables``,
``moving_variables``, ``run_segments``, ``segment_backward``, ``trace_segments`` and
``segment_functions`` (see ``MicroSupernet``). The steps are Python callables, not one
``tf.function``: the forward pass calls the segments in turn, keeping only their outputs;
the backward pass calls each segment's gradient function in reverse order, which recomputes
that segment's forward pass from its inputs (gradient checkpointing at segment
boundaries). TensorFlow then optimizes a few cell-sized graphs instead of one graph of the
whole network and its gradient, and holds the activations of one segment at a time. Loss,
gradients and BN statistics are those of the one-graph step (``steps.make_train_step``).
"""

import keras
import tensorflow as tf

from nases_tf.networks import steps


def fused_sgd_applies(optimizer, variables):
    """Whether ``apply_fused_sgd`` updates ``variables`` exactly as ``optimizer.apply``
    does: ``optimizer`` is a plain ``keras.optimizers.SGD`` with momentum (not a subclass,
    not wrapped in a ``LossScaleOptimizer``) with none of the base optimizer's options that
    change the update (clipping, weight decay, EMA, gradient accumulation, loss scale
    factor), outside a ``tf.distribute`` strategy, and no variable has a constraint or
    ``overwrite_with_gradient`` set."""
    return (type(optimizer) is keras.optimizers.SGD and optimizer.momentum != 0
            and not any((optimizer.clipnorm, optimizer.clipvalue, optimizer.global_clipnorm,
                         optimizer.weight_decay, optimizer.use_ema,
                         optimizer.gradient_accumulation_steps,
                         optimizer.loss_scale_factor))
            and not tf.distribute.has_strategy()
            and not any(getattr(v, "constraint", None) is not None
                        or getattr(v, "overwrite_with_gradient", False) for v in variables))


def apply_fused_sgd(optimizer, gradients, variables):
    """``optimizer.apply(gradients, variables)`` for an SGD ``optimizer`` that
    ``fused_sgd_applies`` accepts, with one ``ResourceApplyKerasMomentum`` op per variable
    instead of Keras' traced per-variable update.

    The learning rate is evaluated once at ``optimizer.iterations`` as in ``apply``, the
    momentum slots are the optimizer's own variables (so checkpoints keep them) and
    ``optimizer.iterations`` advances by one. The gradients must all be dense tensors.
    """
    learning_rate = optimizer.learning_rate
    by_dtype = {}
    for gradient, variable in zip(gradients, variables):
        dtype = tf.as_dtype(variable.dtype)
        if dtype not in by_dtype:
            by_dtype[dtype] = (tf.cast(learning_rate, dtype),
                               tf.constant(optimizer.momentum, dtype))
        lr, momentum = by_dtype[dtype]
        slot = optimizer.momentums[optimizer._get_variable_index(variable)]
        tf.raw_ops.ResourceApplyKerasMomentum(
            var=variable.handle, accum=slot.handle, lr=lr, grad=tf.cast(gradient, dtype),
            momentum=momentum, use_nesterov=optimizer.nesterov)
    optimizer.iterations.assign_add(1)


class _SegmentedStep:
    """What the segmented steps share: the inputs, the model's moving statistics and the
    tracing count of their traced functions."""

    def __init__(self, model, input_signature):
        self.model, self.input_signature = model, input_signature
        self._moving = model.moving_variables()
        self._own_functions = []

    def _inputs(self, images, labels, arch):
        """The step's inputs as tensors of the signature's dtypes."""
        return tuple(tf.convert_to_tensor(x, spec.dtype)
                     for x, spec in zip((images, labels, arch), self.input_signature))

    def _traced(self, body, *specs):
        """``body`` as a ``tf.function`` of input signature ``specs``, counted as the
        step's."""
        function = tf.function(body, input_signature=list(specs), autograph=False)
        self._own_functions.append(function)
        return function

    def _specs(self, variables):
        return [tf.TensorSpec(v.shape, v.dtype) for v in variables]

    def _logits_spec(self):
        return tf.TensorSpec((self.input_signature[0].shape[0], self.model.num_classes),
                             tf.float32)

    def experimental_get_tracing_count(self):
        """The most times any of the step's traced functions was traced (1: none retraced).
        """
        functions = self._own_functions + self.model.segment_functions()
        return max(f.experimental_get_tracing_count() for f in functions)

    def trace(self):
        """Traces every function of the step for its input signature without running it."""
        self.model.trace_segments(self.input_signature[0])
        for function in self._own_functions:
            function.get_concrete_function()


class SegmentedEvalStep(_SegmentedStep):
    """Accuracy of one architecture on one batch, run segment by segment.

    Called as ``(images, labels, arch) -> accuracy`` (float32 scalar). With
    ``training=True`` batch statistics normalize and the BN moving statistics move.

    Args:
        model: the segmented network (see the module docstring).
        input_signature: ``tf.TensorSpec`` s of ``(images, labels, arch)``.
        training: the ``training`` flag the segments run with.
    """

    def __init__(self, model, input_signature, training=False):
        super().__init__(model, input_signature)
        self.training = training
        self._score = self._traced(self._assign_and_score, self._specs(self._moving),
                                   self._logits_spec(), input_signature[1])

    def __call__(self, images, labels, arch):
        images, labels, arch = self._inputs(images, labels, arch)
        values, moved = self.model.run_segments(images, arch, self.training)
        return self._score(moved, values[-1], labels)

    def _assign_and_score(self, moved, logits, labels):
        if self.training:
            for variable, value in zip(self._moving, moved):
                variable.assign(value)
        return steps.accuracy(labels, logits)


class SegmentedTrainStep(_SegmentedStep):
    """One training step of the shared weights on one architecture's path, run segment by
    segment.

    Called as ``(images, labels, arch) -> (loss, accuracy)``. The loss is the mean
    cross-entropy plus the weight decay (the regularizers of the variables, which must be
    all of the model's losses, as ``steps.classification_loss`` adds); the gradients of all
    trainable variables are applied with ``optimizer`` and the BN moving statistics of the
    path move, as in ``steps.make_train_step``. When ``fused_sgd_applies`` accepts the
    optimizer the update is ``apply_fused_sgd`` (``fuse_sgd``; set it before the first call
    or ``trace`` to force ``optimizer.apply``).

    Args:
        model: the segmented network (see the module docstring).
        optimizer: a Keras optimizer (a ``LossScaleOptimizer`` works too); built here on the
            model's trainable variables if it is not yet.
        input_signature: ``tf.TensorSpec`` s of ``(images, labels, arch)``.
    """

    def __init__(self, model, optimizer, input_signature):
        super().__init__(model, input_signature)
        self.optimizer = optimizer
        self._trainable = [v for s in range(model.segment_count)
                           for v in model.segment_variables(s)[0]]
        if sorted(map(id, self._trainable)) != sorted(map(id, model.trainable_variables)):
            raise ValueError("the segments' trainable variables are not the model's")
        regularized = [v for v in self._trainable if v.regularizer is not None]
        if len(model.losses) != len(regularized):
            raise ValueError("the model has losses other than its variables' regularizers")
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        self.fuse_sgd = fused_sgd_applies(optimizer, self._trainable)
        self._loss = self._traced(self._loss_and_gradient, self._logits_spec(),
                                  input_signature[1])
        self._apply = self._traced(self._apply_gradients, self._specs(self._trainable),
                                   self._specs(self._moving))

    def __call__(self, images, labels, arch):
        model = self.model
        images, labels, arch = self._inputs(images, labels, arch)
        values, moved = model.run_segments(images, arch, True)
        loss, acc, gradient, loss_scale = self._loss(values[-1], labels)
        gradients = [None] * len(values)
        gradients[-1] = gradient
        weight_gradients = []
        for s in reversed(range(model.segment_count)):
            sources = model.segment_sources(s)
            to_inputs, to_weights, penalty = model.segment_backward(
                s, [values[i] for i in sources], arch, gradients[s + 1], loss_scale)
            # What no earlier segment reads is no longer needed.
            gradients[s + 1] = values[s + 1] = None
            weight_gradients.append(to_weights)
            loss += penalty
            for i, g in zip(sources, to_inputs):
                gradients[i] = g if gradients[i] is None else gradients[i] + g
        self._apply([g for group in reversed(weight_gradients) for g in group], moved)
        return loss, acc

    def _loss_and_gradient(self, logits, labels):
        """Mean cross-entropy, accuracy, the gradient of the scaled cross-entropy with
        respect to the logits, and the loss scale."""
        with tf.GradientTape() as tape:
            tape.watch(logits)
            loss = steps.cross_entropy(labels, logits)
            scaled = self.optimizer.scale_loss(loss)
        return (loss, steps.accuracy(labels, logits), tape.gradient(scaled, logits),
                self.optimizer.scale_loss(tf.constant(1.0)))

    def _apply_gradients(self, gradients, moved):
        """Applies ``gradients`` to the trainable variables and assigns the moving
        statistics their ``moved`` values."""
        if self.fuse_sgd:
            apply_fused_sgd(self.optimizer, gradients, self._trainable)
        else:
            self.optimizer.apply(gradients, self._trainable)
        for variable, value in zip(self._moving, moved):
            variable.assign(value)
