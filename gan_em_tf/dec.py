"""DEC (Xie, Girshick, Farhadi, ICML 2016) and its stacked autoencoder: a baseline of the Mixture-of-GANs
paper (its Tables 1, 3–5) and of GAN-EM's Table 1.

* :class:`Autoencoder` — the d-500-500-2000-10 stacked autoencoder (ReLU, linear code and output), trained
  end to end on the reconstruction error with 20 % input dropout (denoising). The DEC paper pretrains it
  greedily layer by layer and then fine-tunes it; this reads "a fine-tuned SAE" as the fine-tuned end-to-end
  network and trains only that stage. ``gan-em embed-sae`` writes its 10-D codes, on which every method can
  cluster (the Mixture-of-GANs paper's Table 3).
* :class:`Dec` — the encoder and K cluster centres μ_j, soft assignments q_ij ∝ (1 + ‖z_i − μ_j‖²)^−1
  (Student's t, α = 1; DEC Eq. 1), trained on KL(P ‖ Q) (Eq. 2) towards the target p_ij ∝ q_ij² / f_j (Eq. 3,
  f_j = Σ_i q_ij), recomputed over all the data every ``update_interval`` steps; the centres start from k-means on
  the codes; training stops once fewer than ``tol`` of the assignments change between two target updates.

Both are Keras models with a custom ``train_step`` whose losses go through the global-batch reducer.
"""
from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from gan_em_tf import metrics
from gan_em_tf.config import DEC_STEPS
from gan_em_tf.losses import global_mean
from gan_em_tf.training import Phase, global_batch, make_optimizer

LAYERS = (500, 500, 2000)
CODE = 10


def build_encoder(dim: int, code: int = CODE) -> keras.Model:
    x = keras.Input((dim,), name="x")
    h = x
    for units in LAYERS:
        h = keras.layers.Dense(units, activation="relu")(h)
    return keras.Model(x, keras.layers.Dense(code, name="code")(h), name="encoder")


def build_decoder(dim: int, code: int = CODE) -> keras.Model:
    z = keras.Input((code,), name="code")
    h = z
    for units in reversed(LAYERS):
        h = keras.layers.Dense(units, activation="relu")(h)
    return keras.Model(z, keras.layers.Dense(dim, name="reconstruction")(h), name="decoder")


class Autoencoder(Phase):
    """The stacked autoencoder's training step: MSE of decoder(encoder(dropout(x))) against x."""

    def __init__(self, dim: int, dropout: float = 0.2, **kwargs):
        super().__init__(("reconstruction",), **kwargs)
        self.encoder, self.decoder = build_encoder(dim), build_decoder(dim)
        self.noise = keras.layers.Dropout(dropout)

    def compile(self, optimizer, **kwargs):
        super().compile(optimizer=None, **kwargs)
        self.ae_optimizer = optimizer
        optimizer.build(self.encoder.trainable_variables + self.decoder.trainable_variables)

    def call(self, x, training=False):
        return self.decoder(self.encoder(x, training=training), training=training)

    def train_step(self, x):
        variables = self.encoder.trainable_variables + self.decoder.trainable_variables
        with tf.GradientTape() as tape:
            out = self(self.noise(x, training=True), training=True)
            loss = global_mean(tf.reduce_mean(tf.square(out - x), axis=1), global_batch(x))
        self.ae_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return self.log(reconstruction=loss)


def soft_assignment(codes, centres):
    """DEC Eq. 1 (α = 1): q_ij = (1 + ‖z_i − μ_j‖²)^−1 / Σ_j' (1 + ‖z_i − μ_j'‖²)^−1."""
    d2 = tf.reduce_sum(tf.square(codes[:, None, :] - centres[None, :, :]), axis=2)
    q = 1.0 / (1.0 + d2)
    return q / tf.reduce_sum(q, axis=1, keepdims=True)


def target_distribution(q: np.ndarray) -> np.ndarray:
    """DEC Eq. 3: p_ij = (q_ij² / f_j) / Σ_j' (q_ij'² / f_j'), f_j = Σ_i q_ij."""
    weight = q ** 2 / q.sum(axis=0)
    return (weight.T / weight.sum(axis=1)).T


