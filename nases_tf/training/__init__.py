"""Training children: their settings (``config``), one child's recipe (``child``), final
training (``final``), SGDR (``sgdr``), process-wide settings (``runtime``), the deployable
export (``export``) and the random-architecture baseline (``random_baseline``)."""
