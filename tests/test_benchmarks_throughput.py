"""The throughput benchmark, on a tiny case: every section runs and reports a ratio."""

import json

from absl import flags
import pytest

from nases_tf.benchmarks import throughput


def test_throughput_benchmark_runs_on_a_tiny_case(tmp_path):
    fv = flags.FlagValues()
    throughput.define_flags(fv)
    out = tmp_path / "runs" / "throughput.json"
    fv(["nases-benchmark-throughput", "--layers=3", "--filters=4", "--batch_size=8",
        "--archs=2", "--steps=1", "--warmup_steps=1", "--pipeline_batches=2",
        f"--data={tmp_path / 'absent.npz'}", f"--output_json={out}"])
    result = throughput.main(fv)
    sections = result["sections"]
    assert set(sections) == {"supernet_vs_standalone", "input_pipeline", "controller_share"}
    assert sections["supernet_vs_standalone"]["supernet_traces"] == 1
    assert sections["supernet_vs_standalone"]["ratio"] > 0
    assert sections["input_pipeline"]["ratio"] > 0
    assert 0 < sections["controller_share"]["share"] < 1
    table = throughput.format_table(result)
    assert "supernet / standalone" in table and "controller+decoder share" in table
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert result["config"]["layers"] == 3 and sections["input_pipeline"]["source"] == (
        "random uint8 images")


@pytest.mark.slow
def test_the_micro_supernet_is_timed_with_its_one_graph_step_too(tmp_path):
    # one node per cell: the sections time the steps, whatever the cell; most of the time
    # is the traces of the segmented and the one-graph step, which grow with the nodes
    fv = flags.FlagValues()
    throughput.define_flags(fv)
    fv(["nases-benchmark-throughput", "--space=micro", "--nodes=1", "--cells_per_stage=1",
        "--filters=4", "--batch_size=8", "--archs=1", "--steps=1", "--warmup_steps=1",
        "--pipeline_batches=2", f"--data={tmp_path / 'absent.npz'}"])
    result = throughput.main(fv)
    section = result["sections"]["supernet_vs_standalone"]
    assert result["config"]["space"]["name"] == "micro"
    assert section["ratio"] > 0 and section["one_graph_ratio"] > 0
    assert section["per_arch"][0]["one_graph_median_step_s"] > 0
    assert "one graph / standalone" in throughput.format_table(result)
