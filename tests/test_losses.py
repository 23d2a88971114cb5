"""Loss values on tiny hand-computed cases, including extreme logits."""
import math

import numpy as np
import pytest
import tensorflow as tf

from gan_em_tf import losses as shared
from gan_em_tf.gan_em import losses


def bce(logit, target):
    p = 1 / (1 + math.exp(-logit))
    return -(target * math.log(p) + (1 - target) * math.log(1 - p))


def test_global_mean_divides_by_global_batch():
    assert float(shared.global_mean(tf.constant([1.0, 2.0, 3.0]), 6)) == pytest.approx(1.0)


def test_discriminator_loss_matches_hand_computation():
    # K = 2; one real image with w = (0.25, 0.75), one fake of class 1.
    real = tf.constant([[0.5, -1.0, 2.0]])
    fake = tf.constant([[-0.3, 0.7, -1.5]])
    w = tf.constant([[0.25, 0.75]])
    r, f = losses.discriminator_loss(real, w, fake, real_unit_weight=2.0)
    assert float(r[0]) == pytest.approx(0.25 * bce(0.5, 1) + 0.75 * bce(-1.0, 1) + 2.0 * bce(2.0, 1), rel=1e-5)
    assert float(f[0]) == pytest.approx(bce(-0.3, 0) + bce(0.7, 0) + bce(-1.5, 0), rel=1e-5)


def test_generator_losses_match_hand_computation():
    logits = tf.constant([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    c = tf.constant([0, 1])
    exp = losses.generator_loss(logits, c, 2, "exp").numpy()
    assert exp[0] == pytest.approx(-0.5 * math.exp(1.0) + bce(0.5, 1), rel=1e-5)
    assert exp[1] == pytest.approx(-0.5 * math.exp(3.0) + bce(-1.0, 1), rel=1e-5)
    onehot = losses.generator_loss(logits, c, 2, "onehot").numpy()
    assert onehot[0] == pytest.approx(bce(1.0, 1) + bce(-2.0, 0) + bce(0.5, 1), rel=1e-5)
    assert onehot[1] == pytest.approx(bce(0.0, 0) + bce(3.0, 1) + bce(-1.0, 1), rel=1e-5)
    for kind in ("exp", "onehot"):  # class_weight 0: the real/fake unit's term alone
        plain = losses.generator_loss(logits, c, 2, kind, class_weight=0.0).numpy()
        assert plain == pytest.approx([bce(0.5, 1), bce(-1.0, 1)], rel=1e-5)


def test_enet_loss_is_cross_entropy():
    logits = tf.constant([[2.0, 0.0, -1.0]])
    want = -math.log(math.exp(0.0) / (math.exp(2.0) + 1.0 + math.exp(-1.0)))
    assert float(losses.enet_loss(logits, tf.constant([1]))[0]) == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("extreme", [1e4, -1e4, 88.0, 200.0])
def test_extreme_logits_stay_finite_with_finite_gradients(extreme):
    logits = tf.Variable([[extreme, -extreme, extreme]])
    w = tf.constant([[0.5, 0.5]])
    c = tf.constant([0])
    with tf.GradientTape() as tape:
        r, f = losses.discriminator_loss(logits, w, logits)
        g_exp = losses.generator_loss(logits, c, 2, "exp")
        g_hot = losses.generator_loss(logits, c, 2, "onehot")
        total = tf.reduce_sum(r + f + g_exp + g_hot)
    grad = tape.gradient(total, logits)
    assert np.isfinite(total.numpy())
    assert np.all(np.isfinite(grad.numpy()))


def test_exp_generator_loss_is_clipped_not_overflowing():
    big = losses.generator_loss(tf.constant([[1e4, 0.0]]), tf.constant([0]), 1, "exp").numpy()[0]
    assert big == pytest.approx(-0.5 * math.exp(losses.EXP_LOGIT_MAX) + bce(0.0, 1), rel=1e-5)


def test_unknown_loss_kinds_raise():
    with pytest.raises(ValueError):
        losses.generator_loss(tf.zeros((1, 3)), tf.constant([0]), 2, "nope")
