"""SavedModel export for serving (``keras.export.ExportArchive``).

Endpoints, loadable with ``tf.saved_model.load`` alone (no gan_em_tf import):

* ``assign(images)``: float32 [N, *shape] in [0, 1] → ``probabilities`` [N, K]
  (softmax of the E-net, Eq. 4) and ``cluster`` [N] (int64 argmax).
* ``generate(noise, cluster)``: float32 [N, noise_dim] (U[0, 1) as in training)
  and int32 [N] cluster ids → ``images`` [N, *shape].
* ``embed(images)`` (runs trained with ``--embed-dim k`` only): → ``embedding``
  [N, k], the activations of the E-net's layer r (§5.4).

The networks are rebuilt outside any distribution strategy from the run's
``config.json`` and its newest checkpoint, so export works the same for runs
trained on one device or many.
"""
from __future__ import annotations

import os
import shutil

import keras
import tensorflow as tf

from gan_em_tf import networks, rundir
from gan_em_tf.config import RunConfig
from gan_em_tf.errors import UserError


def load_run(run_dir: str):
    """(config, generator, enet, data shape) of a run, weights from its newest checkpoint."""
    cfg_path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(cfg_path):
        raise UserError(f"{run_dir} holds no run (no config.json); pass the --out folder of a cluster run")
    cfg = RunConfig.from_dict(rundir.read_json(cfg_path))
    ckpt = rundir.latest_checkpoint(run_dir)
    if ckpt is None:
        raise UserError(f"{run_dir} has no completed EM iteration to export yet; run or --resume it first")
    shape = tuple(rundir.read_json(os.path.join(run_dir, rundir.DATA_INFO))["shape"])
    nets = networks.build_networks(shape, cfg.clusters, cfg.train, embed_dim=cfg.embed_dim)
    generator, enet = nets["generator"], nets["enet"]
    rundir.load_networks(ckpt, {"generator": generator, "enet": enet})
    return cfg, generator, enet, shape


def export_models(generator, enet, shape: tuple, clusters: int, noise_dim: int, dest: str) -> list[str]:
    """Write a SavedModel with the ``assign``, ``generate`` [and ``embed``] endpoints to ``dest``; returns their names."""
    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.track(enet)

    @tf.function(input_signature=[tf.TensorSpec((None,) + tuple(shape), tf.float32, name="images")])
    def assign(images):
        probs = tf.nn.softmax(tf.cast(enet(images, training=False), tf.float32), axis=-1)
        return {"probabilities": probs, "cluster": tf.argmax(probs, axis=-1)}

    @tf.function(input_signature=[tf.TensorSpec((None, noise_dim), tf.float32, name="noise"),
                                  tf.TensorSpec((None,), tf.int32, name="cluster")])
    def generate(noise, cluster):
        images = generator([noise, tf.one_hot(cluster, clusters)], training=False)
        return {"images": tf.cast(images, tf.float32)}

    archive.add_endpoint("assign", assign)
    archive.add_endpoint("generate", generate)
    names = ["assign", "generate"]
    if any(layer.name == networks.EMBEDDING for layer in enet.layers):
        embedder = networks.embedding_model(enet)

        @tf.function(input_signature=[tf.TensorSpec((None,) + tuple(shape), tf.float32, name="images")])
        def embed(images):
            return {"embedding": tf.cast(embedder(images, training=False), tf.float32)}

        archive.add_endpoint("embed", embed)
        names.append("embed")
    tmp = dest.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    archive.write_out(tmp, verbose=False)
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return names


def export_run(run_dir: str, dest: str, overwrite: bool = True) -> list[str]:
    """Export the newest checkpoint of ``run_dir`` as a SavedModel at ``dest``; returns the endpoint names."""
    if os.path.exists(dest) and not overwrite:
        raise UserError(f"{dest} already exists; pass --overwrite to replace it")
    cfg, generator, enet, shape = load_run(run_dir)
    try:
        return export_models(generator, enet, shape, cfg.clusters, cfg.train.noise_dim, dest)
    except OSError as e:
        raise UserError(f"cannot write SavedModel to {dest} ({e.strerror}); choose another DEST") from None
