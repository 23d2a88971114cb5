"""GAN-EM's training phases: each update moves its networks the way its loss says, and the EM iteration's
schedule (rates, M-step length, the class term, the jitter) is what the config asks for."""
import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_em_tf import data, networks, training
from gan_em_tf.augment import MAX_SHIFT, affine_jitter
from gan_em_tf.gan_em.models import EStep, MStep

K, NOISE = 3, 8


def _nets(shape, embed_dim=4):
    keras.utils.set_random_seed(0)
    return (networks.build_generator(shape, K, NOISE), networks.build_discriminator(shape, K),
            networks.build_enet(shape, K, embed_dim=embed_dim))


@pytest.mark.parametrize("shape,gen_loss", [((8, 8, 1), "exp"), ((8, 8, 1), "onehot"), ((28, 28, 1), "onehot"),
                                            ((32, 32, 3), "onehot"), ((64, 64, 3), "exp"), ((6,), "exp")])
def test_one_m_step_descends_eq_2_for_d_then_eq_1_for_g(shape, gen_loss):
    """One update at a small rate: D's loss (Eq. 2 + the real/fake unit) on the batch and G's old fakes is lower
    with the new D, and G's loss (Eq. 1 or the authors') through the new D is lower with the new G — an update
    that ascended, or that trained a network on the other's loss, fails."""
    from gan_em_tf.gan_em import losses

    g, d, _ = _nets(shape)
    assert g.output_shape == (None,) + shape and d.output_shape == (None, K + 1)
    m = MStep(g, d, K, gen_loss, real_unit_weight=2.0)
    m.compile(keras.optimizers.SGD(1e-3), keras.optimizers.SGD(1e-3))
    rng = np.random.default_rng(0)
    x = tf.constant(rng.random((16,) + shape, dtype=np.float32))
    w = tf.constant(rng.dirichlet(np.ones(K), 16).astype(np.float32))
    z = tf.constant(rng.random((16, NOISE), dtype=np.float32))
    c = tf.constant(np.arange(16) % K, tf.int64)

    def d_loss(fakes):
        real, fake = losses.discriminator_loss(d(x, training=True), w, d(fakes, training=True), 2.0)
        return float(tf.reduce_mean(real) + tf.reduce_mean(fake))

    def g_loss(fakes):
        return float(tf.reduce_mean(losses.generator_loss(d(fakes, training=True), c, K, gen_loss)))

    old_fakes = g([z, tf.one_hot(c, K)], training=True)
    d_before = d_loss(old_fakes)
    m.update(x, w, z, c)
    assert d_loss(old_fakes) < d_before
    assert g_loss(g([z, tf.one_hot(c, K)], training=True)) < g_loss(old_fakes)


def test_e_step_learns_the_class_of_g_samples_and_never_moves_g():
    """Eq. 5: E-steps on one generated batch lower the E-net's cross-entropy on it; G is frozen."""
    from gan_em_tf.gan_em import losses

    g, _, e = _nets((8, 8, 1))
    first = next(layer for layer in g.layers if isinstance(layer, keras.layers.Dense))
    first.kernel.assign(first.kernel * np.r_[np.full(K, 20.0), np.ones(NOISE)][:, None])  # classes G tells apart
    es = EStep(g, e, K)
    es.compile(keras.optimizers.Adam(1e-3, 0.5))
    batch = next(iter(data.noise_batches(32, 1, 0, 0, NOISE, np.full(K, 1 / K))))
    fakes = g([batch["z"], tf.one_hot(batch["c"], K)], training=False)

    def ce():
        return float(tf.reduce_mean(losses.enet_loss(e(fakes, training=True), batch["c"])))

    g0, before = g.get_weights(), ce()
    es.fit(tf.data.Dataset.from_tensors(batch).repeat(), epochs=1, steps_per_epoch=30, verbose=0)
    assert ce() < 0.5 * before
    assert all(np.array_equal(a, b) for a, b in zip(g0, g.get_weights()))


