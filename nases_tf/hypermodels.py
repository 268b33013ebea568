"""keras-tuner hypermodels of nases_tf's search spaces.

``MacroHyperModel`` turns the paper's macro space into keras-tuner hyperparameters, so a
``nases_tf.tuner.NASES`` tuner (or any keras-tuner tuner) searches CIFAR-10 architectures
trial by trial: each trial builds one architecture as a standalone network and trains it
for a few epochs, the episodic NASES of the authors' code.
"""

from nases_tf import quiet_start

quiet_start.import_tensorflow()  # before keras-tuner brings TensorFlow in with its noise
import keras_tuner  # noqa: E402
import numpy as np

from nases_tf.data import pipeline
from nases_tf.networks import build_network
from nases_tf.spaces.macro import MACRO_OPS, MacroSpace
from nases_tf.training.child import compile_child

# CIFAR-10's 45k-image search split in batches of 128.
CIFAR10_SEARCH_STEPS = 45000 // 128


def _is_images(x):
    return isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.ndim == 4


class MacroHyperModel(keras_tuner.HyperModel):
    """The ENAS macro space (paper 3.2, App. A) as a keras-tuner ``HyperModel``.

    ``build(hp)`` declares, layer by layer in the space's vector order, one ``Choice``
    ``op_i`` among the five op names (``MACRO_OPS``) and one ``Boolean`` ``skip_i_j`` per
    earlier layer ``j``, builds the standalone network of that architecture
    (``nases_tf.networks.build_network``) and compiles it with the paper's child
    recipe (``nases_tf.training.child.compile_child``: Nesterov SGD on an SGDR schedule
    whose first cycle spans ``epochs`` epochs of ``steps_per_epoch`` batches, sparse
    cross-entropy on logits, ``accuracy``).

    ``fit`` trains the model. Given uint8 images (``tuner.search(x, y,
    validation_data=(x_val, y_val))``) it uses the paper's input pipeline
    (``nases_tf.data``: per-channel standardization with the training statistics, pad-and-
    crop and flip augmentation, optional cutout) and recompiles the model if the data's
    batches per epoch or the ``epochs`` asked differ from the constructor's, so the SGDR
    cycle always spans the trial. Anything else (float arrays, ``tf.data`` datasets) goes to
    ``model.fit`` unchanged.

    Args:
        layers: number of layers L of the macro space (the paper: 15).
        filters: channels of the first stage (the paper: 40).
        num_classes: number of classes.
        input_shape: image shape.
        steps_per_epoch: training batches per epoch, for the SGDR schedule. Defaults to
            CIFAR-10's 45k search split at batch 128 (351).
        epochs: training epochs of each trial (the episode length), used when ``search``
            is not given ``epochs``.
        batch_size: training batch size used for uint8 images when ``search`` is not given
            ``batch_size``.
        cutout: cutout side for uint8 images (0: off).
        seed: seed of the data order and augmentation.
        name: Optional name of this HyperModel.
        tunable: Whether the hyperparameters declared here are added to the search space.
    """

    def __init__(self, layers=15, filters=40, num_classes=10, input_shape=(32, 32, 3),
                 steps_per_epoch=CIFAR10_SEARCH_STEPS, epochs=1, batch_size=128, cutout=0,
                 seed=0, name=None, tunable=True):
        super().__init__(name=name, tunable=tunable)
        self.space = MacroSpace(layers)
        self.filters = int(filters)
        self.num_classes = int(num_classes)
        self.input_shape = tuple(input_shape)
        self.steps_per_epoch = int(steps_per_epoch)
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.cutout = int(cutout)
        self.seed = int(seed)

    def architecture(self, hp):
        """Declares the space's hyperparameters in ``hp``; returns the architecture vector.

        Args:
            hp: a ``keras_tuner.HyperParameters``.
        """
        arch = []
        for i in range(self.space.layers):
            arch.append(MACRO_OPS.index(hp.Choice(f"op_{i}", list(MACRO_OPS))))
            for j in range(i):
                arch.append(int(hp.Boolean(f"skip_{i}_{j}")))
        return self.space.validate(arch)

    def build(self, hp):
        arch = self.architecture(hp)
        model = build_network(self.space, arch, filters=self.filters,
                              num_classes=self.num_classes, input_shape=self.input_shape)
        return compile_child(model, self.steps_per_epoch, first_cycle_epochs=self.epochs)

    def fit(self, hp, model, x=None, y=None, validation_data=None, epochs=None,
            batch_size=None, **kwargs):
        epochs = self.epochs if epochs is None else int(epochs)
        if not _is_images(x):
            return model.fit(x, y, validation_data=validation_data, epochs=epochs,
                             batch_size=batch_size, **kwargs)
        batch_size = self.batch_size if batch_size is None else int(batch_size)
        steps = len(x) // batch_size
        if steps != self.steps_per_epoch or epochs != self.epochs:
            compile_child(model, max(steps, 1), first_cycle_epochs=epochs)
        mean, std = pipeline.channel_stats(x)
        train = pipeline.train_batches(x, y, batch_size, self.seed, mean, std, last_epoch=epochs,
                                   cutout=self.cutout)
        if validation_data is not None and _is_images(validation_data[0]):
            validation_data = pipeline.eval_batches(validation_data[0], validation_data[1],
                                                batch_size, mean, std)
        kwargs.pop("shuffle", None)
        return model.fit(train, epochs=epochs, steps_per_epoch=steps,
                         validation_data=validation_data, shuffle=False, **kwargs)
