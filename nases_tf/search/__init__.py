"""Stage 2, the NASES search: the loop (``loop``, weight sharing or episodic), its settings
(``config``, ``schedules``), the supernet's scoring (``scoring``), path sampling and
fine-tuning (``path_sampling``, ``finetuning``), guards (``guards``) and how the final
candidates become one result (``final_selection``)."""