def kl_divergence(p, q):
    """DEC Eq. 2 per sample: Σ_j p_ij log(p_ij / q_ij)."""
    p = tf.cast(p, tf.float32)
    return tf.reduce_sum(p * (tf.math.log(p + 1e-12) - tf.math.log(q + 1e-12)), axis=1)


class Dec(Phase):
    """The DEC fine-tuning step on batches {x, p}: KL(P ‖ Q) through the encoder and the centres."""

    def __init__(self, encoder: keras.Model, centres: np.ndarray, **kwargs):
        super().__init__(("kl",), **kwargs)
        self.encoder = encoder
        self.centres = self.add_weight(shape=centres.shape, initializer="zeros", name="centres")
        self.centres.assign(centres.astype(np.float32))

    def compile(self, optimizer, **kwargs):
        super().compile(optimizer=None, **kwargs)
        self.dec_optimizer = optimizer
        optimizer.build(self.encoder.trainable_variables + [self.centres])

    def call(self, x, training=False):
        return soft_assignment(self.encoder(x, training=training), self.centres)

    def train_step(self, data):
        data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        variables = self.encoder.trainable_variables + [self.centres]
        with tf.GradientTape() as tape:
            loss = global_mean(kl_divergence(data["p"], self(data["x"], training=True)), global_batch(data["x"]))
        self.dec_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return self.log(kl=loss)


def train_autoencoder(x: np.ndarray, epochs: int, seed: int, batch_size: int = 256, lr: float = 1e-3,
                      verbose: int = 0, backup_dir: str | None = None) -> Autoencoder:
    """The stacked autoencoder trained on ``x`` [N, d] (flattened) for ``epochs`` passes with Adam.

    With ``backup_dir``, the weights, Adam's state and the pass count are saved there after every pass
    (``keras.callbacks.BackupAndRestore``), a call on the same folder continues from the last finished pass, and
    the folder is removed when training ends."""
    keras.utils.set_random_seed(seed)
    model = Autoencoder(x.shape[1])
    model.compile(make_optimizer("adam", lr, beta1=0.9))
    ds = tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=seed).batch(batch_size, drop_remainder=True)
    callbacks = [keras.callbacks.BackupAndRestore(backup_dir)] if backup_dir else []
    model.fit(ds.prefetch(tf.data.AUTOTUNE), epochs=epochs, verbose=verbose, shuffle=False,  # shuffled above
              callbacks=callbacks)
    return model


def run_dec(x: np.ndarray, encoder: keras.Model, clusters: int, seed: int, batch_size: int = 256,
            update_interval: int = 140, max_steps: int = DEC_STEPS, tol: float = 0.001, lr: float = 0.01,
            log=None) -> np.ndarray:
    """DEC on ``x`` with a pretrained ``encoder``: centres from k-means on the codes, then KL(P ‖ Q) with SGD
    (momentum 0.9, DEC's optimiser), the target recomputed every ``update_interval`` steps, until fewer than
    ``tol`` of the assignments change between two updates or ``max_steps``. Returns the cluster of every sample;
    ``log(line)``, if given, gets one line per target update."""
    from gan_em_tf.baselines import fit_predict

    codes = encoder.predict(x, batch_size=1024, verbose=0)
    hard = fit_predict("kmeans", codes, clusters, seed)
    centres = np.stack([codes[hard == j].mean(axis=0) if (hard == j).any() else codes[j] for j in range(clusters)])
    model = Dec(encoder, centres)
    model.compile(keras.optimizers.SGD(lr, momentum=0.9))
    rng = np.random.default_rng(seed)
    previous = hard
    for start in range(0, max_steps, update_interval):
        q = model.predict(x, batch_size=1024, verbose=0)
        assign = q.argmax(axis=1)
        changed = float(np.mean(assign != previous))
        if log is not None:
            log(f"DEC seed {seed}: step {start}/{max_steps}, {changed:.4f} of the assignments changed")
        if start and changed < tol:
            break
        previous = assign
        p = target_distribution(q).astype(np.float32)
        idx = rng.integers(0, len(x), update_interval * batch_size)
        ds = tf.data.Dataset.from_tensor_slices({"x": x[idx], "p": p[idx]}).batch(batch_size)
        model.fit(ds, epochs=1, verbose=0, shuffle=False)  # idx is already a random draw
    return model.predict(x, batch_size=1024, verbose=0).argmax(axis=1)


