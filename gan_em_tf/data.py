"""Datasets and ``tf.data`` pipelines.

Every loader returns a :class:`Dataset`: float32 images in [0, 1] shaped
[N, H, W, C] (or vectors [N, D]) and integer labels when they exist.

* ``digits``: scikit-learn's bundled 8×8 UCI digits (works offline everywhere).
* ``mnist``, ``fashion_mnist``, ``kmnist``: from ``--data-dir DIR`` holding the
  standard IDX files (``train-*`` / ``t10k-*``, gzipped or not), else through
  tensorflow-datasets (prepared data first, a download only when reachable).
* ``svhn_cropped`` (32×32×3, digits 0–9), ``cifar10`` (32×32×3, 10 classes) and ``celeb_a`` (faces centre-cropped
  to 140×140 and resized to ``image_size``, default 64; 40 binary attributes)
  through tensorflow-datasets only.
* ``file``: a ``.npz`` (arrays ``x`` and optional ``y``) or ``.npy`` file given
  by ``--data-file``; values are min-max scaled to [0, 1] per feature.
"""
from __future__ import annotations

import gzip
import os
import socket
import struct
from dataclasses import dataclass

import numpy as np

from gan_em_tf.errors import UserError

IDX_IMAGE_SETS = ("mnist", "fashion_mnist", "kmnist")
TFDS_ONLY_SETS = ("svhn_cropped", "cifar10", "celeb_a")
DATASETS = ("digits",) + IDX_IMAGE_SETS + TFDS_ONLY_SETS + ("file",)
CELEBA_CROP = 140  # centre crop (pixels) of the 218×178 CelebA images before resizing
SPLITS = ("train", "test", "all")
IDX_PREFIX = {"train": "train", "test": "t10k"}


@dataclass
class Dataset:
    """Images (float32 in [0, 1]), optional integer labels, and (CelebA) named binary attributes."""

    name: str
    x: np.ndarray
    y: np.ndarray | None
    attributes: dict | None = None  # name → int64 [N] of 0/1

    def subset(self, index) -> "Dataset":
        """The samples at ``index`` (a slice, mask or index array)."""
        attrs = None if self.attributes is None else {k: v[index] for k, v in self.attributes.items()}
        return Dataset(self.name, self.x[index], None if self.y is None else self.y[index], attrs)

    @property
    def shape(self) -> tuple:
        return tuple(self.x.shape[1:])

    def __len__(self) -> int:
        return int(self.x.shape[0])


