"""keras-tuner search algorithms, one module each: ``nases`` (NASESOracle and the NASES
tuner), ``evolution``, ``reinforce``, ``local``; ``base`` holds what they share."""
