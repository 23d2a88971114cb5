"""Loss building blocks every method shares, as pure functions of logits.

Each function returns one value per example (or per element); :func:`global_mean` is the one reducer
(sum over the replica's examples divided by the *global* batch), so gradients summed across
MirroredStrategy replicas equal the single-device gradient.
"""
from __future__ import annotations

import tensorflow as tf


def global_mean(per_example: tf.Tensor, global_batch_size) -> tf.Tensor:
    """Σ per_example / global batch size: the one reduction every loss term goes through."""
    per_example = tf.cast(per_example, tf.float32)
    return tf.reduce_sum(per_example) / tf.cast(global_batch_size, tf.float32)


def bce(logits, targets):
    """Element-wise binary cross-entropy on logits, max(l, 0) − l·t + log(1 + e^−|l|).

    Stable for any logit; ``targets`` broadcasts against ``logits``.
    """
    t = tf.cast(targets, logits.dtype)
    return tf.nn.relu(logits) - logits * t + tf.math.log1p(tf.exp(-tf.abs(logits)))


def class_cross_entropy(logits, classes):
    """CE(softmax(logits), one-hot(classes)) per example."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(classes, tf.int32), logits=logits)