def test_affine_jitter_is_the_identity_at_half_moves_pixels_and_keeps_the_centre():
    """u = 0.5 changes nothing; u = 1 on the shift draw moves the image MAX_SHIFT × side to the right; a rotation
    and zoom alone keep the centre pixel where it is."""
    side = 25  # MAX_SHIFT × 25 = 2 pixels
    img = np.zeros((1, side, side, 1), np.float32)
    img[0, 12, 12] = 1.0  # the centre
    img[0, 5, 7] = 1.0
    same = np.asarray(affine_jitter(img, np.full((1, 4), 0.5, np.float32)))
    np.testing.assert_allclose(same, img, atol=1e-5)
    assert MAX_SHIFT * side == pytest.approx(2.0)
    shifted = np.asarray(affine_jitter(img, np.array([[0.5, 1.0, 0.5, 0.5]], np.float32)))
    np.testing.assert_allclose(shifted[0, :, 2:], img[0, :, :-2], atol=1e-5)
    turned = np.asarray(affine_jitter(img, np.array([[1.0, 0.5, 0.5, 0.0]], np.float32)))
    assert turned[0, 12, 12, 0] == pytest.approx(1.0, abs=1e-5)
    assert turned[0, 5, 7, 0] < 0.9  # the off-centre pixel moved


def test_e_step_with_jitter_draws_trains_the_enet_on_jittered_fakes():
    """--e-augment: the batches carry draws u, every fake is moved its own way, and the E-step on them is not the
    E-step on the plain fakes."""
    shape = (8, 8, 1)
    g, _, e = _nets(shape)
    batch = next(iter(data.noise_batches(8, 1, 0, 0, NOISE, np.full(K, 1 / K), jitter=True)))
    assert batch["u"].shape == (8, 4) and 0 <= float(np.min(batch["u"])) and float(np.max(batch["u"])) < 1
    fakes = g([batch["z"], tf.one_hot(batch["c"], K)], training=False)
    moved = np.abs(np.asarray(affine_jitter(fakes, batch["u"])) - np.asarray(fakes)).reshape(8, -1).max(axis=1)
    assert (moved > 1e-3).all(), moved
    es = EStep(g, e, K)
    es.compile(keras.optimizers.SGD(0.1))
    start = e.get_weights()
    es.update(batch["z"], batch["c"], batch["u"])
    jittered = e.get_weights()
    e.set_weights(start)
    es.update(batch["z"], batch["c"])
    assert not all(np.allclose(a, b) for a, b in zip(jittered, e.get_weights()))


def _tiny_gan_em(schedule=None, clusters=K, supervision=None, recipe="authors", **train_fields):
    """A GanEm on 16 random 8×8 images (batches of 8: 2 M-steps per pass) with the given config changes."""
    from gan_em_tf import recipes, runner
    from gan_em_tf.config import RunConfig, ScheduleConfig, SupervisionConfig

    cfg = RunConfig(clusters=clusters, supervision=supervision or SupervisionConfig())
    recipes.apply(cfg, recipe)
    cfg.train = dataclasses.replace(cfg.train, batch_size=8, e_batch_size=8, noise_dim=NOISE, **train_fields)
    cfg.schedule = schedule or ScheduleConfig(iterations=2, m_epochs=1, e_steps=2)
    x = np.random.default_rng(0).random((16, 8, 8, 1), dtype=np.float32)
    return runner.build(cfg, x.shape[1:], len(x)), x


def test_lr_decay_from_its_start_iteration_for_all_three_optimizers():
    """Rates × γ^max(0, iteration − S)."""
    model, _ = _tiny_gan_em(lr_decay=0.5, lr_decay_start=3)
    train = model.cfg.train
    for iteration, factor in [(0, 1.0), (3, 1.0), (4, 0.5), (6, 0.125)]:
        model.iteration = iteration
        model.set_learning_rates()
        rates = {key: float(opt.learning_rate.numpy()) for key, opt in model.optimizers.items()}
        assert np.allclose([rates["g"], rates["d"], rates["e"]],
                           [train.lr_g * factor, train.lr_d * factor, train.lr_e * factor]), (iteration, rates)


def test_e_augment_start_jitters_only_the_e_steps_after_its_iteration(monkeypatch):
    """e_augment from iteration 1: the first E-step trains on plain fakes, the second on jittered ones."""
    from gan_em_tf.gan_em import method

    batches_seen = []
    real_noise_batches = method.data_lib.noise_batches

    def spy(*args, **kwargs):
        ds = real_noise_batches(*args, **kwargs)
        batches_seen.append(sorted(next(iter(ds)).keys()))
        return ds

    monkeypatch.setattr(method.data_lib, "noise_batches", spy)
    model, x = _tiny_gan_em(e_augment=True, e_augment_start=1)
    for _ in range(2):
        model.em_iteration(x, verbose=0)
    assert ["u" in keys for keys in batches_seen] == [False, True], batches_seen


