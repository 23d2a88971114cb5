"""Speed benchmark (``gan-em bench``): steps/s of a method's training phases.

The method names its phases (``bench_phases`` in its ``method`` module returns
:class:`~gan_em_tf.method.BenchPhase` records: GAN-EM's M- and E-step on the 28×28 networks). For each XLA
setting it times, on the same networks and the same tf.data input, (a) the Keras path, ``fit`` with the
custom ``train_step`` (steps after the warm-up, timed from a callback inside one ``fit``), and (b) a bare
loop: a ``tf.function`` calling the same update (GradientTape + optimizer) per batch with no Keras fit
machinery. ``keras/bare`` is the ratio. The two paths are timed alternately ``repeats`` times and the median
of each is reported, so a burst of load on a shared machine does not decide the ratio. Random data is used:
speed does not depend on it.
Where the method counts a phase's multiply-adds per image (GAN-EM, from its networks' layers:
:func:`gan_em_tf.networks.forward_macs`), the table gives the GFLOP/s and their fraction of this machine's
matrix-multiply rate (:func:`matmul_gflops`).
"""
from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from gan_em_tf import methods

class _StepClock(keras.callbacks.Callback):
    """Times the steps after ``warmup`` inside one ``fit`` call (fit's own setup is not counted)."""

    def __init__(self, warmup: int):
        super().__init__()
        self.warmup, self.start, self.end = warmup, None, None

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.warmup - 1:
            self.start = time.perf_counter()
        self.end = time.perf_counter()


def _time_keras(model, ds, warmup: int, steps: int) -> float:
    clock = _StepClock(warmup)
    model.fit(ds.take(warmup + steps), verbose=0, shuffle=False, callbacks=[clock])
    return steps / (clock.end - clock.start)


def _time_bare(step, ds, warmup: int, steps: int) -> float:
    for batch in ds.take(warmup):
        step(batch)
    it = iter(ds.take(steps))
    t0 = time.perf_counter()
    for batch in it:
        out = step(batch)
    float(out[0])  # wait for the last step
    return steps / (time.perf_counter() - t0)


def run(batch_size: int, e_batch_size: int, steps: int, warmup: int, xla_settings,
        mixed_precision: bool = False, repeats: int = 3, method: str = methods.DEFAULT) -> list[dict]:
    policy = keras.mixed_precision.global_policy().name
    if mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        results = []
        for xla in xla_settings:
            phases = methods.module(method, "method").bench_phases(batch_size, e_batch_size, steps + warmup, xla)
            for p in phases:
                step = tf.function(lambda b, u=p.update: u(**b), jit_compile=xla)  # traced once, reused per repeat
                keras_runs, bare_runs = [], []
                for _ in range(repeats):
                    keras_runs.append(_time_keras(p.model, p.batches, warmup, steps))
                    bare_runs.append(_time_bare(step, p.batches, warmup, steps))
                keras_sps, bare_sps = float(np.median(keras_runs)), float(np.median(bare_runs))
                batch, macs = p.batch, p.macs_per_image
                results.append({"phase": p.name, "xla": xla, "batch": batch, "mixed_precision": mixed_precision,
                                "repeats": repeats, "keras_runs": keras_runs, "bare_runs": bare_runs,
                                "keras_steps_per_s": keras_sps, "bare_steps_per_s": bare_sps,
                                "keras_images_per_s": keras_sps * batch, "bare_images_per_s": bare_sps * batch,
                                "keras_over_bare": keras_sps / bare_sps,
                                "gflop_per_step": None if macs is None else 2 * macs * batch / 1e9})
        return results
    finally:
        keras.mixed_precision.set_global_policy(policy)


def matmul_gflops(n: int = 2048, repeats: int = 10, xla: bool = True, dtype: str = "float32") -> float:
    """This machine's matrix-multiply rate (n×n×n, GFLOP/s) in ``dtype``: the ceiling the steps are measured
    against. On CPUs with AMX (Intel Sapphire Rapids and later) bfloat16 runs several times faster than
    float32, through oneDNN when XLA is off."""
    a = tf.cast(tf.random.uniform((n, n)), dtype)
    f = tf.function(lambda: tf.matmul(a, a), jit_compile=xla)
    f().numpy()
    t0 = time.perf_counter()
    for _ in range(repeats):
        out = f()
    out.numpy()
    return 2 * n**3 * repeats / (time.perf_counter() - t0) / 1e9


def format_table(results: list[dict], matmul_gflops: float | None = None) -> str:
    """The results as a Markdown table; where a phase's multiply-adds are counted, the Keras path's GFLOP/s
    and, given this machine's matmul rate, their fraction of it (the ceiling the phase could reach)."""
    lines = ["| phase | XLA | precision | batch | Keras steps/s | bare steps/s | Keras img/s | bare img/s "
             "| Keras/bare | Keras GFLOP/s | of matmul |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        prec = "bf16" if r["mixed_precision"] else "fp32"
        gflops = fraction = "—"
        if r["gflop_per_step"] is not None:
            rate = r["keras_steps_per_s"] * r["gflop_per_step"]
            gflops = f"{rate:.0f}"
            fraction = f"{rate / matmul_gflops:.2f}" if matmul_gflops else "—"
        lines.append(f"| {r['phase']} | {'on' if r['xla'] else 'off'} | {prec} | {r['batch']} | "
                     f"{r['keras_steps_per_s']:.2f} | "
                     f"{r['bare_steps_per_s']:.2f} | {r['keras_images_per_s']:.0f} | {r['bare_images_per_s']:.0f} | "
                     f"{r['keras_over_bare']:.3f} | {gflops} | {fraction} |")
    return "\n".join(lines)
