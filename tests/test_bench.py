"""`gan-em bench` runs both paths (Keras train_step and the bare loop) on the paper's 28×28 nets.

Only the structure is checked here (a speed depends on the machine); the measured speeds are in
paper_repro/RESULTS.md.
"""
import pytest

from gan_em_tf import bench


def test_bench_times_both_paths_for_both_phases():
    results = bench.run(batch_size=4, e_batch_size=4, steps=2, warmup=1, xla_settings=[False], repeats=2)
    assert [r["phase"] for r in results] == ["M-step", "E-step"]
    for r in results:
        assert len(r["keras_runs"]) == len(r["bare_runs"]) == 2
        assert r["keras_steps_per_s"] == pytest.approx(sum(r["keras_runs"]) / 2)  # the median of the two repeats
    assert "| M-step | off | fp32 | 4 |" in bench.format_table(results)