@pytest.mark.parametrize("schedule, steps", [(dict(m_epochs=1, first_m_scale=3.0), [6, 2]),
                                             (dict(m_epochs=0.5), [1, 1]), (dict(m_epochs=1.5), [3, 3]),
                                             (dict(m_epochs=0.1), [1, 1]), (dict(m_steps=5), [5, 5]),
                                             (dict(m_steps=5, first_m_scale=2.0), [10, 5]),
                                             (dict(m_epochs=1, m_steps=5), [2, 2]),
                                             (dict(m_epochs=3, m_steps=5), [5, 5])])
def test_the_m_step_runs_its_passes_or_batches_and_the_first_its_scale(schedule, steps):
    """p passes (2 batches each here; a fraction runs that share, never less than one batch), at most m_steps
    batches; the first M-step × first_m_scale."""
    from gan_em_tf.config import ScheduleConfig

    model, x = _tiny_gan_em(ScheduleConfig(iterations=2, e_steps=1, **schedule))
    g_opt, seen = model.optimizers["g"], []
    for _ in range(2):
        before = int(g_opt.iterations.numpy())
        model.em_iteration(x, verbose=0)
        seen.append(int(g_opt.iterations.numpy()) - before)
    assert seen == steps


def test_default_passes_grow_on_small_data_so_an_m_step_is_700_batches():
    from gan_em_tf.config import ScheduleConfig

    assert ScheduleConfig().passes(70_000, 70) == 5  # the paper's p on MNIST
    assert ScheduleConfig().passes(1797, 70) == 28  # 25 batches a pass on the bundled digits
    assert ScheduleConfig().passes(100, 70) == 50  # capped


def test_g_class_start_trains_g_without_class_term_until_that_iteration():
    model, x = _tiny_gan_em(g_class_start=2)
    weights = []
    for _ in range(2):
        model.em_iteration(x, verbose=0)
        weights.append(float(model.m_step.g_class_weight.numpy()))
    assert weights == [0.0, 1.0]


@pytest.mark.parametrize("shape", [(28, 28, 1), (8, 8, 1)])
def test_net_width_scales_every_hidden_layer(shape):
    def nets(width):
        return {"generator": networks.build_generator(shape, K, NOISE, width=width),
                "discriminator": networks.build_discriminator(shape, K, width=width),
                "enet": networks.build_enet(shape, K, width=width)}

    full, half = nets(1.0), nets(0.5)
    for name in full:
        assert half[name].output_shape == full[name].output_shape, name
        kernels = [(a.shape, b.shape) for a, b in zip(full[name].weights, half[name].weights) if len(a.shape) >= 2]
        assert kernels, name
        for a, b in kernels[:-1]:  # every hidden layer's outputs halve (the last layer's are the net's own)
            assert b[-1] * 2 == a[-1], (name, a, b)
    params = {k: (full[k].count_params(), half[k].count_params()) for k in full}
    assert all(h < 0.45 * f for f, h in params.values()), params


