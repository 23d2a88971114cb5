"""``--e-augment`` (not in the paper): a random affine jitter of the E-step's generated images.

The E-net is trained on G's samples only (Eq. 5) and then applied to real images. G draws each class
with high purity but not all of its variation, so the E-net fits the fakes almost exactly and misses
real images off G's support (paper_repro/RESULTS.md, Table 1 semi-supervised). Rotating, shifting and
zooming each fake a little widens what the E-net sees of its class without changing the class.

The draws u ∈ [0, 1)^4 per image come with the E-step's batches (:func:`gan_em_tf.data.noise_batches`,
from stateless seeds like z and c), so a resumed run jitters exactly as an uninterrupted one and the
replicas of a distributed step split them with the batch.
"""
from __future__ import annotations

import math

import keras
import tensorflow as tf

MAX_ROTATION = 0.03  # the largest rotation, as a fraction of a full turn (≈ 11°)
MAX_SHIFT = 0.08  # the largest shift, as a fraction of the image side
MAX_ZOOM = 0.1  # the scale lies in [1 − MAX_ZOOM, 1 + MAX_ZOOM]
DRAWS = 4  # uniform numbers per image: rotation, horizontal shift, vertical shift, scale


def affine_jitter(images, u):
    """``images`` [N, H, W, C], each rotated about its centre, scaled and shifted by the amounts ``u`` [N, 4]
    in [0, 1) pick from the ranges above (0.5: no change); bilinear, zero outside the image."""
    u = tf.cast(u, tf.float32) * 2.0 - 1.0  # [-1, 1)
    height, width = float(images.shape[1]), float(images.shape[2])
    angle = u[:, 0] * MAX_ROTATION * 2.0 * math.pi
    shift_x, shift_y = u[:, 1] * MAX_SHIFT * width, u[:, 2] * MAX_SHIFT * height
    scale = 1.0 + u[:, 3] * MAX_ZOOM
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    cx, cy = (width - 1.0) / 2.0, (height - 1.0) / 2.0
    # each row maps an output pixel (x, y) to the input pixel it reads (keras.ops.image.affine_transform)
    zero = tf.zeros_like(cos)
    transform = tf.stack([cos, -sin, cx - cos * cx + sin * cy - shift_x,
                          sin, cos, cy - sin * cx - cos * cy - shift_y, zero, zero], axis=1)
    jittered = keras.ops.image.affine_transform(tf.cast(images, tf.float32), transform, interpolation="bilinear",
                                                fill_mode="constant", fill_value=0.0)
    return tf.cast(jittered, images.dtype)
