"""SavedModel export for serving (``keras.export.ExportArchive``).

Each method names its endpoints (:meth:`gan_em_tf.method.Method.endpoints`); every one takes and returns
float32 / int tensors and loads with ``tf.saved_model.load`` alone (no gan_em_tf import). GAN-EM's:

* ``assign(images)``: float32 [N, *shape] in [0, 1] → ``probabilities`` [N, K] and ``cluster`` [N] (int64);
* ``generate(noise, cluster)``: float32 [N, noise_dim] (U[0, 1) as in training) and int32 [N] ids in
  [0, K) → ``images`` [N, *shape];
* ``embed(images)`` (runs trained with ``--embed-dim k``) → ``embedding`` [N, k].

A run writes it from its live networks when it ends; ``gan-em export`` rebuilds a run's method from its
``config.json`` and newest checkpoint (:func:`gan_em_tf.runner.export_run`) and writes the same.
"""
from __future__ import annotations

import os
import shutil

import keras

from gan_em_tf.errors import UserError


def write(tracked: list, endpoints: dict, dest: str) -> list[str]:
    """Write a SavedModel with ``endpoints`` ({name: tf.function with an input signature}) of the ``tracked``
    models to ``dest`` (atomically: a temporary folder renamed into place); returns the endpoint names."""
    archive = keras.export.ExportArchive()
    for model in tracked:
        archive.track(model)
    for name, function in endpoints.items():
        archive.add_endpoint(name, function)
    tmp = dest.rstrip("/") + ".tmp"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        archive.write_out(tmp, verbose=False)
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(tmp, dest)
    except OSError as e:
        raise UserError(f"cannot write SavedModel to {dest} ({e.strerror}); choose another DEST") from None
    return list(endpoints)