@pytest.mark.parametrize("shape", [(16, 12), (16, 4, 4, 6)])
def test_fused_batchnorm_computes_what_the_keras_layer_computes(shape, tmp_path):
    """networks.BatchNormalization (TensorFlow's fused kernel) against keras.layers.BatchNormalization:
    training outputs, input and scale gradients, moving statistics after three updates, inference outputs,
    and a weights file of one loads into the other (same layer names and variables)."""
    rng = np.random.default_rng(0)
    xs = [tf.constant(rng.normal(2.0, 3.0, shape).astype(np.float32)) for _ in range(3)]
    inp = keras.Input(shape[1:])
    keras_bn, fused_bn = (keras.Model(inp, cls(momentum=0.9, epsilon=1e-5)(inp))
                          for cls in (keras.layers.BatchNormalization, networks.BatchNormalization))
    gamma, beta = rng.normal(1.0, 0.5, shape[-1]), rng.normal(0.0, 0.5, shape[-1])
    for model in (keras_bn, fused_bn):
        model.layers[-1].gamma.assign(gamma)
        model.layers[-1].beta.assign(beta)
    grads = []
    for model in (keras_bn, fused_bn):
        for x in xs:
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_sum(tf.sin(model(x, training=True)) * tf.range(shape[-1], dtype=tf.float32))
        grads.append(tape.gradient(loss, [x, model.layers[-1].gamma]))
    np.testing.assert_allclose(keras_bn(xs[0], training=True), fused_bn(xs[0], training=True), atol=1e-5)
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    # the calls above updated the moving statistics four times each, with the same batches
    for a, b in zip(keras_bn.layers[-1].non_trainable_weights, fused_bn.layers[-1].non_trainable_weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(keras_bn(xs[1], training=False), fused_bn(xs[1], training=False), atol=1e-5)
    assert not np.allclose(fused_bn(xs[1], training=False), fused_bn(xs[1], training=True), atol=1e-3)
    path = str(tmp_path / "bn.weights.h5")
    fused_bn.save_weights(path)
    keras_bn.layers[-1].moving_mean.assign(np.zeros(shape[-1]))
    keras_bn.load_weights(path)
    np.testing.assert_array_equal(keras_bn.layers[-1].moving_mean, fused_bn.layers[-1].moving_mean)


@pytest.mark.parametrize("compiled", [False, True])
def test_kernel_first_dense_computes_what_the_keras_layer_computes(compiled, tmp_path):
    """networks.Dense (the input gradient as (W · dyᵀ)ᵀ) against keras.layers.Dense: outputs and the
    gradients with respect to the input, kernel and bias, eagerly and in a tf.function; a weights file of one
    loads into the other; and it is the layer D's trunk uses after the flattened feature map."""
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(7, 48)).astype(np.float32))
    inp = keras.Input((48,))
    keras_dense, ours = (keras.Model(inp, cls(12, activation="tanh")(inp))
                         for cls in (keras.layers.Dense, networks.Dense))
    ours.set_weights(keras_dense.get_weights())
    weight = tf.constant(rng.normal(size=(7, 12)).astype(np.float32))

    def forward_and_grads(model):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = model(x)
            loss = tf.reduce_sum(y * weight)
        return [y] + tape.gradient(loss, [x] + model.trainable_variables)

    if compiled:
        forward_and_grads = tf.function(forward_and_grads)
    for a, b in zip(forward_and_grads(keras_dense), forward_and_grads(ours)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    path = str(tmp_path / "dense.weights.h5")
    keras_dense.save_weights(path)
    ours.layers[-1].kernel.assign(np.zeros((48, 12)))
    ours.load_weights(path)
    np.testing.assert_array_equal(ours.layers[-1].kernel, keras_dense.layers[-1].kernel)
    sequence = tf.reshape(x[:6], (2, 3, 48))  # rank 3: the Keras path, per position
    np.testing.assert_allclose(ours.layers[-1](sequence), keras_dense.layers[-1](sequence), rtol=1e-5, atol=1e-5)
    trunk = networks.build_discriminator((28, 28, 1), 3)
    assert [type(layer) for layer in trunk.layers if isinstance(layer, keras.layers.Dense)] == [
        networks.Dense, keras.layers.Dense]


@pytest.mark.parametrize("compiled", [False, True])
def test_fused_adam_computes_what_keras_adam_computes(compiled):
    """training.FusedAdam (TensorFlow's ResourceApplyAdam) against keras.optimizers.Adam: the same variables and
    slots after five steps of the same gradients, eagerly and in a tf.function, with the rates GAN-EM uses."""
    rng = np.random.default_rng(0)
    start = [rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(3,)).astype(np.float32)]
    grads = [[tf.constant(rng.normal(size=v.shape).astype(np.float32)) for v in start] for _ in range(5)]
    results = []
    for cls in (keras.optimizers.Adam, training.FusedAdam):
        variables = [keras.Variable(v) for v in start]
        opt = cls(2e-3, beta_1=0.5, beta_2=0.999)
        opt.build(variables)
        apply = lambda g: opt.apply_gradients(zip(g, variables))  # noqa: E731
        if compiled:
            apply = tf.function(apply)
        for g in grads:
            apply(g)
        results.append([np.asarray(v) for v in variables] + [np.asarray(v) for v in opt.variables])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(results[1][0], start[0], atol=1e-3)  # the variables moved


@pytest.mark.parametrize("gpus, conv_xla", [([], False), (["GPU:0"], True)])
def test_xla_compiles_mlps_as_asked_and_convolutions_on_a_gpu_only(monkeypatch, gpus, conv_xla):
    from gan_em_tf.architecture import compiles_with_xla

    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: gpus if kind == "GPU" else [])
    assert compiles_with_xla((8,), True) and not compiles_with_xla((8,), False)
    assert compiles_with_xla((28, 28, 1), True) == conv_xla and not compiles_with_xla((28, 28, 1), False)