def baseline(x: np.ndarray, y: np.ndarray | None, clusters: int, seeds: list[int], encoder_for_seed,
             max_steps: int = DEC_STEPS, log=None) -> dict:
    """``gan-em baseline --method dec``: DEC per seed (``encoder_for_seed(seed)`` gives a fresh pretrained encoder)
    with the same scores as the other baselines, mean ± sd over seeds; at most ``max_steps`` KL steps each.
    ``log(line)``, if given, gets a line per target update and one per finished seed."""
    flat = x.reshape(len(x), -1).astype(np.float32)
    per_seed = []
    for seed in seeds:
        t0 = time.time()
        assign = run_dec(flat, encoder_for_seed(seed), clusters, seed, max_steps=max_steps, log=log)
        row = {"seed": seed, "seconds": time.time() - t0}
        if y is not None:
            row.update(metrics.cluster_scores(y, assign, clusters))
            row["per_cluster"] = metrics.per_cluster(y, assign, clusters)
        if log is not None:
            scores = " ".join(f"{k}={row[k]:.4f}" for k in ("acc", "purity", "nmi", "ari") if k in row)
            log(f"DEC seed {seed} done in {row['seconds']:.0f}s {scores}".rstrip())
        per_seed.append(row)
    out = {"method": "dec", "clusters": clusters, "n_samples": len(x), "per_seed": per_seed}
    if y is not None:
        out.update(metrics.mean_sd_over_seeds(per_seed))
    return out


def save_sae(model: Autoencoder, folder: str, dataset, epochs: int, seed: int, seconds: float) -> dict:
    """``gan-em embed-sae``'s folder: the networks' weights, ``codes.npz`` (x: the codes, y: the labels, a
    ``--dataset file`` input for any method) and ``sae.json``; returns the record."""
    import os

    from gan_em_tf import rundir

    flat = dataset.x.reshape(len(dataset), -1)
    codes = model.encoder.predict(flat, batch_size=1024, verbose=0)
    model.encoder.save_weights(os.path.join(folder, "encoder.weights.h5"))
    model.decoder.save_weights(os.path.join(folder, "decoder.weights.h5"))
    arrays = {"x": codes} if dataset.y is None else {"x": codes, "y": dataset.y}
    np.savez(os.path.join(folder, "codes.npz"), **arrays)
    record = {"dataset": dataset.name, "shape": list(dataset.shape), "n_samples": len(dataset), "epochs": epochs,
              "seed": seed, "seconds": round(seconds, 1), "code_dim": CODE,
              "reconstruction_mse": float(np.mean((model.predict(flat[:5000], batch_size=1024, verbose=0)
                                                   - flat[:5000]) ** 2))}
    rundir.write_json(os.path.join(folder, "sae.json"), record)
    return record


def load_encoder(folder: str, dim: int) -> keras.Model:
    """The encoder ``gan-em embed-sae`` wrote into ``folder`` (for data of ``dim`` features)."""
    import os

    from gan_em_tf import rundir
    from gan_em_tf.errors import UserError

    info_path = os.path.join(folder, "sae.json")
    if not os.path.isfile(info_path):
        raise UserError(f"--sae {folder} holds no autoencoder (no sae.json); write one with gan-em embed-sae")
    info = rundir.read_json(info_path)
    if int(np.prod(info["shape"])) != dim:
        raise UserError(f"--sae {folder} was trained on {info['dataset']} of shape {info['shape']}, not on data of "
                        f"{dim} features; pass the same data flags as to gan-em embed-sae")
    encoder = build_encoder(dim)
    encoder.load_weights(os.path.join(folder, "encoder.weights.h5"))
    return encoder
