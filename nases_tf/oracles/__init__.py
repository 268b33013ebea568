"""Search algorithms as keras-tuner Oracles."""
