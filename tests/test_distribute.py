"""1 replica and 2 replicas (two logical CPUs) agree: one M-step and one E-step (with and without --e-augment's
jitter) give the same weights, and a partition move (gan_em/moves.py) gives the same w."""
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(r'''
    import os, sys
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from gan_em_tf import data, networks
    from gan_em_tf.distribute import make_strategy
    from gan_em_tf.gan_em.models import EStep, MStep

    K, NOISE, SHAPE = 3, 8, (8, 8, 1)
    JITTER = sys.argv[1] == "jitter"  # the E-step's fakes jittered (--e-augment; no XLA kernel for its warp)
    keras.utils.set_random_seed(0)
    init = [networks.build_generator(SHAPE, K, NOISE).get_weights(),
            networks.build_discriminator(SHAPE, K).get_weights(),
            networks.build_enet(SHAPE, K).get_weights()]
    x = np.random.default_rng(0).random((16,) + SHAPE, dtype=np.float32)
    w = np.random.default_rng(1).dirichlet(np.ones(K), 16).astype(np.float32)

    def one_step(strategy):
        with strategy.scope():
            g = networks.build_generator(SHAPE, K, NOISE, sync_bn=True)
            d = networks.build_discriminator(SHAPE, K, sync_bn=True)
            e = networks.build_enet(SHAPE, K, sync_bn=True)
            for net, wts in zip((g, d, e), init):
                net.set_weights(wts)
            # SGD with momentum, not Adam: its update is linear in the gradient, so a loss not reduced over the
            # global batch (a factor of 2 on two replicas) shows in the weights, while Adam would normalise it
            # away and would instead amplify round-off in near-zero gradients (up to its lr; seen on oneDNN/AMX)
            m = MStep(g, d, K, "exp", 2.0)
            m.compile(keras.optimizers.SGD(0.1, momentum=0.5), keras.optimizers.SGD(0.1, momentum=0.5))
            es = EStep(g, e, K)
            es.compile(keras.optimizers.SGD(0.1, momentum=0.5), **({"jit_compile": False} if JITTER else {}))
        fit = dict(epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
        mh = m.fit(data.real_batches(x, w, 8, 0, 0, NOISE, K), **fit)
        eh = es.fit(data.noise_batches(8, 2, 0, 0, NOISE, np.full(K, 1 / K), jitter=JITTER), **fit)
        return [g.get_weights(), d.get_weights(), e.get_weights()], {**mh.history, **eh.history}

    one = tf.distribute.MirroredStrategy(["CPU:0"])
    two = tf.distribute.MirroredStrategy(["CPU:0", "CPU:1"])
    assert two.num_replicas_in_sync == 2
    w1, h1 = one_step(one)
    w2, h2 = one_step(two)
    worst = 0.0
    for a_net, b_net, start in zip(w1, w2, init):
        for a, b, s in zip(a_net, b_net, start):
            worst = max(worst, float(np.max(np.abs(a - b))))
    moved = max(float(np.max(np.abs(a - s))) for a, s in zip(w1[1], init[1]))
    print("max weight difference", worst, "moved", moved, h1, h2)
    assert moved > 1e-3, "the step did not change D"
    assert worst < 1e-4, worst
    for k in h1:
        assert abs(h1[k][-1] - h2[k][-1]) < 1e-4 * max(1.0, abs(h1[k][-1])), (k, h1[k], h2[k])
    print("OK")
''')


SPLIT_MERGE_SCRIPT = textwrap.dedent(r'''
    import dataclasses, os, sys
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from gan_em_tf import recipes, runner
    from gan_em_tf.config import RunConfig

    kind = sys.argv[1]
    cfg = RunConfig(clusters=3)
    recipes.apply(cfg, "authors")
    cfg.train = dataclasses.replace(cfg.train, batch_size=8, e_batch_size=8, noise_dim=8)
    x = np.random.default_rng(0).random((18, 8, 8, 1), dtype=np.float32)  # 18: the last batch splits unevenly
    w = np.random.default_rng(1).dirichlet(np.ones(3), len(x)).astype(np.float32)
    models = [runner.build(cfg, x.shape[1:], len(x), strategy=tf.distribute.MirroredStrategy(devices))
              for devices in (["CPU:0"], ["CPU:0", "CPU:1"])]
    assert models[1].strategy.num_replicas_in_sync == 2
    for name, net in models[0].networks.items():
        models[1].networks[name].set_weights(net.get_weights())
    results = []
    for m in models:
        m.w = w.copy()
        results.append((m.make_move(kind, x), m.w))
    (logs1, w1), (logs2, w2) = results
    print(kind, logs1, logs2)
    assert logs1 == logs2 and logs1["move"] == kind, (logs1, logs2)
    assert not np.allclose(w1, w), "the move did not change w"
    np.testing.assert_allclose(w1, w2, atol=1e-6)
    print("OK")
''')


def _run(script: str, *args: str) -> None:
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-4000:]


@pytest.mark.parametrize("e_step", ["plain", "jitter"])
def test_one_and_two_replicas_give_the_same_weights(e_step):
    _run(SCRIPT, e_step)


@pytest.mark.parametrize("kind", ["smem", "pair", "cross"])
def test_a_partition_move_is_the_same_on_one_and_two_replicas(kind):
    _run(SPLIT_MERGE_SCRIPT, kind)


@pytest.mark.parametrize("cluster, task, chief", [
    ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 0}, True),  # no chief named: worker 0
    ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 1}, False),
    ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "worker", "index": 0}, False),
    ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "chief", "index": 0}, True),
])
def test_the_chief_is_the_chief_task_or_else_worker_0(monkeypatch, cluster, task, chief):
    import json

    from gan_em_tf import distribute

    monkeypatch.setattr(distribute, "_multi_worker", object())  # as after start(), without joining a cluster
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
    assert distribute.is_chief() is chief
    monkeypatch.setattr(distribute, "_multi_worker", None)
    assert distribute.is_chief()  # one process: always
