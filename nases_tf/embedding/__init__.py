"""The embedding of architectures: stage-1 coder (simulator + decoder) and the controller."""
