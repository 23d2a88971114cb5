"""One train step of each phase is finite and changes the weights it should."""
import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_em_tf import data, networks
from gan_em_tf.augment import MAX_SHIFT, affine_jitter
from gan_em_tf.gan_em.models import EStep, MStep

K, NOISE = 3, 8


def _nets(shape):
    keras.utils.set_random_seed(0)
    return (networks.build_generator(shape, K, NOISE), networks.build_discriminator(shape, K),
            networks.build_enet(shape, K, embed_dim=4))


def _changed(before, net):
    return [not np.allclose(a, b) for a, b in zip(before, net.get_weights())]


@pytest.mark.parametrize("shape,gen_loss", [((8, 8, 1), "exp"), ((8, 8, 1), "onehot"), ((28, 28, 1), "onehot"),
                                            ((6,), "exp")])
def test_m_step_and_e_step_update_weights(shape, gen_loss):
    g, d, e = _nets(shape)
    assert networks.uses_conv(shape) == (shape == (28, 28, 1))
    assert d.output_shape == (None, K + 1) and e.output_shape == (None, K) and g.output_shape == (None,) + shape
    m = MStep(g, d, K, gen_loss, real_unit_weight=2.0)
    m.compile(keras.optimizers.Adam(1e-3, 0.5), keras.optimizers.Adam(1e-3, 0.5))
    x = np.random.default_rng(0).random((16,) + shape, dtype=np.float32)
    w = np.random.default_rng(1).dirichlet(np.ones(K), 16).astype(np.float32)
    g0, d0 = g.get_weights(), d.get_weights()
    hist = m.fit(data.real_batches(x, w, 8, 0, 0, NOISE, K), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    assert all(np.isfinite(v[-1]) for v in hist.history.values())
    assert set(hist.history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert any(_changed(g0, g)) and any(_changed(d0, d))
    es = EStep(g, e, K)
    es.compile(keras.optimizers.Adam(1e-3, 0.5))
    g1, e0 = g.get_weights(), e.get_weights()
    hist = es.fit(data.noise_batches(8, 1, 0, 0, NOISE, np.full(K, 1 / K)), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    assert np.isfinite(hist.history["e_loss"][-1]) and 0 <= hist.history["e_acc"][-1] <= 1
    assert any(_changed(e0, e))
    assert not any(_changed(g1, g))  # the E-step never moves G


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
    """--e-augment: batches with draws u train E (not G), and the E-step's loss differs from the same batches
    without them."""
    shape = (8, 8, 1)
    g, _, e = _nets(shape)
    batches = data.noise_batches(8, 2, 0, 0, NOISE, np.full(K, 1 / K), jitter=True)
    batch = next(iter(batches))
    assert batch["u"].shape == (8, 4) and 0 <= float(np.min(batch["u"])) and float(np.max(batch["u"])) < 1
    fakes = g([batch["z"], tf.one_hot(batch["c"], K)], training=False)
    moved = np.abs(np.asarray(affine_jitter(fakes, batch["u"])) - np.asarray(fakes)).reshape(8, -1).max(axis=1)
    assert (moved > 1e-3).all(), moved  # every image is transformed, each its own way
    es = EStep(g, e, K)
    es.compile(keras.optimizers.Adam(1e-3, 0.5))
    g0, e0 = g.get_weights(), e.get_weights()
    hist = es.fit(batches, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
    assert np.isfinite(hist.history["e_loss"][-1])
    assert any(_changed(e0, e)) and not any(_changed(g0, g))


def test_info_weight_trains_the_enet_inside_the_m_step():
    shape = (8, 8, 1)
    g, d, e = _nets(shape)
    m = MStep(g, d, K, "exp", enet=e, info_weight=1.0)
    m.compile(keras.optimizers.Adam(1e-3, 0.5), keras.optimizers.Adam(1e-3, 0.5), keras.optimizers.Adam(1e-3, 0.5))
    x = np.random.default_rng(0).random((16,) + shape, dtype=np.float32)
    w = np.full((16, K), 1 / K, np.float32)
    e0 = e.get_weights()
    hist = m.fit(data.real_batches(x, w, 8, 0, 0, NOISE, K), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    assert "info_loss" in hist.history and np.isfinite(hist.history["info_loss"][-1])
    assert any(_changed(e0, e))
    with pytest.raises(ValueError):
        MStep(g, d, K, info_weight=1.0)


@pytest.mark.parametrize("shape", [(32, 32, 3), (64, 64, 3)])
def test_svhn_and_celeba_networks_train(shape):
    """The nets sized for SVHN and CelebA: right shapes, one finite M-step that moves G and D."""
    g, d, e = _nets(shape)
    assert g.output_shape == (None,) + shape and d.output_shape == (None, K + 1)
    assert networks.embedding_model(e).output_shape == (None, 4)
    m = MStep(g, d, K, "onehot")
    m.compile(keras.optimizers.Adam(1e-3, 0.5), keras.optimizers.Adam(1e-3, 0.5))
    x = np.random.default_rng(0).random((4,) + shape, dtype=np.float32)
    g0, d0 = g.get_weights(), d.get_weights()
    hist = m.fit(data.real_batches(x, np.full((4, K), 1 / K, np.float32), 4, 0, 0, NOISE, K), epochs=1,
                 steps_per_epoch=1, verbose=0, shuffle=False)
    assert all(np.isfinite(v[-1]) for v in hist.history.values())
    assert any(_changed(g0, g)) and any(_changed(d0, d))


def test_enet_without_batchnorm_has_no_batchnorm_layers():
    with_bn = networks.build_enet((28, 28, 1), K)
    without = networks.build_enet((28, 28, 1), K, batchnorm=False)
    kinds = lambda net: {type(layer).__name__ for layer in net.layers}  # noqa: E731
    assert "BatchNormalization" in kinds(with_bn) and "BatchNormalization" not in kinds(without)
    assert without.output_shape == with_bn.output_shape == (None, K)


def _tiny_gan_em(schedule=None, clusters=K, supervision=None, **train_fields):
    """A GanEm on 16 random 8×8 images (batches of 8: 2 M-steps per pass) with the given config changes."""
    from gan_em_tf.config import RunConfig, ScheduleConfig, SupervisionConfig, train_preset
    from gan_em_tf.gan_em.loop import GanEm

    train = dataclasses.replace(train_preset("authors"), batch_size=8, e_batch_size=8, noise_dim=NOISE,
                                **train_fields)
    cfg = RunConfig(clusters=clusters, train=train, supervision=supervision or SupervisionConfig(),
                    schedule=schedule or ScheduleConfig(iterations=2, m_epochs=1, e_steps=2))
    x = np.random.default_rng(0).random((16, 8, 8, 1), dtype=np.float32)
    return GanEm(cfg, x.shape[1:], len(x)), x


@pytest.mark.parametrize("label_lr", [None, 1e-8, 1e-2])
def test_label_lr_sets_the_rate_of_the_labelled_steps_only(label_lr):
    """--label-lr: Adam moves each weight by about the rate per step, so 20 labelled steps move the E-net by
    at most ~20 × rate; the E-step's own rate (--lr-e) is back in place afterwards."""
    from gan_em_tf.config import SupervisionConfig

    model, x = _tiny_gan_em(supervision=SupervisionConfig(labels=16, epsilon=0.0, max_steps=20, lr=label_lr))
    y = np.arange(16) % K
    before = [v.numpy() for v in model.enet.trainable_weights]
    logs = model.supervise(x, y)
    moved = max(float(np.abs(v.numpy() - b).max()) for v, b in zip(model.enet.trainable_weights, before))
    rate = model.cfg.train.lr_e if label_lr is None else label_lr
    assert logs["label_steps"] == 20
    assert rate < moved <= 20 * rate * 1.5, (moved, rate)
    assert np.isclose(float(model.optimizers["e"].learning_rate.numpy()), model.cfg.train.lr_e)


@pytest.mark.parametrize("weight_init, std_range", [("normal", (0.018, 0.022)), ("glorot", (0.03, 1.0))])
def test_weight_init_reaches_every_kernel_of_the_three_networks(weight_init, std_range):
    model, _ = _tiny_gan_em(weight_init=weight_init)
    kernels = [v for net in model.networks.values() for v in net.trainable_weights if "kernel" in v.path]
    assert len(kernels) >= 9  # G, D and E each have at least three kernels
    for v in kernels:
        std = float(np.std(v.numpy()))
        assert std_range[0] < std < std_range[1], (v.path, std)


@pytest.mark.parametrize("reset", [False, True])
def test_reset_optimizers_zeroes_optimizer_state_each_em_iteration(reset):
    """--reset-optimizers: each EM iteration starts from step 0 with zero moments; lr is still decayed."""
    model, x = _tiny_gan_em(reset_optimizers=reset)
    model.em_iteration(x, verbose=0)
    model.set_learning_rates()  # what the next EM iteration starts with
    d_opt = model.optimizers["d"]
    moments = [v.numpy() for v in d_opt.variables if "momentum" in v.path]
    assert moments and int(d_opt.iterations.numpy()) == (0 if reset else 2)
    assert all(not m.any() for m in moments) == reset
    train = model.cfg.train
    assert np.isclose(float(d_opt.learning_rate.numpy()), train.lr_d * train.lr_decay)


def test_lr_decay_start_holds_the_rates_until_its_iteration():
    """--lr-decay γ --lr-decay-start S: rates × γ^max(0, iteration − S), the same for all three optimizers."""
    model, _ = _tiny_gan_em(lr_decay=0.5, lr_decay_start=3)
    train = model.cfg.train
    for iteration, factor in [(0, 1.0), (3, 1.0), (4, 0.5), (6, 0.125)]:
        model.iteration = iteration
        model.set_learning_rates()
        rates = {key: float(opt.learning_rate.numpy()) for key, opt in model.optimizers.items()}
        assert np.allclose([rates["g"], rates["d"], rates["e"]],
                           [train.lr_g * factor, train.lr_d * factor, train.lr_e * factor]), (iteration, rates)


def test_e_augment_start_jitters_only_the_e_steps_after_its_iteration(monkeypatch):
    """--e-augment --e-augment-start 1: the first E-step trains on plain fakes, the second on jittered ones (its
    batches carry the draws u), in one process."""
    from gan_em_tf.gan_em import loop

    batches_seen = []
    real_noise_batches = loop.data_lib.noise_batches

    def spy(*args, **kwargs):
        ds = real_noise_batches(*args, **kwargs)
        batches_seen.append(sorted(next(iter(ds)).keys()))
        return ds

    monkeypatch.setattr(loop.data_lib, "noise_batches", spy)
    model, x = _tiny_gan_em(e_augment=True, e_augment_start=1)
    logs = [model.em_iteration(x, verbose=0) for _ in range(2)]
    assert ["u" in keys for keys in batches_seen] == [False, True], batches_seen
    assert all(np.isfinite(l["e_loss"]) for l in logs), logs


def test_first_m_epochs_lengthens_only_the_first_m_step():
    """--first-m-epochs p1: the first M-step runs p1 passes over the data, later ones p."""
    from gan_em_tf.config import ScheduleConfig

    model, x = _tiny_gan_em(ScheduleConfig(iterations=2, m_epochs=1, first_m_epochs=3, e_steps=1))
    g_opt = model.optimizers["g"]
    steps = []
    for _ in range(2):
        before = int(g_opt.iterations.numpy())
        model.em_iteration(x, verbose=0)
        steps.append(int(g_opt.iterations.numpy()) - before)
    assert steps == [3 * 2, 1 * 2]  # 2 steps per pass


@pytest.mark.parametrize("m_epochs, expected_steps", [(0.5, 1), (1.5, 3), (0.1, 1)])
def test_fractional_m_epochs_run_that_share_of_a_pass(m_epochs, expected_steps):
    """--m-epochs 0.5: half a pass (2 batches per pass here), and never less than one batch."""
    from gan_em_tf.config import ScheduleConfig

    model, x = _tiny_gan_em(ScheduleConfig(iterations=1, m_epochs=m_epochs, e_steps=1))
    model.em_iteration(x, verbose=0)
    assert int(model.optimizers["g"].iterations.numpy()) == expected_steps


def test_g_class_start_trains_g_without_class_term_until_that_iteration():
    """--g-class-start 2: G's loss is the real/fake unit only in EM iteration 1, the full loss from 2 on."""
    model, x = _tiny_gan_em(g_class_start=2)
    weights = []
    for _ in range(2):
        model.em_iteration(x, verbose=0)
        weights.append(float(model.m_step.g_class_weight.numpy()))
    assert weights == [0.0, 1.0]


@pytest.mark.parametrize("shape", [(28, 28, 1), (8, 8, 1)])
def test_net_width_scales_every_hidden_layer(shape):
    from gan_em_tf.config import train_preset

    full = networks.build_networks(shape, K, train_preset("authors"))
    half = networks.build_networks(shape, K, dataclasses.replace(train_preset("authors"), net_width=0.5))
    for name in ("generator", "discriminator", "enet"):
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
    import tensorflow as tf
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
