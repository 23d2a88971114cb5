"""GAN-EM's losses (paper Eq. 1, 2, 5 and §4.3) as pure functions of logits, one value per example.

Reduce them with :func:`gan_em_tf.losses.global_mean`. All losses are written to be *minimised*.

Logit layout of the discriminator: ``logits[:, :K]`` are the class units with
D_i(x) = σ(logit_i) (Eq. 2), ``logits[:, K]`` is the extra real/fake unit of
§4.3 with σ(logit_K) = P(real).
"""
from __future__ import annotations

import tensorflow as tf

from gan_em_tf.losses import bce as _bce
from gan_em_tf.losses import class_cross_entropy

# exp(logit) of Eq. 1 is evaluated at min(logit, EXP_LOGIT_MAX): exp(15) ≈ 3.3e6
# is finite in float32 (overflow starts at 88.7) and the loss keeps a gradient
# wherever D is not already this sure that the sample is real.
EXP_LOGIT_MAX = 15.0


def discriminator_loss(real_logits, w, fake_logits, real_unit_weight=1.0):
    """−L_D of Eq. 2 plus the real/fake unit of §4.3, per example.

    Real part (per real image): Σ_i w_i · BCE(logit_i, 1) + real_unit_weight · BCE(logit_K, 1)
    — the soft-label-weighted log D_i(x) of Eq. 2.

    Fake part (per generated image): Σ_i BCE(logit_i, 0) + BCE(logit_K, 0) — Eq. 2 as printed ("all output
    units are expected to give a low probability to fake images"), as in the authors' code. (The Eq. 11/16
    reading, where unit i sees only its own class's fakes, measured far worse: RESULTS.md, history.)

    Returns (real_per_example, fake_per_example).
    """
    k = tf.shape(w)[1]
    real_class = tf.reduce_sum(tf.cast(w, real_logits.dtype) * _bce(real_logits[:, :k], 1.0), axis=1)
    real = real_class + real_unit_weight * _bce(real_logits[:, -1], 1.0)
    fake = tf.reduce_sum(_bce(fake_logits[:, :k], 0.0), axis=1) + _bce(fake_logits[:, -1], 0.0)
    return real, fake


def generator_loss(fake_logits, fake_classes, clusters: int, kind="exp", class_weight=1.0):
    """L_G per generated image G(z, c): ``class_weight`` × (class-unit term) + real/fake-unit term.

    * ``"exp"``: Eq. 1 / Eq. 14, −½ exp(σ⁻¹(D_c(G(z, c)))) = −½ exp(logit_c), with
      the logit clipped at EXP_LOGIT_MAX so it cannot overflow; plus the
      non-saturating vanilla-GAN term BCE(logit_K, 1) for the extra unit (§4.3).
    * ``"onehot"``: the authors' code: Σ_i BCE(logit_i, onehot(c)_i) + BCE(logit_K, 1),
      i.e. unit c should call the sample real and every other unit fake.

    ``class_weight`` = 0 keeps only the real/fake unit (a plain GAN loss); the runner uses it while w is
    still uniform (``g_class_start``): then every class unit is trained toward the same target and carries
    no cluster information, and with ``onehot`` the K − 1 "fake" targets outweigh the one "real" target.
    """
    realness = _bce(fake_logits[:, -1], 1.0)
    if kind == "exp":
        own_logit = tf.gather(fake_logits[:, :clusters], fake_classes, axis=1, batch_dims=1)
        class_term = -0.5 * tf.exp(tf.minimum(own_logit, EXP_LOGIT_MAX))
    elif kind == "onehot":
        onehot = tf.one_hot(fake_classes, clusters, dtype=fake_logits.dtype)
        class_term = tf.reduce_sum(_bce(fake_logits[:, :clusters], onehot), axis=1)
    else:
        raise ValueError(f"generator loss must be 'exp' or 'onehot', got {kind!r}")
    return tf.cast(class_weight, fake_logits.dtype) * class_term + realness


def enet_loss(logits, classes):
    """Eq. 5: CE(E(G(z, c)), u) with u = one-hot(c), per example (also §5.3's CE(E(x_real), u))."""
    return class_cross_entropy(logits, classes)