# ----------------------------------------------------------------------------- IDX
def read_idx(path: str) -> np.ndarray:
    """Parse one IDX file (optionally gzipped) into a uint8 array.

    Format: two zero bytes, a type byte (0x08 = ubyte), a rank byte, ``rank``
    big-endian uint32 dimensions, then the data.
    """
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise UserError(f"cannot read IDX file {path}: {e}; check --data-dir") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise UserError(f"{path} is not an IDX file (bad magic number); check --data-dir")
    if raw[2] != 0x08:
        raise UserError(f"{path}: IDX type 0x{raw[2]:02x} is not unsigned bytes; check --data-dir")
    rank = raw[3]
    header = 4 + 4 * rank
    if len(raw) < header:
        raise UserError(f"{path}: truncated IDX header; check --data-dir")
    dims = struct.unpack(">" + "I" * rank, raw[4:header])
    expected = int(np.prod(dims)) if dims else 0
    if len(raw) - header != expected:
        raise UserError(
            f"{path}: IDX holds {len(raw) - header} data bytes but its header says {expected} "
            "(truncated or corrupt); check --data-dir"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find_idx(data_dir: str, prefix: str, kind: str) -> str | None:
    """Path of ``{prefix}-{kind}-idx?-ubyte[.gz]`` in data_dir, or None."""
    rank = 3 if kind == "images" else 1
    for name in (f"{prefix}-{kind}-idx{rank}-ubyte", f"{prefix}-{kind}.idx{rank}-ubyte"):
        for ext in ("", ".gz"):
            path = os.path.join(data_dir, name + ext)
            if os.path.exists(path):
                return path
    return None


def load_idx_dir(data_dir: str, split: str, name: str = "mnist") -> Dataset:
    """Load the IDX files of ``split`` (``train``, ``test`` or ``all``) from data_dir."""
    if not os.path.isdir(data_dir):
        raise UserError(f"--data-dir {data_dir} is not a directory")
    parts = ("train", "test") if split == "all" else (split,)
    xs, ys = [], []
    for part in parts:
        img = _find_idx(data_dir, IDX_PREFIX[part], "images")
        if img is None:
            continue
        x = read_idx(img)
        if x.ndim != 3:
            raise UserError(f"{img}: expected images [N, H, W], got shape {x.shape}; check --data-dir")
        xs.append(x)
        lab = _find_idx(data_dir, IDX_PREFIX[part], "labels")
        if lab is not None:
            y = read_idx(lab)
            if y.shape != (x.shape[0],):
                raise UserError(f"{lab}: {y.shape[0]} labels for {x.shape[0]} images; check --data-dir")
            ys.append(y)
    if not xs:
        wanted = " or ".join(f"{IDX_PREFIX[p]}-images-idx3-ubyte[.gz]" for p in parts)
        raise UserError(f"no {wanted} in --data-dir {data_dir}; point --data-dir at the IDX files or use --split")
    x = np.concatenate(xs).astype(np.float32)[..., None]
    x /= 255.0  # in place: no second float copy of the images
    y = np.concatenate(ys).astype(np.int64) if len(ys) == len(xs) else None
    return Dataset(name, x, y)


# ----------------------------------------------------------------------------- tfds
def _network_reachable(host: str = "storage.googleapis.com", port: int = 443, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _tfds_preprocess(name: str, image_size: int):
    """tf.data map from one tfds example to (image float32 in [0, 1], label or attribute dict)."""
    import tensorflow as tf

    def supervised(example):
        return tf.cast(example["image"], tf.float32) / 255.0, example["label"]

    def celeb_a(example):
        img = tf.image.resize_with_crop_or_pad(example["image"], CELEBA_CROP, CELEBA_CROP)
        img = tf.image.resize(tf.cast(img, tf.float32) / 255.0, (image_size, image_size), antialias=True)
        attrs = {k: tf.cast(v, tf.int64) for k, v in example["attributes"].items()}
        return tf.clip_by_value(img, 0.0, 1.0), attrs

    return celeb_a if name == "celeb_a" else supervised


def load_tfds(name: str, split: str, data_dir: str | None = None, image_size: int = 64) -> Dataset:
    """Load an image set through tensorflow-datasets.

    Prepared data (``download=False``) is tried first; a download is attempted
    only when the dataset host answers within a few seconds, so an offline
    machine fails at once with a one-line message.
    """
    from gan_em_tf.tf_startup import import_tensorflow

    tf = import_tensorflow()
    import tensorflow_datasets as tfds

    tfds_split = "train+test" if split == "all" else split
    kwargs = dict(split=tfds_split, data_dir=data_dir)
    hint = ("pass --data-dir DIR holding its IDX files (train-images-idx3-ubyte.gz, t10k-...)"
            if name in IDX_IMAGE_SETS else "run where tensorflow-datasets can download it, or pass --data-dir "
                                             "DIR of an already prepared tfds data_dir")
    try:
        tf_ds = tfds.load(name, download=False, **kwargs)
    except Exception:  # not prepared locally (AssertionError / DatasetNotFoundError)
        if data_dir is not None or not _network_reachable():
            raise UserError(f"{name} is not prepared locally and cannot be downloaded (offline?); {hint}") from None
        try:
            tf_ds = tfds.load(name, download=True, **kwargs)
        except Exception as e:
            raise UserError(f"tfds could not download {name} ({type(e).__name__}); {hint}") from None
    tf_ds = tf_ds.map(_tfds_preprocess(name, image_size), num_parallel_calls=tf.data.AUTOTUNE)
    x, labels = _fill(tfds.as_numpy(tf_ds.batch(4096)), int(tf_ds.cardinality()))
    if x.ndim == 3:
        x = x[..., None]
    if name == "celeb_a":
        return Dataset(name, x, None, {k: v.astype(np.int64) for k, v in sorted(labels.items())})
    return Dataset(name, x, labels.astype(np.int64))


def _fill(batches, n: int) -> tuple[np.ndarray, object]:
    """(images, labels) of a stream of (image batch, label batch or dict of them) batches. With the number of
    samples ``n`` known (≥ 0), the images go straight into one array (memory: the images once and one batch;
    joining a list of batches would hold them twice, e.g. 2 × 10 GB for CelebA at 64×64); the labels are small."""
    x, labels, at = None, [], 0
    parts = []
    for images, label in batches:  # batch(-1) aborts under tfds.testing.mock_data: 4096-batches instead
        if n < 0:
            parts.append(images)
        else:
            if x is None:
                x = np.empty((n,) + images.shape[1:], np.float32)
            x[at:at + len(images)] = images
            at += len(images)
        labels.append(label)
    x = np.concatenate(parts).astype(np.float32, copy=False) if n < 0 else x[:at]
    if isinstance(labels[0], dict):
        return x, {k: np.concatenate([b[k] for b in labels]) for k in labels[0]}
    return x, np.concatenate(labels)


def labelled_indices(y: np.ndarray, n_labels: int, seed: int) -> np.ndarray:
    """Indices of ``n_labels`` examples balanced over the classes of y, fixed by ``seed`` (§5.3).

    Each class gets n_labels // C examples; the remainder goes one each to the
    first classes. Sorted, so the same seed gives the same set on any machine.
    """
    classes = np.unique(y)
    if n_labels < len(classes):
        raise UserError(f"--labels {n_labels} is fewer than the {len(classes)} classes; use at least {len(classes)}")
    if n_labels >= len(y):
        raise UserError(f"--labels {n_labels} leaves no unlabelled data among {len(y)} samples; lower --labels")
    rng = np.random.default_rng(seed)
    per_class = [n_labels // len(classes) + (i < n_labels % len(classes)) for i in range(len(classes))]
    picked = []
    for cls, count in zip(classes, per_class):
        members = np.flatnonzero(y == cls)
        if len(members) < count:
            raise UserError(f"class {cls} has only {len(members)} samples for {count} labels; lower --labels")
        picked.append(rng.choice(members, count, replace=False))
    return np.sort(np.concatenate(picked))


@dataclass
class LabelledSplit:
    """The data of a semi-supervised run (§5.3): the labelled examples and what is scored."""

    x_labelled: np.ndarray
    y_labelled: np.ndarray
    index: np.ndarray  # their rows in the training data
    heldout: Dataset  # the labelled test split when there is one, else the unlabelled rest
    rest: np.ndarray | None  # mask of the unlabelled training samples when they are the held-out data


def labelled_indices_of(ds: Dataset, n_labels: int, seed: int) -> np.ndarray:
    """:func:`labelled_indices` of ds's labels, with a one-line error for data without labels."""
    if ds.y is None:
        raise UserError("--labels needs class labels; this data has none"
                        + (" (for celeb_a pass --attribute NAME)" if ds.attributes else ""))
    return labelled_indices(ds.y, n_labels, seed)


def split_labelled(ds: Dataset, n_labels: int, seed: int, heldout: Dataset | None = None) -> LabelledSplit:
    """``n_labels`` examples of ds picked by :func:`labelled_indices`; scored on ``heldout`` or the rest."""
    idx = labelled_indices_of(ds, n_labels, seed)
    rest = None
    if heldout is None:
        rest = np.ones(len(ds), bool)
        rest[idx] = False
        heldout = ds.subset(rest)
    return LabelledSplit(ds.x[idx], ds.y[idx], idx, heldout, rest)


# ----------------------------------------------------------------------------- others
def load_digits() -> Dataset:
    """scikit-learn's bundled 8×8 digits, 1,797 images, pixels 0..16 scaled to [0, 1]."""
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    x = (d.images.astype(np.float32) / 16.0)[..., None]
    return Dataset("digits", x, d.target.astype(np.int64))


def load_array_file(path: str) -> Dataset:
    """A user array file: ``.npz`` with ``x`` (and optional ``y``) or a ``.npy`` of x.

    x may be [N, D] vectors, [N, H, W] or [N, H, W, C] images; it is min-max
    scaled to [0, 1] per feature (constant features become 0).
    """
    if not os.path.isfile(path):
        raise UserError(f"--data-file {path} does not exist")
    try:
        if path.endswith(".npz"):
            with np.load(path, allow_pickle=False) as f:
                if "x" not in f:
                    raise UserError(f"--data-file {path} has no array named 'x' (found: {', '.join(f.files)})")
                x = f["x"]
                y = f["y"] if "y" in f else None
        else:
            x, y = np.load(path, allow_pickle=False), None
    except UserError:
        raise
    except Exception as e:
        raise UserError(f"cannot read --data-file {path}: {type(e).__name__}: {e}") from None
    if not np.issubdtype(x.dtype, np.number):
        raise UserError(f"--data-file {path}: x has dtype {x.dtype}, expected numbers")
    x = x.astype(np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim not in (2, 4):
        raise UserError(f"--data-file {path}: x has shape {x.shape}; expected [N, D], [N, H, W] or [N, H, W, C]")
    validate_finite(x, f"--data-file {path}")
    lo = x.min(axis=0, keepdims=True)
    span = x.max(axis=0, keepdims=True) - lo
    x = np.where(span > 0, (x - lo) / np.where(span > 0, span, 1), 0).astype(np.float32)
    if y is not None:
        y = np.asarray(y)
        if y.shape != (x.shape[0],):
            raise UserError(f"--data-file {path}: y has shape {y.shape}, expected ({x.shape[0]},)")
        y = np.unique(y, return_inverse=True)[1].astype(np.int64)
    name = os.path.splitext(os.path.basename(path))[0]
    return Dataset(name, x, y)


def validate_finite(x: np.ndarray, where: str) -> None:
    """Raise a UserError if x holds NaN or inf."""
    bad = ~np.isfinite(x)
    if bad.any():
        raise UserError(f"{where} holds {int(bad.sum())} NaN/inf values; clean the data first")


def load(cfg) -> Dataset:
    """Load the dataset a :class:`~gan_em_tf.config.DataConfig` names, validated."""
    name = cfg.dataset
    if name not in DATASETS:
        raise UserError(f"unknown --dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    if cfg.split not in SPLITS:
        raise UserError(f"unknown --split {cfg.split!r}; choose one of: {', '.join(SPLITS)}")
    if name == "digits":
        ds = load_digits()
    elif name == "file":
        if not cfg.data_file:
            raise UserError("--dataset file needs --data-file PATH (.npz with x[, y] or .npy)")
        ds = load_array_file(cfg.data_file)
    elif cfg.data_dir and not os.path.isdir(cfg.data_dir):
        raise UserError(f"--data-dir {cfg.data_dir} is not a directory")
    elif (cfg.data_dir and name in IDX_IMAGE_SETS
          and any(_find_idx(cfg.data_dir, p, "images") for p in IDX_PREFIX.values())):
        ds = load_idx_dir(cfg.data_dir, cfg.split, name)
    else:
        if cfg.image_size < 16 or cfg.image_size % 8:
            raise UserError(f"--image-size must be a multiple of 8 and at least 16, got {cfg.image_size}")
        ds = load_tfds(name, cfg.split, cfg.data_dir, cfg.image_size)
    validate_finite(ds.x, f"dataset {name}")
    if cfg.attribute is not None:
        ds = attribute_labels(ds, cfg.attribute)
    if cfg.classes is not None or cfg.per_class is not None:
        ds = select_classes(ds, cfg.classes, cfg.per_class)
    if cfg.limit is not None:
        if cfg.limit < 1:
            raise UserError(f"--limit must be positive, got {cfg.limit}")
        ds = ds.subset(slice(0, cfg.limit))
    return ds


def attribute_labels(ds: Dataset, attribute: str) -> Dataset:
    """Labels from named binary attributes (CelebA): one name gives its 0/1 value; a comma-separated list
    (``Black_Hair,Blond_Hair,Gray_Hair``) gives class i to the images that have exactly the i-th of them
    and drops the others (none or several)."""
    if ds.attributes is None:
        raise UserError(f"--attribute applies to celeb_a only; {ds.name} has class labels")
    names = attribute.split(",")
    unknown = [n for n in names if n not in ds.attributes]
    if unknown:
        raise UserError(f"unknown --attribute {unknown[0]!r}; choose from: {', '.join(ds.attributes)}")
    if len(names) == 1:
        return Dataset(ds.name, ds.x, ds.attributes[attribute], ds.attributes)
    marks = np.stack([ds.attributes[n] for n in names], axis=1)
    keep = marks.sum(axis=1) == 1
    kept = ds.subset(keep)
    return Dataset(ds.name, kept.x, marks[keep].argmax(axis=1).astype(np.int64), kept.attributes)


def select_classes(ds: Dataset, classes, per_class: int | None) -> Dataset:
    """The samples of ``classes`` (all classes when None), the first ``per_class`` of each in the data's own
    order (all when None), relabelled 0..C−1 in the order ``classes`` lists them — so that a semi-supervised
    run's cluster ids are these class ids (``--classes 3,5,8``: digit 3 is class 0)."""
    if ds.y is None:
        raise UserError("--classes picks samples by their labels; this data has none")
    present = np.unique(ds.y)
    classes = list(present) if classes is None else list(classes)
    missing = [c for c in classes if c not in present]
    if missing or len(set(classes)) != len(classes):
        raise UserError(f"--classes {','.join(map(str, classes))}: each must be a distinct class of the data "
                        f"({', '.join(map(str, present))})")
    if per_class is not None and per_class < 1:
        raise UserError(f"--limit must be positive, got {per_class}")
    keep, labels = [], []
    for new, cls in enumerate(classes):
        members = np.flatnonzero(ds.y == cls)
        if per_class is not None:
            if len(members) < per_class:
                raise UserError(f"class {cls} has only {len(members)} samples; lower --limit (per class with "
                                f"--classes) to {len(members)}")
            members = members[:per_class]
        keep.append(members)
        labels.append(np.full(len(members), new, np.int64))
    order = np.argsort(np.concatenate(keep), kind="stable")  # the data's own order
    out = ds.subset(np.concatenate(keep)[order])
    return Dataset(ds.name, out.x, np.concatenate(labels)[order], out.attributes)


def load_heldout(cfg) -> Dataset | None:
    """The test split of a run trained on the whole ``--split train`` (semi-supervised scoring, §5.3), if it
    exists, with the same ``--classes``.

    None for data without a separate test split (digits, files, a ``--data-dir`` holding only the ``train-*``
    IDX files), when the training data already is the test split, and when ``--limit`` took a subset of the
    training split (the subset is the experiment, as in DNN-MM's "1000 images of each digit"); the caller then
    scores on the unlabelled remainder of the training data. A test split that is there but cannot be read is
    a :class:`UserError`, not a quiet change of what the run is scored on.
    """
    if cfg.split != "train" or cfg.dataset not in IDX_IMAGE_SETS + TFDS_ONLY_SETS:
        return None
    if cfg.limit is not None or cfg.per_class is not None:
        return None
    if (cfg.data_dir and cfg.dataset in IDX_IMAGE_SETS and _find_idx(cfg.data_dir, IDX_PREFIX["train"], "images")
            and not _find_idx(cfg.data_dir, IDX_PREFIX["test"], "images")):
        return None
    import dataclasses

    return load(dataclasses.replace(cfg, split="test"))


# ----------------------------------------------------------------------------- pipelines
def hold(x: np.ndarray):
    """The training samples as one host tensor, made once per run: every EM iteration's input pipeline gathers
    its batches from it and the E-steps predict on it, instead of each converting (copying) the array anew."""
    import tensorflow as tf

    with tf.device("/cpu:0"):
        return tf.identity(x)  # one copy; tf.constant / convert_to_tensor of an array briefly make two (measured)


def shuffled_passes(rng: np.random.Generator, members, need: int) -> np.ndarray:
    """``need`` sample indices: ``members`` (an index array, or n for 0..n−1) shuffled anew pass after pass."""
    passes = -(-need // (members if isinstance(members, int) else len(members)))
    return np.concatenate([rng.permutation(members) for _ in range(passes)])[:need]


def real_batches(x, w, batch_size: int, seed: int, epoch_seed: int, noise_dim: int, clusters: int,
                 epochs: int = 1):
    """M-step input: dicts {x_real, w, z, c} per batch for ``epochs`` passes (Eq. 1-2).

    Real images and their soft labels w are shuffled together (a new order
    each pass): the pipeline shuffles sample indices and gathers the batches
    from ``x`` (an array, or the tensor of :func:`hold`), so it holds no copy
    of the data. The noise z ~ U[0, 1) and the fake classes c ~ U{0..K-1} are
    drawn inside the pipeline from stateless seeds (seed, epoch_seed, step),
    so a global batch is the same whatever the number of replicas it is split
    across, and a resumed run redraws exactly the same noise.
    """
    import tensorflow as tf

    images, weights = tf.convert_to_tensor(x), tf.constant(w, tf.float32)
    n = int(images.shape[0])
    ds = tf.data.Dataset.range(n)
    ds = ds.shuffle(n, seed=seed * 1_000_003 + epoch_seed, reshuffle_each_iteration=True).repeat(epochs)
    ds = ds.batch(batch_size, drop_remainder=True).enumerate()

    def add_noise(i, index):
        s = tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch_seed, tf.int64) * 1_000_000 + i])
        z = tf.random.stateless_uniform([batch_size, noise_dim], seed=s, dtype=tf.float32)
        c = tf.random.stateless_uniform([batch_size], seed=s + 1, maxval=clusters, dtype=tf.int64)
        return {"x_real": tf.gather(images, index), "w": tf.gather(weights, index), "z": z, "c": c}

    return ds.map(add_noise, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def labelled_batches(x, y, batch_size: int, seed: int, epoch_seed: int):
    """Semi-supervised input: dicts {x, y} of labelled real images, reshuffled every pass (§5.3)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices({"x": x, "y": y.astype(np.int64)})
    ds = ds.shuffle(len(x), seed=seed * 1_000_003 + epoch_seed + 17, reshuffle_each_iteration=True)
    return ds.batch(min(batch_size, len(x)), drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def noise_batches(batch_size: int, steps: int, seed: int, epoch_seed: int, noise_dim: int, class_probs,
                  balanced: bool = False, jitter: bool = False):
    """E-step input: dicts {z, c} per batch.

    ``balanced`` False: c ~ Categorical(class_probs), i.e. φ for Eq. 5.
    ``balanced`` True: every batch cycles through 0..K-1 (the authors' code).
    ``jitter`` True: also u ~ U[0, 1)^4 per image, the draws of ``--e-augment``
    (:func:`gan_em_tf.augment.affine_jitter`).
    """
    from gan_em_tf.augment import DRAWS
    import tensorflow as tf

    probs = np.asarray(class_probs, np.float64)
    logits = tf.constant(np.log(np.maximum(probs, 1e-12))[None, :], tf.float32)
    cycle = tf.constant(np.arange(batch_size) % len(probs), tf.int64)

    def draw(i):
        s = tf.stack([tf.cast(seed, tf.int64) + 7919, tf.cast(epoch_seed, tf.int64) * 1_000_000 + i])
        z = tf.random.stateless_uniform([batch_size, noise_dim], seed=s, dtype=tf.float32)
        if balanced:
            c = cycle
        else:
            c = tf.random.stateless_categorical(logits, batch_size, seed=s + 1, dtype=tf.int64)[0]
        if jitter:
            return {"z": z, "c": c, "u": tf.random.stateless_uniform([batch_size, DRAWS], seed=s + 2)}
        return {"z": z, "c": c}

    ds = tf.data.Dataset.range(steps).map(draw, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
