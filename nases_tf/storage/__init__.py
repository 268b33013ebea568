"""Files a run leaves: atomic writes (``fileio``) and resumable checkpoints and their
repair (``checkpoints``)."""
