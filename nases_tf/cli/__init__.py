"""The command line: flags read once into a ``RunConfig`` (``flags``, ``config``), checks
before TensorFlow starts (``checks``), the run record (``run_record``), the slow-run
estimate (``estimate``), the stages (``main``), ``nases-draw`` (``draw``) and the ranking
benchmark's command (``ranking``). Nothing outside this package imports it."""
