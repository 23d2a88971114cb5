"""GAN-EM losses as pure functions of logits.

Every function returns one value per example; :func:`global_mean` is the one
reducer (sum over the replica's examples divided by the *global* batch), so
gradients summed across MirroredStrategy replicas equal the single-device
gradient. All losses are written to be *minimised*.

Logit layout of the discriminator: ``logits[:, :K]`` are the class units with
D_i(x) = σ(logit_i) (Eq. 2), ``logits[:, K]`` is the extra real/fake unit of
§4.3 with σ(logit_K) = P(real).
"""
from __future__ import annotations

import tensorflow as tf

# exp(logit) of Eq. 1 is evaluated at min(logit, EXP_LOGIT_MAX): exp(15) ≈ 3.3e6
# is finite in float32 (overflow starts at 88.7) and the loss keeps a gradient
# wherever D is not already this sure that the sample is real.
EXP_LOGIT_MAX = 15.0


def global_mean(per_example: tf.Tensor, global_batch_size) -> tf.Tensor:
    """Σ per_example / global batch size: the one reduction every loss term goes through."""
    per_example = tf.cast(per_example, tf.float32)
    return tf.reduce_sum(per_example) / tf.cast(global_batch_size, tf.float32)


def _bce(logits, targets):
    """Element-wise binary cross-entropy on logits, max(l, 0) − l·t + log(1 + e^−|l|).

    Stable for any logit; ``targets`` broadcasts against ``logits``.
    """
    t = tf.cast(targets, logits.dtype)
    return tf.nn.relu(logits) - logits * t + tf.math.log1p(tf.exp(-tf.abs(logits)))


def discriminator_loss(real_logits, w, fake_logits, fake_classes, real_unit_weight=1.0, fake_targets="all"):
    """−L_D of Eq. 2 plus the real/fake unit of §4.3, per example.

    Real part (per real image): Σ_i w_i · BCE(logit_i, 1) + real_unit_weight · BCE(logit_K, 1)
    — the soft-label-weighted log D_i(x) of Eq. 2.

    Fake part (per generated image G(z, c)): BCE(logit_K, 0) plus, on the class
    units, ``fake_targets``:

    * ``"all"``: Σ_i BCE(logit_i, 0) — Eq. 2 as printed ("all output units are
      expected to give a low probability to fake images"); the authors' code.
    * ``"own"``: BCE(logit_c, 0) only — Eq. 11/16, where unit i sees only the
      fakes of its own class P_{f_i}; this is the reading under which Eq. 13's
      optimal D_i holds.

    Returns (real_per_example, fake_per_example).
    """
    k = tf.shape(w)[1]
    real_class = tf.reduce_sum(tf.cast(w, real_logits.dtype) * _bce(real_logits[:, :k], 1.0), axis=1)
    real = real_class + real_unit_weight * _bce(real_logits[:, -1], 1.0)
    fake_class_bce = _bce(fake_logits[:, :k], 0.0)
    if fake_targets == "all":
        fake_class = tf.reduce_sum(fake_class_bce, axis=1)
    elif fake_targets == "own":
        fake_class = tf.gather(fake_class_bce, fake_classes, axis=1, batch_dims=1)
    else:
        raise ValueError(f"fake_targets must be 'all' or 'own', got {fake_targets!r}")
    fake = fake_class + _bce(fake_logits[:, -1], 0.0)
    return real, fake


def generator_loss(fake_logits, fake_classes, clusters: int, kind="exp", class_weight=1.0):
    """L_G per generated image G(z, c): ``class_weight`` × (class-unit term) + real/fake-unit term.

    * ``"exp"``: Eq. 1 / Eq. 14, −½ exp(σ⁻¹(D_c(G(z, c)))) = −½ exp(logit_c), with
      the logit clipped at EXP_LOGIT_MAX so it cannot overflow; plus the
      non-saturating vanilla-GAN term BCE(logit_K, 1) for the extra unit (§4.3).
    * ``"onehot"``: the authors' code: Σ_i BCE(logit_i, onehot(c)_i) + BCE(logit_K, 1),
      i.e. unit c should call the sample real and every other unit fake.
    * ``"nonsat"``: BCE(logit_c, 1) + BCE(logit_K, 1) = −log D_c(G(z, c)) − log D_real:
      Eq. 1's own-unit term in the non-saturating form (the usual swap of
      log(1 − D) for −log D) — the authors' loss without its K − 1 "call it
      fake" targets. Not in the paper or the authors' code.

    ``class_weight`` = 0 keeps only the real/fake unit (a plain GAN loss); the
    loop uses it while w is still uniform (``--g-class-start``). Then every
    class unit is trained toward the same target and carries no cluster
    information, and the class term only hinders G: with ``onehot`` the K − 1
    "fake" targets outweigh the one "real" target (net push on a shared logit
    K·D − 1 > 0 once D > 1/K). Measured on MNIST-test with the authors' nets:
    G still draws noise after 700 first-M-step steps with ``onehot`` and with
    ``nonsat``, and digits after 300 with the class term off
    (paper_repro/RESULTS.md).
    """
    own_logit = tf.gather(fake_logits[:, :clusters], fake_classes, axis=1, batch_dims=1)
    realness = _bce(fake_logits[:, -1], 1.0)
    if kind == "exp":
        class_term = -0.5 * tf.exp(tf.minimum(own_logit, EXP_LOGIT_MAX))
    elif kind == "onehot":
        onehot = tf.one_hot(fake_classes, clusters, dtype=fake_logits.dtype)
        class_term = tf.reduce_sum(_bce(fake_logits[:, :clusters], onehot), axis=1)
    elif kind == "nonsat":
        class_term = _bce(own_logit, 1.0)
    else:
        raise ValueError(f"generator loss must be 'exp', 'onehot' or 'nonsat', got {kind!r}")
    return tf.cast(class_weight, fake_logits.dtype) * class_term + realness


def enet_loss(logits, classes):
    """Eq. 5: CE(E(G(z, c)), u) with u = one-hot(c), per example (also §5.3's CE(E(x_real), u))."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(classes, tf.int32), logits=logits)
