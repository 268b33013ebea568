"""nases_tf: neural architecture search in an embedding space (NASES) for TensorFlow/Keras."""

__version__ = "0.1.0"
