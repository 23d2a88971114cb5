"""GANMM's losses (Yu & Zhou 2018, §3: the WGAN objectives), one value per example; reduce them with
:func:`gan_em_tf.losses.global_mean`. All are written to be minimised.

    loss_G = −E_{x~P_g}[f_w(x)]                     (generator)
    loss_D = E_{x~P_g}[f_w(x)] − E_{x~P_r}[f_w(x)]   (critic)

plus, for ``critic="gp"``, Gulrajani et al.'s gradient penalty λ (‖∇f(x̂)‖ − 1)² at x̂ = εx + (1 − ε)G(z).
"""
from __future__ import annotations

import tensorflow as tf

from gan_em_tf.losses import class_cross_entropy, gradient_penalty  # noqa: F401  (the classifier's loss; WGAN-GP)


def critic_loss(real_scores, fake_scores):
    """Per pair of a real and a generated sample: f(fake) − f(real)."""
    return tf.cast(fake_scores, tf.float32) - tf.cast(real_scores, tf.float32)


def generator_loss(fake_scores):
    """Per generated sample: −f(G(z))."""
    return -tf.cast(fake_scores, tf.float32)
