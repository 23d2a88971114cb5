"""`gan-em bench` runs both paths (Keras train_step and the bare loop) on the paper's 28×28 nets.

Only the structure is checked here (a speed depends on the machine); the measured speeds are in
paper_repro/RESULTS.md.
"""
import keras
import pytest

from gan_em_tf import bench, networks


def test_bench_times_both_paths_for_both_phases():
    results = bench.run(batch_size=4, e_batch_size=4, steps=2, warmup=1, xla_settings=[False], repeats=2)
    assert [r["phase"] for r in results] == ["M-step", "E-step"]
    for r in results:
        assert len(r["keras_runs"]) == len(r["bare_runs"]) == 2
        assert r["keras_steps_per_s"] == pytest.approx(sum(r["keras_runs"]) / 2)  # the median of the two repeats
    m_step, e_step = results
    # 3 G + 8 D multiply-adds per M-step image, G + 3 E per E-step image (G 13.1 M, D and E 19.2 M), × 2 FLOP
    assert m_step["gflop_per_step"] == pytest.approx(2 * 193_097_728 * 4 / 1e9)
    assert e_step["gflop_per_step"] == pytest.approx(2 * 70_768_640 * 4 / 1e9)
    table = bench.format_table(results, matmul_gflops=10.0)
    rate = m_step["keras_steps_per_s"] * m_step["gflop_per_step"]
    assert f"| M-step | off | fp32 | 4 | {m_step['keras_steps_per_s']:.2f} |" in table
    assert f"| {rate:.0f} | {rate / 10:.2f} |" in table


def test_dnnmm_bench_times_its_m_step_with_multiply_adds_counted_and_clustergan_leaves_the_penalty_uncounted():
    results = bench.run(batch_size=4, e_batch_size=4, steps=2, warmup=1, xla_settings=[False], repeats=1,
                        method="minmax-em")
    assert [r["phase"] for r in results] == ["M-step (1 D + 1 G/E update)"]
    # per image 4 G + 8 D + 6 E multiply-adds (G, D and E 13.1 M each in ClusterGAN's 28×28 networks), × 2 FLOP
    assert results[0]["gflop_per_step"] == pytest.approx(2 * 234_934_272 * 4 / 1e9)
    from gan_em_tf.clustergan.method import bench_phases

    (phase,) = bench_phases(4, 4, 2, False)
    assert phase.name == "M-step (5 D + 1 G/E update)" and phase.macs_per_image is None


def test_forward_macs_counts_dense_and_convolution_products():
    x = keras.Input((8, 8, 2))
    h = keras.layers.Conv2D(4, 3, 2, padding="same")(x)  # 4 × 4 outputs × 3·3·2·4
    h = keras.layers.Conv2DTranspose(3, 4, 2, padding="same")(h)  # 4 × 4 inputs × 4·4·4·3
    h = keras.layers.Dense(5)(keras.layers.Flatten()(keras.layers.ReLU()(h)))  # 8·8·3 × 5
    assert networks.forward_macs(keras.Model(x, h)) == 16 * 72 + 16 * 192 + 192 * 5
