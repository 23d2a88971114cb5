"""The ``gan-em`` command line: a thin caller of the library.

    gan-em cluster  --dataset digits --out runs/digits     # GAN-EM clustering (Algorithm 1)
    gan-em baseline --dataset digits --method all          # k-means / GMM, same metrics
    gan-em baseline --dataset digits --labels 100          # ... and the E-net on 100 labels alone
    gan-em export   runs/digits exported/                  # SavedModel for serving
    gan-em bench                                           # images/s of the M- and E-step

Bad input ends with one line on stderr naming the flag to fix, exit status 2.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import sys

from gan_em_tf.errors import UserError

EXIT_USER_ERROR = 2


def _add_data_args(p: argparse.ArgumentParser) -> None:
    from gan_em_tf.data import DATASETS, SPLITS

    g = p.add_argument_group("data")
    g.add_argument("--dataset", default="digits", metavar="NAME",
                   help=f"one of {', '.join(DATASETS)} (default: digits, scikit-learn's bundled 8x8 digits). "
                        "mnist/fashion_mnist/kmnist come from --data-dir or tensorflow-datasets")
    g.add_argument("--data-dir", metavar="DIR",
                   help="folder with the IDX files (train-images-idx3-ubyte[.gz], t10k-...), or a tfds data_dir")
    g.add_argument("--data-file", metavar="PATH",
                   help="with --dataset file: a .npz holding x (and optional labels y), or a .npy of x")
    g.add_argument("--split", default="test", choices=SPLITS,
                   help="which IDX/tfds split to use; 'all' joins train and test (default: test)")
    g.add_argument("--limit", type=int, metavar="N", help="use only the first N samples")
    g.add_argument("--clusters", "-k", type=int, default=10, metavar="K", help="number of clusters K (default: 10)")
    g.add_argument("--image-size", type=int, default=64, metavar="S",
                   help="celeb_a: side of the resized 140x140 centre crop (default: 64)")
    g.add_argument("--attribute", metavar="NAME",
                   help="celeb_a: the binary attribute used as the label (e.g. Eyeglasses); without it a "
                        "clustering run is scored against all 40 attributes")


def _data_config(a):
    from gan_em_tf.config import DataConfig

    return DataConfig(dataset=a.dataset, data_dir=a.data_dir, data_file=a.data_file, split=a.split, limit=a.limit,
                      image_size=a.image_size, attribute=a.attribute)


def build_parser() -> argparse.ArgumentParser:
    from gan_em_tf.config import (DEFAULT_PRESET, FINAL_MOVE_MODES, GROW_SPLITS, LABELS_ONLY_LR, LABELS_ONLY_STEPS,
                                  PRESETS, SPLIT_MERGE_MODES, STRATEGIES, TrainConfig)

    parser = argparse.ArgumentParser(prog="gan-em", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("cluster", help="cluster a dataset with GAN-EM (paper Algorithm 1)",
                       description="Train GAN-EM and write a run folder: config.json, metrics.csv, summary.json, "
                                   "assignments.npy, samples.png, convergence.png, checkpoints/, saved_model/.")
    _add_data_args(c)
    g = c.add_argument_group("training configuration (defaults: the --config preset)")
    g.add_argument("--config", default=DEFAULT_PRESET, choices=list(PRESETS),
                   help="authors: the authors' code (Adam, G toward its one-hot class; default: higher mean and "
                        "lower spread over seeds in our measurements); paper: §5.1 as printed (RMSprop 2e-4, "
                        "Eq. 1 generator loss)")
    g.add_argument("--iterations", type=int, metavar="n", help="EM iterations n (default: 20)")
    g.add_argument("--m-epochs", type=float, metavar="p",
                   help="passes over the data per M-step p; a fraction such as 0.5 runs that share of a pass on a "
                        "new shuffle each EM iteration (default: 5, more on small data so an M-step is "
                        ">= ~700 batches)")
    g.add_argument("--first-m-epochs", type=int, metavar="p1",
                   help="passes over the data in the first M-step only (default: p), so that the first E-step "
                        "learns from a generator that already draws the data rather than noise")
    g.add_argument("--e-steps", type=int, metavar="q", help="E-net steps per E-step q (default: 1000)")
    g.add_argument("--batch-size", type=int, metavar="B", help="M-step batch (authors: 70, paper: 64)")
    g.add_argument("--e-batch-size", type=int, metavar="B", help="E-step batch of generated images (200 / 256)")
    g.add_argument("--lr-g", type=float, metavar="LR", help="generator learning rate")
    g.add_argument("--lr-d", type=float, metavar="LR", help="discriminator learning rate")
    g.add_argument("--lr-e", type=float, metavar="LR", help="E-net learning rate")
    g.add_argument("--lr-decay", type=float, metavar="γ",
                   help="every learning rate is multiplied by γ once per EM iteration (default: 0.98, the paper's "
                        "and the authors' decay; 1 keeps the rates constant)")
    g.add_argument("--lr-decay-start", type=int, metavar="S",
                   help="EM iteration from which --lr-decay applies: the rates are lr × γ^max(0, iteration − S) "
                        "(default: 0, decay from the start). With a resume or branch at S, this anneals the rates "
                        "over the rest of a run trained at constant rates")
    g.add_argument("--generator-loss", choices=("onehot", "exp", "nonsat"),
                   help="onehot: authors' code; exp: paper Eq. 1 (clipped so exp cannot overflow); "
                        "nonsat: -log D_c(G(z,c)) - log D_real(G), Eq. 1's own-unit term in non-saturating form")
    g.add_argument("--g-class-start", type=int, metavar="N",
                   help="first EM iteration whose generator loss includes the class-unit term (default: 1, as in "
                        "the paper). 2 trains G in the first M-step, while w is still uniform and the class units "
                        "carry no cluster information, through the real/fake unit only (not in the paper)")
    g.add_argument("--init", choices=("uniform", "kmeans"),
                   help="initial soft labels w: uniform (Algorithm 1, default) or 0.9 on each sample's k-means "
                        "cluster (not in the paper)")
    g.add_argument("--info-weight", type=float, metavar="λ",
                   help="> 0 adds λ·CE(E(G(z,c)), c) to the generator loss and trains the E-net on the same fakes "
                        "during the M-step (InfoGAN-style; not in the paper; default 0)")
    g.add_argument("--enet-batchnorm", action=argparse.BooleanOptionalAction, default=None,
                   help="BatchNorm in the E-net's conv trunk (default: on). --no-enet-batchnorm drops it, which is "
                        "what the authors' code effectively trains (its E-net stays in eval mode with the initial "
                        "running statistics)")
    g.add_argument("--e-augment", action=argparse.BooleanOptionalAction, default=None,
                   help="jitter every generated image of the E-step by a random rotation (up to ±11°), shift (up "
                        "to ±8%% of the side) and zoom (±10%%) before the E-net learns its class from it, so that "
                        "the E-net, trained on G's samples only, also covers real images G does not draw (not in "
                        "the paper; images only; that E-step runs without XLA; default: off). A --resume or "
                        "--branch-from may switch it")
    g.add_argument("--e-augment-start", type=int, metavar="S",
                   help="with --e-augment, jitter only from EM iteration S + 1 on (default: 0, from the first). "
                        "Unsupervised runs need a late start: jittered from the first iteration, while G's classes "
                        "mean nothing yet, the E-net lumps them and the clustering collapses (paper_repro/RESULTS.md, "
                        "thirty-sixth session). A --resume or --branch-from may change it")
    g.add_argument("--reset-optimizers", action=argparse.BooleanOptionalAction, default=None,
                   help="start every EM iteration with fresh optimizer state (step count and moments zeroed), as "
                        "the authors' code does by re-creating its optimizers (default: off, state carried over)")
    g.add_argument("--split-merge-every", type=int, metavar="N",
                   help="N > 0: after every N-th EM iteration, one split-and-merge move on w (Ueda et al. 2000, "
                        "adapted): the cluster D's class unit separates worst from G's fakes is split in two by "
                        "k-means on D's features, into the column freed by merging the two clusters whose "
                        "posteriors correlate most. For clustering only; not in the paper (default: 0, off)")
    g.add_argument("--split-merge-start", type=int, metavar="S",
                   help="with --split-merge-every N: the first move follows EM iteration S, then S+N, S+2N, ... "
                        "Moves help once the partition has settled and hurt from the start (paper_repro/RESULTS.md) "
                        "(default: 0, i.e. moves after iterations N, 2N, ...)")
    g.add_argument("--split-merge-mode", choices=SPLIT_MERGE_MODES,
                   help="the move: smem splits one cluster and merges two others (above); pair pools the two "
                        "clusters whose posteriors correlate most and splits them again by the same 2-means, one "
                        "half per column; cross splits every cluster by that 2-means and, for the two clusters "
                        "whose splits point the same way in D's features, joins the matching halves (two clusters "
                        "each holding the same two digits half and half become one per digit; on MNIST-test it "
                        "often picks two pure clusters of similar digits instead, paper_repro/RESULTS.md); "
                        "alternate makes smem and pair moves in turn, smem first (default: smem)")
    g.add_argument("--split-merge-whiten", type=int, metavar="d",
                   help="with moves (--split-merge-every or -final): split the chosen cluster by 2-means on the "
                        "top d principal components of D's features, each scaled to unit variance, instead of on "
                        "the raw features (default: 0, raw features)")
    g.add_argument("--split-merge-m-epochs", type=int, metavar="E",
                   help="with moves (--split-merge-every or -final): the M-step right after a move runs E "
                        "epochs instead of --m-epochs p, so G learns the moved clusters before the E-net is "
                        "trained on its samples (default: 0, i.e. p)")
    g.add_argument("--split-merge-hold", type=int, metavar="H",
                   help="with --split-merge-every: for the H EM iterations after a move, w keeps the moved labels "
                        "instead of being replaced by E(x) (Algorithm 1, line 13), so G and D train on the new "
                        "clusters before the E-net deals the reals out again; the log shows the share of images whose "
                        "E(x) already agrees with the held labels (default: 0, off)")
    g.add_argument("--split-merge-final", type=int, metavar="F",
                   help="F > 0: one last move after EM iteration F, of --split-merge-final-mode and held for "
                        "--split-merge-final-hold iterations; the moves every N stop before F and none follow it. "
                        "A move picked by the cross chooser can be wrong; this makes one, gives it time to take "
                        "and leaves the partition alone after (paper_repro/RESULTS.md) (default: 0, off)")
    g.add_argument("--split-merge-final-mode", choices=FINAL_MOVE_MODES,
                   help="with --split-merge-final: the kind of the last move, as in --split-merge-mode; "
                        "cross-if-correlated: the cross move only where the pair it picks is also the pair whose "
                        "posteriors correlate most, else none; cross-graph: the cross move's pair, dealt out again "
                        "by a spectral cut of the 5-nearest-neighbour graph of its images (top 50 principal "
                        "components) instead of D's features; none: no last move, the moves every N just stop "
                        "before F (default: cross)")
    g.add_argument("--split-merge-final-hold", type=int, metavar="H",
                   help="with --split-merge-final: w keeps the last move's labels for H EM iterations, as "
                        "--split-merge-hold does for the others; may exceed --split-merge-every (default: 0)")
    g.add_argument("--split-merge-protect-new", action=argparse.BooleanOptionalAction, default=None,
                   help="with --split-merge-every (smem): the column a move fills with a split half is not merged "
                        "away by the next move. Without it the next move merges that new cluster in most runs "
                        "measured (paper_repro/RESULTS.md) (default: off)")
    g.add_argument("--grow-from", type=int, metavar="K0",
                   help="coarse to fine, for --clusters K above the number of classes: use only K0 of the K "
                        "clusters up to --grow-after T, then split the largest cluster in two (as --grow-split says) "
                        "until all K are used, each new class starting as a copy of its parent in G, D and the "
                        "E-net. Moves before T act on the K0. Not in the paper (default: 0, all K from the start)")
    g.add_argument("--grow-after", type=int, metavar="T",
                   help="with --grow-from: the EM iteration after which the K0 clusters are split into K; the "
                        "M-step after it runs --split-merge-m-epochs when given")
    g.add_argument("--grow-hold", type=int, metavar="H",
                   help="with --grow-from: w keeps the split labels for H EM iterations after T instead of being "
                        "replaced by E(x), as --split-merge-hold does after a move (default: 0)")
    g.add_argument("--grow-split", choices=GROW_SPLITS,
                   help="with --grow-from: how the growth cuts the largest cluster in two: 2means (2-means on D's "
                        "features, --split-merge-whiten applies) or graph (spectral cut of the 5-NN graph of D's "
                        "features' top 50 principal components, which follows chains of near neighbours rather "
                        "than the widest spread; K = 20 and 30 on MNIST end lower with it, paper_repro/RESULTS.md); "
                        f"may be changed by --resume / --branch-from before T (default: {TrainConfig.grow_split})")
    g.add_argument("--weight-init", choices=("glorot", "normal"),
                   help="kernel initialisation of G, D and E: glorot (Keras' default) or normal, N(0, 0.02) as the "
                        "authors' code initialises its conv, transposed-conv and linear layers (default: glorot)")
    g.add_argument("--net-width", type=float, metavar="W",
                   help="multiply the filters and units of every hidden layer of G, D and the E-net by W (default: 1, "
                        "the authors' networks); 0.5 costs about a third of the time per step on a CPU")
    g.add_argument("--fake-targets", choices=("all", "own"),
                   help="class units trained toward 0 on fakes: all (Eq. 2) or only the fake's own class (Eq. 16)")
    g.add_argument("--e-class-prior", choices=("phi", "uniform"),
                   help="classes c of the E-step's generated batches: phi draws c ~ φ (paper Eq. 5), so cluster "
                        "sizes follow the data; uniform gives every class the same share of each batch, as the "
                        "authors' code does, which pulls the clusters toward equal sizes (default: the --config "
                        "preset's: uniform for authors, phi for paper)")
    g = c.add_argument_group("semi-supervised classification (§5.3) and dimensionality reduction (§5.4)")
    g.add_argument("--labels", type=int, default=0, metavar="N",
                   help="N > 0: semi-supervised; N labelled examples (balanced per class, fixed by --seed) train the "
                        "E-net after every E-step; the score is the classification error on held-out data (the test "
                        "split with --split train, else the unlabelled rest). Needs --clusters = number of classes "
                        "(default: 0, unsupervised)")
    g.add_argument("--epsilon", type=float, metavar="ε",
                   help="with --labels: train on the labelled examples until the E-net's error on them is below ε; "
                        "may change on --resume (default: 0.05)")
    g.add_argument("--label-steps", type=int, metavar="N",
                   help="with --labels: at most N steps on the labelled examples per E-step, rounded up to whole "
                        "error checks of 20 steps (or one pass over them when longer); the stopping rule when ε is "
                        "not reached, e.g. with --epsilon 0 (1000 steps add ~100 s per EM iteration on MNIST-test "
                        "on 2 CPU cores); "
                        "may change on --resume (default: 1000)")
    g.add_argument("--label-lr", type=float, metavar="LR",
                   help="with --labels: learning rate of the E-net's steps on the labelled examples, decayed per EM "
                        "iteration like the others; may change on --resume (default: the E-step's rate, --lr-e)")
    g.add_argument("--embed-dim", type=int, default=0, metavar="k",
                   help="k > 0: insert layer r of k units before the E-net's output; writes embedding.npy, "
                        "embedding.png (t-SNE for k > 2) and adds an 'embed' endpoint to the SavedModel (default: 0)")
    r = c.add_argument_group("runtime")
    r.add_argument("--seed", type=int, default=0, help="seed of weights, noise and shuffling (default: 0)")
    r.add_argument("--strategy", default="auto", choices=STRATEGIES,
                   help="auto: MirroredStrategy when more than one GPU is visible (default); "
                        "mirrored: always; default: one device")
    r.add_argument("--xla", action=argparse.BooleanOptionalAction, default=True,
                   help="compile train steps with XLA (default: on; about 2x faster on CPU)")
    r.add_argument("--mixed-precision", action="store_true", help="mixed_bfloat16 policy (GPUs / bf16 CPUs)")
    r.add_argument("--deterministic", action="store_true",
                   help="enable TF op determinism (bit-identical reruns and resumes; slower)")
    r.add_argument("--quiet", "-q", action="store_true", help="print only the final summary line")
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="a Keras progress bar for every M- and E-step (default: on; the per-iteration log line "
                        "is printed either way)")
    o = c.add_argument_group("output")
    o.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder to write (must be new or empty)")
    o.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    o.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last completed EM iteration with its config.json. "
                        "Only --iterations (to extend a finished run or end earlier), --epsilon, --label-steps, "
                        "--label-lr, --keep-every, --e-augment, --e-augment-start, --grow-split (before the growth), --lr-decay and "
                        "--lr-decay-start (where the completed iterations' rates stay as they were) and the "
                        "--split-merge-* flags may change, and are written to config.json; other training flags are "
                        "ignored")
    o.add_argument("--branch-from", metavar="PATH",
                   help="start the new run in --out from a copy of another run's checkpoint: PATH is a run folder "
                        "(its newest checkpoint) or one of its checkpoints/iter-NNNN folders (see --keep-every). The "
                        "new run takes that run's config.json and continues as --resume would, with the same flags "
                        "allowed to change; the source run is only read")
    o.add_argument("--keep-every", type=int, metavar="N",
                   help="also keep the checkpoint after every N-th EM iteration, to branch from later "
                        "(default: only the newest; one MNIST checkpoint is ~190 MB)")
    o.add_argument("--no-export", action="store_true", help="skip writing saved_model/ at the end")
    c.set_defaults(func=cmd_cluster)

    b = sub.add_parser("baseline", help="k-means / GMM / labels-only baselines scored with the same metrics",
                       description="Run scikit-learn k-means (n_init=10) and/or a diagonal GMM on raw pixels; with "
                                   "--labels N also GAN-EM's E-net trained on the N labelled examples alone "
                                   "(labels-only: the reference row of the semi-supervised columns).")
    _add_data_args(b)
    b.add_argument("--method", default="all", choices=("kmeans", "gmm", "labels-only", "all"),
                   help="which baseline (default: all = kmeans and gmm, plus labels-only when --labels is given)")
    b.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds to average over (default: 0 1 2)")
    lo = b.add_argument_group("labels-only (scored like gan-em cluster --labels N: on the test split after "
                             "--split train, else on the unlabelled rest)")
    lo.add_argument("--labels", type=int, metavar="N",
                   help="labelled examples, balanced per class and picked by the seed as in gan-em cluster")
    lo.add_argument("--label-steps", type=int, default=LABELS_ONLY_STEPS, metavar="N",
                   help=f"training steps on the labelled examples (default: {LABELS_ONLY_STEPS})")
    lo.add_argument("--config", default=DEFAULT_PRESET, choices=list(PRESETS),
                   help=f"the preset whose E-net, batch size and optimizer are used (default: {DEFAULT_PRESET})")
    lo.add_argument("--lr", type=float, default=LABELS_ONLY_LR, metavar="LR",
                   help=f"learning rate (default: {LABELS_ONLY_LR:g}, the best of 6e-5 to 1e-2 on MNIST-test; "
                        "the preset's own E-net rate under-trains it)")
    b.add_argument("--out", metavar="FILE.json", help="also write the results as JSON")
    b.set_defaults(func=cmd_baseline)

    e = sub.add_parser("export", help="export a run as a SavedModel (assign, generate endpoints)",
                       description="Rebuild a run's networks from its newest checkpoint and write a SavedModel.")
    e.add_argument("run_dir", metavar="RUN_DIR", help="the --out folder of a cluster run")
    e.add_argument("dest", metavar="DEST", help="folder to write the SavedModel into")
    e.add_argument("--overwrite", action="store_true", help="replace DEST if it exists")
    e.set_defaults(func=cmd_export)

    s = sub.add_parser("bench", help="images/s of the M- and E-step (Keras train_step vs a bare tf.function loop)",
                       description="Time the paper's 28x28 networks on random data, XLA on and off.")
    s.add_argument("--batch-size", type=int, default=70, help="M-step batch (default: 70, the authors')")
    s.add_argument("--e-batch-size", type=int, default=200, help="E-step batch (default: 200)")
    s.add_argument("--steps", type=int, default=40, help="timed steps per measurement (default: 40)")
    s.add_argument("--warmup", type=int, default=5, help="untimed steps first (default: 5)")
    s.add_argument("--repeats", type=int, default=3,
                   help="time Keras and bare alternately this many times and report the medians (default: 3)")
    s.add_argument("--xla", choices=("on", "off", "both"), default="both", help="XLA settings to time (default: both)")
    s.add_argument("--mixed-precision", action="store_true", help="time the mixed_bfloat16 policy instead of float32")
    s.add_argument("--out", metavar="FILE.json", help="also write the results as JSON")
    s.set_defaults(func=cmd_bench)
    return parser


def _train_config(a):
    from gan_em_tf.config import train_preset

    t = train_preset(a.config)
    overrides = {"batch_size": a.batch_size, "e_batch_size": a.e_batch_size, "lr_g": a.lr_g, "lr_d": a.lr_d,
                 "lr_e": a.lr_e, "lr_decay": a.lr_decay, "lr_decay_start": a.lr_decay_start,
                 "generator_loss": a.generator_loss,
                 "d_fake_targets": a.fake_targets, "e_class_prior": a.e_class_prior, "init": a.init,
                 "info_weight": a.info_weight, "enet_batchnorm": a.enet_batchnorm, "e_augment": a.e_augment,
                 "e_augment_start": a.e_augment_start,
                 "reset_optimizers": a.reset_optimizers, "grow_from": a.grow_from, "grow_after": a.grow_after,
                 "grow_hold": a.grow_hold, "grow_split": a.grow_split,
                 "g_class_start": a.g_class_start, "weight_init": a.weight_init, "net_width": a.net_width,
                 **_split_merge_flags(a)}
    return dataclasses.replace(t, **_given(**overrides))


def _split_merge_flags(a) -> dict:
    """The --split-merge-* flags as TrainConfig fields (None where not given); --resume and --branch-from take
    them too."""
    return {"split_merge_every": a.split_merge_every, "split_merge_start": a.split_merge_start,
            "split_merge_whiten": a.split_merge_whiten, "split_merge_mode": a.split_merge_mode,
            "split_merge_m_epochs": a.split_merge_m_epochs, "split_merge_hold": a.split_merge_hold,
            "split_merge_protect_new": a.split_merge_protect_new, "split_merge_final": a.split_merge_final,
            "split_merge_final_mode": a.split_merge_final_mode, "split_merge_final_hold": a.split_merge_final_hold}


def _check_out_file(path: str | None) -> None:
    """Fail before the work, not after it, when ``--out FILE.json`` cannot be written."""
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path) or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise UserError(f"cannot write --out {path} (no such writable folder, or it is a folder); "
                        "pass a file path in a writable folder")


def _write_out(path: str, payload: dict) -> None:
    """The JSON of ``--out FILE.json`` (baseline, bench); an unwritable path is a one-line error."""
    from gan_em_tf import rundir

    try:
        rundir.write_json(path, payload)
    except OSError as e:
        raise UserError(f"cannot write --out {path} ({e.strerror}); pass a writable file path") from None


def _given(**flags) -> dict:
    """The flags the user passed (argparse leaves the others None), to override a config with."""
    return {k: v for k, v in flags.items() if v is not None}


def _positive(name: str, value) -> None:
    if value is not None and value < 1:
        raise UserError(f"{name} must be a positive integer, got {value}")


def _supervision_flags(a) -> dict:
    """--epsilon, --label-steps and --label-lr as given, as SupervisionConfig fields."""
    return _given(epsilon=a.epsilon, max_steps=a.label_steps, lr=a.label_lr)


def _resumed_config(a, cfg):
    """The run's config.json with the few settings a resume may change: ``--iterations`` (extend or end the run
    earlier), ``--epsilon``, ``--label-steps``, ``--label-lr``, ``--keep-every``, ``--e-augment`` (and its start), the split/merge
    schedule, ``--grow-split`` and the learning-rate decay, which only act on iterations still to come."""
    from gan_em_tf import rundir
    from gan_em_tf.gan_em import checks

    done = rundir.completed_iterations(a.out)
    if a.iterations is not None and a.iterations < done:
        raise UserError(f"--iterations {a.iterations}: {a.out} has already completed {done} EM "
                        f"iterations; pass at least {done}")
    cfg.schedule = dataclasses.replace(cfg.schedule, **_given(iterations=a.iterations))
    checks.grow_split_change(cfg, a.grow_split, done)
    train = dataclasses.replace(cfg.train, **_given(**_split_merge_flags(a), e_augment=a.e_augment,
                                                     e_augment_start=a.e_augment_start,
                                                     grow_split=a.grow_split, lr_decay=a.lr_decay,
                                                     lr_decay_start=a.lr_decay_start))
    checks.lr_schedule_change(cfg.train, train, done)
    cfg.train = train
    cfg.runtime = dataclasses.replace(cfg.runtime, **_given(keep_every=a.keep_every))
    cfg.supervision = dataclasses.replace(cfg.supervision, **_supervision_flags(a))
    return cfg  # the run writes it to config.json once it has checked it


def cmd_cluster(a) -> int:
    from gan_em_tf import rundir

    for flag in ("iterations", "first_m_epochs", "e_steps", "batch_size", "e_batch_size", "g_class_start",
                 "keep_every"):
        _positive("--" + flag.replace("_", "-"), getattr(a, flag))
    rundir.check_not_in_use(a.out)  # before --overwrite or --resume touch it
    if a.m_epochs is not None and not a.m_epochs > 0:
        raise UserError(f"--m-epochs must be a positive number of passes (0.5 = half a pass), got {a.m_epochs}")
    if not a.branch_from:
        return _cluster(a, resume=a.resume, overwrite=a.overwrite)
    if a.resume:
        raise UserError("--branch-from starts a new run in --out; --resume continues the run already there; pass one")
    source_run, ckpt = rundir.branch_source(a.branch_from)
    if os.path.abspath(source_run) == os.path.abspath(a.out):
        raise UserError(f"--out {a.out} is the run --branch-from reads; choose a new --out")
    rundir.prepare(a.out, overwrite=a.overwrite, resume=False)
    rundir.branch(source_run, ckpt, a.out)
    try:
        return _cluster(a, resume=True, overwrite=False)  # --overwrite already acted on --out
    except UserError:
        if rundir.completed_iterations(a.out) == rundir.checkpoint_iteration(ckpt):
            shutil.rmtree(a.out, ignore_errors=True)  # nothing trained yet: leave no half-made branch behind
        raise


def _cluster(a, resume: bool, overwrite: bool) -> int:
    """A new run, or (``resume``) the run in --out continued from its newest checkpoint."""
    from gan_em_tf import data as data_lib
    from gan_em_tf import rundir
    from gan_em_tf.config import RunConfig, RuntimeConfig, SupervisionConfig, default_schedule
    from gan_em_tf.gan_em import checks

    if resume:
        rundir.prepare(a.out, overwrite=overwrite, resume=True)
        cfg = _resumed_config(a, RunConfig.from_dict(rundir.read_json(os.path.join(a.out, "config.json"))))
    else:
        train = _train_config(a)
        runtime = RuntimeConfig(strategy=a.strategy, jit_compile=a.xla, mixed_precision=a.mixed_precision,
                                seed=a.seed, deterministic=a.deterministic, keep_every=a.keep_every or 0,
                                verbose=0 if a.quiet else (2 if a.progress else 1))
        if a.labels < 0:
            raise UserError(f"--labels must be 0 (unsupervised) or positive, got {a.labels}")
        cfg = RunConfig(clusters=a.clusters, embed_dim=a.embed_dim, data=_data_config(a), train=train,
                        runtime=runtime, supervision=SupervisionConfig(labels=a.labels, **_supervision_flags(a)))
    if a.grow_split and not cfg.train.grow_from:
        raise UserError("--grow-split chooses how the --grow-from growth splits a cluster; add --grow-from K0 "
                        "(this run has no growth)")
    if not cfg.semi_supervised and _supervision_flags(a):
        raise UserError("--epsilon, --label-steps and --label-lr act on the labelled examples; add --labels N "
                        "(this run has none)")
    dataset = data_lib.load(cfg.data)
    heldout = data_lib.load_heldout(cfg.data) if cfg.semi_supervised else None
    if not resume:
        sched = default_schedule(len(dataset), cfg.train.batch_size)
        cfg.schedule = dataclasses.replace(sched, **_given(iterations=a.iterations, m_epochs=a.m_epochs,
                                                           first_m_epochs=a.first_m_epochs, e_steps=a.e_steps))
    checks.validate(cfg, dataset)  # bad flags fail here, before TensorFlow starts and before --out is touched
    if not resume:
        rundir.prepare(a.out, overwrite=overwrite, resume=False)
    from gan_em_tf.gan_em import loop

    with rundir.lock(a.out):
        summary = loop.run(cfg, a.out, resume=resume, dataset=dataset, export=not a.no_export, heldout=heldout,
                           log=(lambda *_: None) if cfg.runtime.verbose == 0 else (lambda m: print(m, flush=True)),
                           stop_requested=lambda: bool(_stopped_by))
    keys = ("task", "acc", "nmi", "ari", "purity", "error", "mean_attribute_error", "embedding_knn_acc", "clusters",
            "n_samples", "seconds", "seed")
    print(json.dumps({k: summary.get(k) for k in keys if k in summary}))
    return 0


def cmd_baseline(a) -> int:
    from gan_em_tf import baselines
    from gan_em_tf import data as data_lib

    _check_out_file(a.out)
    if a.method == "labels-only" and a.labels is None:
        raise UserError("--method labels-only trains on labelled examples; add --labels N")
    if a.labels is not None and a.method in baselines.METHODS:
        raise UserError(f"--labels is for --method labels-only (or all); {a.method} does not use labels")
    data_cfg = _data_config(a)
    dataset = data_lib.load(data_cfg)
    if a.labels is not None:  # TensorFlow only when the E-net is trained, and only after the checks
        from gan_em_tf.config import train_preset
        from gan_em_tf.gan_em import checks

        checks.labels_only_flags(dataset, a.labels, a.label_steps, a.lr)
        from gan_em_tf.gan_em import labels_only
    methods = [m for m in baselines.METHODS if a.method in (m, "all")]
    results = [baselines.run(m, dataset.x, dataset.y, a.clusters, a.seeds) for m in methods]
    if a.labels is not None:
        results.append(labels_only.run(dataset, data_lib.load_heldout(data_cfg), a.labels, a.seeds,
                                       train_preset(a.config), a.label_steps, a.lr))
    for r in results:
        if dataset.y is None:
            print(f"{r['method']:11s} K={r['clusters']} (no labels to score)")
            continue
        cells = " ".join(f"{k}={r[k]['mean']:.3f}±{r[k]['sd']:.3f}" for k in ("acc", "nmi", "ari", "purity", "error"))
        setting = f"K={r['clusters']}" if "clusters" in r else f"labels={r['labels']} steps={r['steps']}"
        print(f"{r['method']:11s} {dataset.name} N={r['n_samples']} {setting} seeds={a.seeds}: {cells}")
    if a.out:
        _write_out(a.out, {"dataset": dataset.name, "results": results})
    return 0


def cmd_export(a) -> int:
    from gan_em_tf import export

    names = export.export_run(a.run_dir, a.dest, overwrite=a.overwrite)
    print(f"wrote SavedModel to {a.dest} (endpoints: {', '.join(names)})")
    return 0


def cmd_bench(a) -> int:
    from gan_em_tf import bench

    for flag in ("batch_size", "e_batch_size", "steps", "warmup", "repeats"):
        _positive("--" + flag.replace("_", "-"), getattr(a, flag))
    _check_out_file(a.out)
    settings = {"on": [True], "off": [False], "both": [False, True]}[a.xla]
    results = bench.run(a.batch_size, a.e_batch_size, a.steps, a.warmup, settings, a.mixed_precision, a.repeats)
    print(bench.format_table(results))
    dtype = "bfloat16" if a.mixed_precision else "float32"
    peak = max(bench.matmul_gflops(xla=xla, dtype=dtype) for xla in (False, True))
    gflop = bench.M_STEP_GFLOP_PER_IMAGE * a.batch_size
    print(f"{dtype} 2048x2048 matmul on this machine (best of XLA on/off): {peak:.0f} GFLOP/s; one M-step of batch "
          f"{a.batch_size} costs ~{gflop:.1f} GFLOP, so this rate bounds the M-step at ~{peak / gflop:.1f} steps/s")
    if a.out:
        _write_out(a.out, {"results": results, "matmul_gflops": peak, "matmul_dtype": dtype})
    return 0


_STOP_SIGNALS = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}  # ours: Python's defaults
_stopped_by: list[int] = []  # the signal that asked this process to stop, once one has


def _interrupt(signum, frame):
    """Ctrl-C (SIGINT) and ``kill PID`` (SIGTERM, a job scheduler) end a run: the lock is released, the hint printed.

    The KeyboardInterrupt raised here can land inside a callback from TensorFlow's C++ (tracing a function,
    flattening a structure), which hands it on as a SystemError or AttributeError, or swallows it; the signal is
    remembered so that `main` ends such an error as interrupted and the EM loop stops after its next checkpoint.
    Checkpoints are written atomically, so none is torn."""
    _stopped_by.append(signum)
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    _stopped_by.clear()
    for signum, default in _STOP_SIGNALS.items():
        if signal.getsignal(signum) is default:  # leave a handler the embedding program set alone
            with contextlib.suppress(ValueError):  # only the main thread may set handlers; elsewhere keep the default
                signal.signal(signum, _interrupt)
    try:
        return args.func(args)
    except UserError as e:
        print(f"gan-em: error: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception:
        if not _stopped_by:
            raise
        return _interrupted()
    except KeyboardInterrupt:
        return _interrupted()


def _interrupted() -> int:
    print("gan-em: interrupted; continue with --resume", file=sys.stderr)
    return 130


if __name__ == "__main__":
    raise SystemExit(main())
