"""The micro supernet trace benchmark's configuration parsing and report (not its timings)."""

import pytest

from nases_tf.benchmarks.micro_trace import format_table, parse_config
from nases_tf.errors import ConfigError


def test_configs_parse_and_bad_ones_name_the_flag():
    assert parse_config("5:5:40") == (5, 5, 40)
    for bad in ("5:5", "5:x:40", "0:5:40"):
        with pytest.raises(ConfigError, match="--configs"):
            parse_config(bad)


def test_report_has_a_line_per_configuration():
    row = {"cells_per_stage": 5, "nodes": 5, "filters": 40, "batch_size": 32,
           "build_seconds": 1.0, "trace_seconds": 2.0, "first_step_seconds": 3.0,
           "step_seconds": 0.5, "peak_memory_mb": 900, "trace_peak_memory_mb": 800}
    lines = format_table([row, {"config": "2:5:16", "error": "MemoryError"}]).splitlines()
    assert len(lines) == 3 and "900 (800)" in lines[1] and "2:5:16: failed" in lines[2]
