"""The ``gan-em`` command line: a thin caller of the library.

    gan-em cluster  --dataset digits --out runs/digits     # cluster with the recipe measured best for the data
    gan-em recipes                                         # the named recipes and their values
    gan-em baseline --dataset digits --method all          # k-means / GMM, same metrics
    gan-em embed-sae --dataset digits --out sae/           # DEC's stacked autoencoder and its 10-D codes
    gan-em export   runs/digits exported/                  # SavedModel for serving
    gan-em bench                                           # steps/s of the training phases

Bad input ends with one line on stderr naming the flag to fix, exit status 2.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys

import numpy as np

from gan_em_tf import tf_startup
from gan_em_tf.errors import UserError

EXIT_USER_ERROR = 2
# options that are gone, and what replaces them (None: nothing; the measurements said they did not help)
REMOVED = {
    "--config": "--recipe (paper, authors, …; see gan-em recipes)",
    "--first-m-epochs": "the recipe's first M-step (cpu-semi)", "--g-class-start": "the recipe (cpu-semi)",
    "--info-weight": None, "--enet-batchnorm": None, "--no-enet-batchnorm": None, "--reset-optimizers": None,
    "--no-reset-optimizers": None, "--weight-init": None, "--fake-targets": None, "--label-lr": None,
    "--lr-decay-start": "the recipe (cpu-fig3), or --lr-decay on --resume",
    "--e-augment-start": "the recipe (cpu-fig3)", "--grow-after": "the recipe (cpu-grow)",
    "--grow-hold": "the recipe (cpu-grow)", "--grow-split": "the recipe (cpu-grow: graph cuts)",
    **{f"--split-merge-{name}": "the recipe's moves (--recipe cpu)" for name in (
        "every", "start", "mode", "whiten", "m-epochs", "hold", "final", "final-mode", "final-hold",
        "protect-new", "no-protect-new")},
}


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
    g.add_argument("--limit", type=int, metavar="N", help="use only the first N samples (with --classes: the "
                   "first N of each class, in the data's own order)")
    g.add_argument("--classes", type=_int_list, metavar="C,C,...",
                   help="only these classes (e.g. 0,1,2,3,4), relabelled 0..C-1 in the order given (default: all)")
    g.add_argument("--clusters", "-k", type=int, default=10, metavar="K", help="number of clusters K (default: 10)")
    g.add_argument("--image-size", type=int, default=64, metavar="S",
                   help="celeb_a: side of the resized 140x140 centre crop (default: 64)")
    g.add_argument("--attribute", metavar="NAME",
                   help="celeb_a: the binary attribute used as the label (e.g. Eyeglasses), or several "
                        "(Black_Hair,Blond_Hair,...): class i = the images with exactly the i-th of them; without it "
                        "a clustering run is scored against all 40 attributes")


def _count_or_fraction(text: str) -> int | float:
    """--labels: a count N (an integer) or a fraction α in (0, 1) of the samples."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a count such as 100 or a fraction such as 0.1, got {text!r}") \
            from None
    if value.is_integer() and "." not in text:
        return int(value)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"a fraction of the samples must be in (0, 1), got {text}")
    return value


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated class ids such as 0,1,2, got {text!r}") from None


def _data_config(a):
    from gan_em_tf.config import DataConfig

    per_class = a.limit if a.classes is not None else None
    return DataConfig(dataset=a.dataset, data_dir=a.data_dir, data_file=a.data_file, split=a.split,
                      limit=None if per_class else a.limit, classes=a.classes, per_class=per_class,
                      image_size=a.image_size, attribute=a.attribute)


def _method_flags(method: str = "gan-em"):
    from gan_em_tf import flags, methods

    own = methods.module(method, "flags")
    return getattr(own, "SCHEDULE", flags.SCHEDULE) + own.FLAGS, own.SUPERVISION


def _foreign_flags(method: str) -> dict:
    """{flag name: the methods that take it} for the flags of other methods that ``method`` does not take."""
    from gan_em_tf import methods

    def names(flag):  # a boolean flag also answers to --no-NAME
        boolean = flag.kwargs.get("action") is argparse.BooleanOptionalAction
        return [flag.name] + (["--no-" + flag.name[2:]] if boolean else [])

    own = {name for group in _method_flags(method) for f in group for name in names(f)}
    foreign = {}
    for other in methods.NAMES:
        for group in _method_flags(other):
            for name in (n for f in group for n in names(f)):
                if name not in own:
                    foreign.setdefault(name, set()).add(other)
    return foreign


def _method_in(argv: list[str]) -> str:
    """The --method named in argv (the default when none is, or the value is not a method)."""
    from gan_em_tf import methods

    for i, token in enumerate(argv):
        if token == "--method" and i + 1 < len(argv) and argv[i + 1] in methods.NAMES:
            return argv[i + 1]
        if token.startswith("--method=") and token.split("=", 1)[1] in methods.NAMES:
            return token.split("=", 1)[1]
    return methods.DEFAULT


class OneLineParser(argparse.ArgumentParser):
    """argparse's errors (an unknown flag, a value outside its choices) as one line, like every other bad input."""

    def error(self, message):
        self.exit(2, f"gan-em: error: {message} (see {self.prog} --help)\n")


def build_parser(method: str | None = None) -> argparse.ArgumentParser:
    """The parser; ``cluster`` shows the flags of ``method`` (default: GAN-EM's). Other methods' flags are
    accepted only to be refused with a one-line error that names their method."""
    from gan_em_tf import methods
    from gan_em_tf.config import DEC_STEPS, LABELS_ONLY_LR, LABELS_ONLY_STEPS, STRATEGIES

    method = method or methods.DEFAULT
    parser = OneLineParser(prog="gan-em", description=__doc__.split("\n\n")[0],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("cluster", help="cluster a dataset (GAN-EM, paper Algorithm 1)", allow_abbrev=False,
                       description="Train and write a run folder: config.json, metrics.csv, summary.json, "
                                   "assignments.npy, samples.png, convergence.png, checkpoints/, saved_model/. "
                                   "Without --recipe the run takes the recipe measured best for its data "
                                   "(gan-em recipes lists them).")
    _add_data_args(c)
    g = c.add_argument_group("run")
    recipe_help = ("named settings (gan-em recipes lists them with their values): paper, authors, small, "
                   "small-semi, cpu, cpu-grow, cpu-semi, cpu-fig3. Default: small (small-semi with --labels) "
                   "for small images and vectors; for larger images cpu, cpu-grow above 10 clusters, "
                   "cpu-semi with --labels, authors for K = 2. Any flag below overrides one of its values")
    if method != methods.DEFAULT:
        recipe_help = (f"named settings of --method {method} (gan-em recipes --method {method} lists them with their "
                       f"values): {', '.join(methods.module(method, 'recipes').RECIPES)}. Any flag below overrides "
                       "one of its values")
    g.add_argument("--recipe", metavar="NAME", help=recipe_help)
    g.add_argument("--method", default=methods.DEFAULT, choices=methods.NAMES, help=argparse.SUPPRESS)
    g.add_argument("--labels", type=_count_or_fraction, default=0, metavar="N",
                   help="N > 0: semi-supervised: N labelled examples, or a fraction α < 1 of the samples (e.g. "
                        "0.1), balanced per class and fixed by --seed (GAN-EM trains its E-net on them after every "
                        "E-step, §5.3; DNN-MM gives them crisp memberships, Eq. 13); scored as a classifier on the "
                        "test split after the whole --split train, else (or with --limit) on the unlabelled rest. "
                        "Needs --clusters = number of classes (default: 0)")
    g.add_argument("--embed-dim", type=int, default=0, metavar="k",  # GAN-EM's alone: the others refuse it (checks)
                   help="k > 0: layer r of k units before the E-net's output (§5.4); writes embedding.npy, "
                        "embedding.png (t-SNE for k > 2) and an 'embed' SavedModel endpoint (default: 0)"
                        if method == methods.DEFAULT else argparse.SUPPRESS)
    schedule_and_training, supervision = _method_flags(method)
    for flag in schedule_and_training[:1]:  # --iterations is an everyday flag
        flag.add_to(g)
    g.add_argument("--seed", type=int, default=0, help="seed of weights, noise and shuffling (default: 0)")
    o = c.add_argument_group("output")
    o.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder to write (must be new or empty)")
    o.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    o.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its newest checkpoint with its config.json. It takes only "
                        "--iterations (to extend it), --epsilon, --label-steps, --e-augment, --lr-decay and the "
                        "output and runtime flags; others are refused")
    o.add_argument("--branch-from", metavar="PATH",
                   help="start a new run in --out from a copy of another run's checkpoint (a run folder: its "
                        "newest; or one of its checkpoints/iter-NNNN) and continue as --resume would, with the "
                        "same flags allowed; the source run is only read")
    o.add_argument("--keep-every", type=int, metavar="N",
                   help="also keep the checkpoint after every N-th EM iteration, to branch from later "
                        "(default: only the newest; one full-width MNIST checkpoint is ~190 MB)")
    o.add_argument("--no-export", action="store_true", help="skip writing saved_model/ at the end")
    o.add_argument("--no-tensorboard", action="store_true",
                   help="skip RUN_DIR/tensorboard/ (default: scores, losses and the samples grid per EM iteration, "
                        "for `tensorboard --logdir RUN_DIR`)")
    o.add_argument("--quiet", "-q", action="store_true", help="print only the final summary line")
    o.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="a progress bar for every M- and E-step (default: on; the per-iteration line is "
                        "printed either way)")
    o.add_argument("--verbose", action="store_true",
                   help="also show TensorFlow's C++ start-up log (hidden unless TF_CPP_MIN_LOG_LEVEL is set)")
    a = c.add_argument_group(f"advanced: training of {method} (default: the recipe's values)")
    for flag in schedule_and_training[1:]:
        flag.add_to(a)
    if supervision:
        s = c.add_argument_group("advanced: semi-supervised (with --labels)")
        for flag in supervision:
            flag.add_to(s)
    for name in _foreign_flags(method):
        c.add_argument(name, nargs="?", const=True, default=None, dest="foreign_" + name.strip("-").replace("-", "_"),
                       help=argparse.SUPPRESS)
    r = c.add_argument_group("advanced: runtime")
    r.add_argument("--strategy", default="auto", choices=STRATEGIES,
                   help="auto: MirroredStrategy when more than one GPU is visible (default); mirrored: always; "
                        "multi-worker: one of the workers in TF_CONFIG (start every worker with the same flags; "
                        "the first writes --out); default: one device")
    r.add_argument("--xla", action=argparse.BooleanOptionalAction, default=None,
                   help="compile the train steps with XLA (default: on; 3x faster on the digits on a CPU); on a CPU "
                        "convolutional networks run without it, on TensorFlow's faster CPU kernels")
    r.add_argument("--mixed-precision", action="store_true", help="mixed_bfloat16 policy (GPUs, bf16 CPUs)")
    r.add_argument("--deterministic", action="store_true",
                   help="TensorFlow op determinism: bit-identical reruns and resumes, slower")
    c.set_defaults(func=cmd_cluster)

    rc = sub.add_parser("recipes", help="list the named recipes and their values",
                        description="Each recipe with what it is for and every config value it sets.")
    rc.add_argument("names", nargs="*", metavar="NAME", help="only these recipes")
    rc.add_argument("--method", default=methods.DEFAULT, choices=methods.NAMES, help="whose recipes (default: gan-em)")
    rc.set_defaults(func=cmd_recipes)

    b = sub.add_parser("baseline",
                       help="k-means / GMM / Ward / t-SNE + Ward / labels-only baselines scored with the same metrics",
                       description="Run scikit-learn k-means (n_init=10), a diagonal GMM and/or Ward's agglomerative "
                                   "clustering (on 50 principal components or a t-SNE map of them) on raw pixels; with "
                                   "--labels N also GAN-EM's E-net trained on the N labelled examples alone "
                                   "(labels-only: the reference row of the semi-supervised columns).")
    _add_data_args(b)
    b.add_argument("--method", default="all",
                   choices=("kmeans", "gmm", "ward", "tsne-ward", "labels-only", "dec", "all"),
                   help="which baseline (default: all = kmeans and gmm, the papers' rows, plus labels-only when "
                        "--labels is given); ward: Ward's agglomerative clustering on 50 principal components; "
                        "tsne-ward: Ward's on a 2-D t-SNE map of them (both fit at most 10,000 rows and send the "
                        "rest to the nearest cluster; with --labels, the labelled classes spread over the map "
                        "instead: DNN-MM's start); dec: DEC (Xie et al. 2016) on the encoder of --sae")
    b.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds to average over (default: 0 1 2)")
    lo = b.add_argument_group("labels-only and tsne-ward with labels (scored like gan-em cluster --labels N: on "
                              "the test split after the whole --split train, else on the unlabelled rest)")
    lo.add_argument("--labels", type=_count_or_fraction, metavar="N",
                    help="labelled examples (a count, or a fraction α < 1 of the samples), balanced per class and "
                         "picked by the seed as in gan-em cluster; tsne-ward then spreads their classes over its "
                         "t-SNE map (DNN-MM's start with labels)")
    lo.add_argument("--label-steps", type=int, default=LABELS_ONLY_STEPS, metavar="N",
                    help=f"training steps on the labelled examples (default: {LABELS_ONLY_STEPS})")
    lo.add_argument("--recipe", default="authors", metavar="NAME",
                    help="the recipe whose E-net width, batch size and optimizer are used (default: authors)")
    lo.add_argument("--lr", type=float, default=LABELS_ONLY_LR, metavar="LR",
                    help=f"learning rate (default: {LABELS_ONLY_LR:g}, the best of 6e-5 to 1e-2 on MNIST-test; "
                         "the recipe's own E-net rate under-trains it)")
    b.add_argument("--sae", metavar="DIR",
                   help="with --method dec: the folder gan-em embed-sae wrote for the same data (its encoder is "
                        "DEC's starting point); without it an autoencoder is trained first, for each seed")
    b.add_argument("--sae-epochs", type=int, default=100, metavar="N",
                   help="with --method dec and no --sae: passes of the autoencoder's training (default: 100)")
    b.add_argument("--dec-steps", type=int, default=DEC_STEPS, metavar="N",
                   help=f"with --method dec: at most N steps of DEC's KL training, which ends earlier once fewer than "
                        f"0.1%% of the assignments change (default: {DEC_STEPS}, DEC's)")
    b.add_argument("--out", metavar="FILE.json", help="also write the results as JSON")
    b.set_defaults(func=cmd_baseline)

    sa = sub.add_parser("embed-sae", help="train DEC's stacked autoencoder and write the data's 10-D codes",
                        description="Train the d-500-500-2000-10 autoencoder of DEC on the data and write "
                                    "DIR/codes.npz (x: the codes, y: the labels; cluster them with --dataset file "
                                    "--data-file), its weights (for gan-em baseline --method dec --sae DIR) and "
                                    "sae.json.")
    _add_data_args(sa)
    sa.add_argument("--epochs", type=int, default=100, help="passes over the data (default: 100)")
    sa.add_argument("--seed", type=int, default=0, help="seed of the weights and the shuffling (default: 0)")
    sa.add_argument("--out", required=True, metavar="DIR", help="folder to write (must be new or empty)")
    sa.add_argument("--overwrite", action="store_true", help="replace an existing folder in --out")
    sa.add_argument("--resume", action="store_true", help="continue the interrupted training in --out from its "
                    "last finished pass (same data and --seed; the images' order in later passes differs)")
    sa.set_defaults(func=cmd_embed_sae)

    e = sub.add_parser("export", help="export a run as a SavedModel (assign, generate[, embed] endpoints)",
                       description="Rebuild a run's networks from its newest checkpoint and write a SavedModel.")
    e.add_argument("run_dir", metavar="RUN_DIR", help="the --out folder of a cluster run")
    e.add_argument("dest", metavar="DEST", help="folder to write the SavedModel into")
    e.add_argument("--overwrite", action="store_true", help="replace DEST if it exists")
    e.set_defaults(func=cmd_export)

    s = sub.add_parser("bench", help="steps/s of the training phases (Keras train_step vs a bare tf.function loop)",
                       description="Time a method's training phases on its 28x28 networks and random data, XLA on "
                                   "and off.")
    s.add_argument("--batch-size", type=int, default=70, help="M-step batch (default: 70, the authors')")
    s.add_argument("--e-batch-size", type=int, default=200, help="E-step batch (default: 200)")
    s.add_argument("--steps", type=int, default=40, help="timed steps per measurement (default: 40)")
    s.add_argument("--warmup", type=int, default=5, help="untimed steps first (default: 5)")
    s.add_argument("--repeats", type=int, default=3,
                   help="time Keras and bare alternately this many times and report the medians (default: 3)")
    s.add_argument("--xla", choices=("on", "off", "both"), default="both", help="XLA settings to time (default: both)")
    s.add_argument("--mixed-precision", action="store_true", help="time the mixed_bfloat16 policy instead of float32")
    s.add_argument("--method", default=methods.DEFAULT, choices=methods.NAMES,
                   help="whose phases: gan-em (M- and E-step), ganmm (K pairs in one step against one pair, and the "
                        "classifier), minmax-em or clustergan (the M-step; their E-step trains nothing) "
                        "(default: gan-em)")
    s.add_argument("--out", metavar="FILE.json", help="also write the results as JSON")
    s.set_defaults(func=cmd_bench)
    for p in (b, e, s, rc, sa):
        p.add_argument("--verbose", action="store_true", help=argparse.SUPPRESS)
    return parser


# ----------------------------------------------------------------------------- cluster
def cmd_cluster(a) -> int:
    from gan_em_tf import rundir

    if a.strategy == "multi-worker":
        _join_workers(a)
    else:
        rundir.check_not_in_use(a.out)  # before --overwrite or --resume touch it
    if not (a.resume or a.branch_from):
        _refuse_foreign(a)
    if not a.branch_from:
        return _cluster(a, resume=a.resume, overwrite=a.overwrite)
    if a.resume:
        raise UserError("--branch-from starts a new run in --out; --resume continues the run already there; pass one")
    source_run, ckpt = rundir.branch_source(a.branch_from)
    if os.path.abspath(source_run) == os.path.abspath(a.out):
        raise UserError(f"--out {a.out} is the run --branch-from reads; choose a new --out")
    _refuse_unresumable(a, "--branch-from")
    rundir.prepare(a.out, overwrite=a.overwrite, resume=False)
    rundir.branch(source_run, ckpt, a.out)
    try:
        return _cluster(a, resume=True, overwrite=False)  # --overwrite already acted on --out
    except UserError:
        if rundir.completed_iterations(a.out) == rundir.checkpoint_iteration(ckpt):
            shutil.rmtree(a.out, ignore_errors=True)  # nothing trained yet: leave no half-made branch behind
        raise


def _join_workers(a) -> None:
    """Start ``--strategy multi-worker`` before anything runs on TensorFlow (which it requires): blocks until
    every worker of TF_CONFIG has joined. Only the chief checks --out; the others write elsewhere."""
    from gan_em_tf import rundir

    if a.branch_from:
        raise UserError("--branch-from makes the run folder on one process; branch without --strategy multi-worker, "
                        "then continue it with --resume --strategy multi-worker")
    tf_startup.import_tensorflow()
    from gan_em_tf import distribute

    distribute.start()
    if distribute.is_chief():
        rundir.check_not_in_use(a.out)


def _refuse_foreign(a) -> None:
    """A flag of another method is a one-line error naming the methods that take it."""
    for name, owners in _foreign_flags(a.method).items():
        if getattr(a, "foreign_" + name.strip("-").replace("-", "_"), None) is not None:
            raise UserError(f"{name} is a flag of --method {' / '.join(sorted(owners))}, not of --method {a.method}; "
                            f"see gan-em cluster --method {a.method} --help")


def _new_config(a):
    """The RunConfig of a new run: the recipe (given, or the default for this data), then the flags given."""
    from gan_em_tf import architecture, flags, methods, recipes
    from gan_em_tf.config import RunConfig, RuntimeConfig, SupervisionConfig

    cfg = RunConfig(method=a.method, clusters=a.clusters, embed_dim=a.embed_dim, data=_data_config(a),
                    runtime=RuntimeConfig(strategy=a.strategy, mixed_precision=a.mixed_precision, seed=a.seed,
                                          deterministic=a.deterministic, keep_every=a.keep_every or 0,
                                          verbose=_verbosity(a), **_given(jit_compile=a.xla)),
                    supervision=SupervisionConfig(labels=a.labels if isinstance(a.labels, int) else 0))
    dataset = _load(cfg)
    if isinstance(a.labels, float):  # a fraction of the samples
        cfg.supervision.labels = round(a.labels * len(dataset))
    name = a.recipe or methods.module(a.method, "recipes").default_recipe(
        architecture.uses_conv(dataset.shape), a.clusters, cfg.supervision.labels)
    recipes.apply(cfg, name)
    schedule_and_training, supervision = _method_flags(a.method)
    flags.apply(cfg, schedule_and_training + supervision, a)
    if not cfg.semi_supervised and any(getattr(a, f.dest) is not None for f in supervision):
        raise UserError(f"{' and '.join(f.name for f in supervision)} act on the labelled examples; add --labels N "
                        "(this run has none)")
    return cfg, dataset


def _resumed_config(a):
    """The run's config.json with what a resume may change (:data:`gan_em.flags.RESUMABLE` and the output and
    runtime flags), checked against the iterations it has completed."""
    import copy

    from gan_em_tf import flags, methods, rundir
    from gan_em_tf.config import RunConfig

    _refuse_unresumable(a, "--resume")
    cfg = RunConfig.from_dict(rundir.read_json(os.path.join(a.out, "config.json")))
    done = rundir.completed_iterations(a.out)
    if a.iterations is not None and a.iterations < done:
        raise UserError(f"--iterations {a.iterations}: {a.out} has already completed {done} EM "
                        f"iterations; pass at least {done}")
    old = copy.deepcopy(cfg.train)
    schedule_and_training, supervision = _method_flags(cfg.method)
    resumable = [f for f in schedule_and_training + supervision if f.name in methods.module(
        cfg.method, "flags").RESUMABLE]
    flags.apply(cfg, resumable, a)
    if getattr(a, "lr_decay", None) is not None and all(old.lr_factor(i) == 1 for i in range(done)):
        cfg.train.lr_decay_start = max(cfg.train.lr_decay_start, done)  # anneal from the resumed iteration on
    methods.module(cfg.method, "checks").lr_schedule_change(old, cfg.train, done)
    runtime = cfg.runtime
    runtime.verbose, runtime.strategy = _verbosity(a), a.strategy
    runtime.keep_every = a.keep_every if a.keep_every is not None else runtime.keep_every
    runtime.jit_compile = runtime.jit_compile if a.xla is None else a.xla
    if not cfg.semi_supervised and any(getattr(a, f.dest, None) is not None for f in supervision):
        raise UserError("--epsilon and --label-steps act on the labelled examples; this run has none")
    return cfg, _load(cfg)  # the run writes config.json once it has checked it


def _refuse_unresumable(a, how: str) -> None:
    """A resume or branch continues the run's own config.json: flags it would not act on are an error."""
    from gan_em_tf import methods, rundir

    source = a.out if a.resume else rundir.branch_source(a.branch_from)[0]
    method = rundir.read_json(os.path.join(source, "config.json")).get("method", methods.DEFAULT)
    if method not in methods.NAMES:
        raise UserError(f"{source}/config.json names method {method!r}, which this version does not have")
    allowed = set(methods.module(method, "flags").RESUMABLE) | {
        "--out", "--resume", "--branch-from", "--keep-every", "--no-export", "--no-tensorboard", "--quiet", "-q",
        "--progress", "--no-progress", "--verbose", "--strategy", "--xla", "--no-xla"}
    ignored = [flag for flag in a.given if flag not in allowed]
    if ignored:
        raise UserError(f"{how} continues the run's own config.json and does not take {', '.join(ignored)}; it "
                        f"takes {', '.join(sorted(f for f in allowed if f not in ('-q', '--resume', '--out')))}")


def _cluster(a, resume: bool, overwrite: bool) -> int:
    """A new run, or (``resume``) the run in --out continued from its newest checkpoint."""
    from gan_em_tf import data as data_lib
    from gan_em_tf import methods, rundir

    if resume:
        rundir.prepare(a.out, overwrite=overwrite, resume=True)
        cfg, dataset = _resumed_config(a)
    else:
        cfg, dataset = _new_config(a)
    methods.module(cfg.method, "checks").validate(cfg, dataset)  # before TensorFlow starts or --out is touched
    tf_startup.import_tensorflow()
    from gan_em_tf import distribute, runner

    if not resume and distribute.is_chief():
        rundir.prepare(a.out, overwrite=overwrite, resume=False)
    heldout = data_lib.load_heldout(cfg.data) if cfg.semi_supervised else None
    with distribute.worker_out(a.out, resume) as out, rundir.lock(out), distribute.worker_lost_is_an_error():
        summary = runner.run(cfg, out, resume=resume, dataset=dataset, export_model=not a.no_export,
                             tensorboard=not a.no_tensorboard, heldout=heldout,
                             stop_requested=lambda: bool(_stopped_by),
                             log=(lambda *_: None) if cfg.runtime.verbose == 0 else (lambda m: print(m, flush=True)))
    print(json.dumps({k: summary[k] for k in runner.SUMMARY_KEYS if k in summary}))
    return 0


def _load(cfg):
    from gan_em_tf import data as data_lib

    return data_lib.load(cfg.data)


def _verbosity(a) -> int:
    return 0 if a.quiet else (2 if a.progress else 1)


def _given(**flags) -> dict:
    """The flags the user passed (argparse leaves the others None)."""
    return {k: v for k, v in flags.items() if v is not None}


# ----------------------------------------------------------------------------- other commands
def cmd_recipes(a) -> int:
    from gan_em_tf import recipes

    names = a.names or list(recipes.recipes(a.method))
    print("\n\n".join(recipes.describe(a.method, name) for name in names))
    return 0


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


def _positive(name: str, value) -> None:
    if value is not None and value < 1:
        raise UserError(f"{name} must be a positive integer, got {value}")


def cmd_baseline(a) -> int:
    from gan_em_tf import baselines
    from gan_em_tf import data as data_lib

    _check_out_file(a.out)
    if a.method == "labels-only" and a.labels is None:
        raise UserError("--method labels-only trains on labelled examples; add --labels N")
    if a.labels is not None and a.method in ("kmeans", "gmm", "ward", "dec"):
        raise UserError(f"--labels is for --method labels-only, tsne-ward (or all); {a.method} does not use labels")
    if a.sae and a.method != "dec":
        raise UserError("--sae gives DEC its autoencoder; add --method dec")
    _positive("--sae-epochs", a.sae_epochs)
    _positive("--dec-steps", a.dec_steps)
    data_cfg = _data_config(a)
    dataset = data_lib.load(data_cfg)
    labels = round(a.labels * len(dataset)) if isinstance(a.labels, float) else a.labels  # as cluster takes α
    if a.method == "dec":
        return _dec_baseline(a, dataset)
    if a.method == "tsne-ward" and labels is not None:
        return _print_baselines(a, dataset, [baselines.run_label_spread(dataset, data_lib.load_heldout(data_cfg),
                                                                        labels, a.seeds)])
    if labels is not None:  # TensorFlow only when the E-net is trained, and only after the checks
        from gan_em_tf import recipes
        from gan_em_tf.config import RunConfig
        from gan_em_tf.gan_em import checks

        cfg = RunConfig()
        recipes.apply(cfg, a.recipe)
        checks.labels_only_flags(dataset, labels, a.label_steps, a.lr)
        tf_startup.import_tensorflow()
        from gan_em_tf.gan_em import labels_only
    methods = [m for m in baselines.METHODS if a.method == m or (a.method == "all" and m in baselines.PAPER_ROWS)]
    results = [baselines.run(m, dataset.x, dataset.y, a.clusters, a.seeds) for m in methods]
    if labels is not None:
        results.append(labels_only.run(dataset, data_lib.load_heldout(data_cfg), labels, a.seeds, cfg.train,
                                       a.label_steps, a.lr, recipe=a.recipe))
    return _print_baselines(a, dataset, results)


def _print_baselines(a, dataset, results: list[dict]) -> int:
    """One line of scores per baseline (mean ± sd over the seeds), and the JSON of --out."""
    for r in results:
        if dataset.y is None:
            print(f"{r['method']:11s} K={r['clusters']} (no labels to score)")
            continue
        cells = " ".join(f"{k}={r[k]['mean']:.3f}±{r[k]['sd']:.3f}" for k in ("acc", "nmi", "ari", "purity", "error"))
        setting = f"K={r['clusters']}" if "clusters" in r else \
            f"labels={r['labels']}" + (f" steps={r['steps']}" if "steps" in r else "")
        print(f"{r['method']:11s} {dataset.name} N={r['n_samples']} {setting} seeds={a.seeds}: {cells}")
    if a.out:
        _write_out(a.out, {"dataset": dataset.name, "results": results})
    return 0


def _dec_baseline(a, dataset) -> int:
    """``gan-em baseline --method dec``: DEC per seed from the --sae encoder (or one trained per seed)."""
    dim = int(np.prod(dataset.shape))
    tf_startup.import_tensorflow()  # before gan_em_tf.dec imports it: a quiet start
    from gan_em_tf import dec

    if a.sae:
        dec.load_encoder(a.sae, dim)  # its one-line errors before TensorFlow trains anything

    flat = dataset.x.reshape(len(dataset), -1)
    encoder_for_seed = (lambda seed: dec.load_encoder(a.sae, dim)) if a.sae else \
        (lambda seed: dec.train_autoencoder(flat, a.sae_epochs, seed).encoder)
    result = dec.baseline(dataset.x, dataset.y, a.clusters, a.seeds, encoder_for_seed, max_steps=a.dec_steps,
                          log=lambda line: print(line, flush=True))
    if dataset.y is not None:
        cells = " ".join(f"{k}={result[k]['mean']:.3f}±{result[k]['sd']:.3f}"
                         for k in ("acc", "nmi", "ari", "purity", "rand"))
        print(f"dec         {dataset.name} N={len(dataset)} K={a.clusters} seeds={a.seeds}: {cells}")
    if a.out:
        _write_out(a.out, {"dataset": dataset.name, "results": [result]})
    return 0


def cmd_embed_sae(a) -> int:
    import time

    from gan_em_tf import data as data_lib
    from gan_em_tf import rundir

    _positive("--epochs", a.epochs)
    dataset = data_lib.load(_data_config(a))
    backup = os.path.join(a.out, "backup")  # the interrupted training; removed when it ends
    marker = os.path.join("backup", "trained-on.json")  # what it trains on
    trained_on = {"dataset": dataset.name, "shape": list(dataset.shape), "n_samples": len(dataset), "seed": a.seed}
    if a.resume and os.path.isfile(os.path.join(a.out, "sae.json")):
        raise UserError(f"--resume: {a.out} holds a finished autoencoder; choose a new --out")
    rundir.prepare(a.out, overwrite=a.overwrite, resume=a.resume, marker=marker)
    if not a.resume:
        os.makedirs(backup)
        rundir.write_json(os.path.join(a.out, marker), trained_on)
    elif (before := rundir.read_json(os.path.join(a.out, marker))) != trained_on:
        raise UserError(f"--resume: {a.out} was training on {before}, this call gives {trained_on}; pass the "
                        "same data flags and --seed")
    tf_startup.import_tensorflow()
    from gan_em_tf import dec

    t0 = time.time()
    model = dec.train_autoencoder(dataset.x.reshape(len(dataset), -1), a.epochs, a.seed, verbose=2,
                                  backup_dir=backup)
    record = dec.save_sae(model, a.out, dataset, a.epochs, a.seed, time.time() - t0)
    print(json.dumps(record))
    return 0


def cmd_export(a) -> int:
    tf_startup.import_tensorflow()
    from gan_em_tf import runner

    names = runner.export_run(a.run_dir, a.dest, overwrite=a.overwrite)
    print(f"wrote SavedModel to {a.dest} (endpoints: {', '.join(names)})")
    return 0


def cmd_bench(a) -> int:
    for flag in ("batch_size", "e_batch_size", "steps", "warmup", "repeats"):
        _positive("--" + flag.replace("_", "-"), getattr(a, flag))
    _check_out_file(a.out)
    tf_startup.import_tensorflow()
    from gan_em_tf import bench

    settings = {"on": [True], "off": [False], "both": [False, True]}[a.xla]
    results = bench.run(a.batch_size, a.e_batch_size, a.steps, a.warmup, settings, a.mixed_precision, a.repeats,
                        method=a.method)
    dtype = "bfloat16" if a.mixed_precision else "float32"
    peak = max(bench.matmul_gflops(xla=xla, dtype=dtype) for xla in (False, True))
    print(bench.format_table(results, peak))
    print(f"{dtype} 2048x2048 matmul on this machine (best of XLA on/off): {peak:.0f} GFLOP/s; a step's GFLOP "
          f"are its networks' multiply-adds (Dense and convolution layers) × 2")
    if a.out:
        _write_out(a.out, {"results": results, "matmul_gflops": peak, "matmul_dtype": dtype})
    return 0


# ----------------------------------------------------------------------------- main
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


def _removed_flag(argv: list[str]) -> str | None:
    """A one-line error for the first option of ``argv`` that no longer exists, or None."""
    for token in argv:
        name = token.split("=")[0]
        if name in REMOVED:
            replacement = REMOVED[name]
            return (f"{name} was replaced by {replacement}" if replacement else
                    f"{name} was removed: it measured not to help (paper_repro/RESULTS.md, history); drop it")
    return None


def _given_flags(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """The options of the command in ``argv`` that the user typed, each by its long name."""
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    command = commands.choices.get(argv[0]) if argv else None
    if command is None:
        return []
    long_name = {}
    for action in command._actions:
        first_long = next((o for o in action.option_strings if o.startswith("--")), None)
        for option in action.option_strings:
            long_name[option] = option if option.startswith("--") else first_long
    return [long_name[token.split("=")[0]] for token in argv[1:] if token.split("=")[0] in long_name]


def main(argv=None) -> int:
    whole_process = argv is None  # the gan-em program itself, not a caller of main()
    argv = list(sys.argv[1:] if argv is None else argv)
    removed = _removed_flag(argv)
    if removed:
        print(f"gan-em: error: {removed}", file=sys.stderr)
        return EXIT_USER_ERROR
    parser = build_parser(_method_in(argv))
    args = parser.parse_args(argv)
    args.given = _given_flags(parser, argv)
    tf_startup.set_quiet(not args.verbose and "TF_CPP_MIN_LOG_LEVEL" not in os.environ)
    _stopped_by.clear()
    for signum, default in _STOP_SIGNALS.items():
        if signal.getsignal(signum) is default:  # leave a handler the embedding program set alone
            with contextlib.suppress(ValueError):  # only the main thread may set handlers; elsewhere keep the default
                signal.signal(signum, _interrupt)
    resumable = args.command in ("cluster", "embed-sae")
    try:
        return args.func(args)
    except UserError as e:
        print(f"gan-em: error: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception:
        if not _stopped_by:
            raise
        return _interrupted(resumable, whole_process)
    except KeyboardInterrupt:
        return _interrupted(resumable, whole_process)


def _interrupted(resumable: bool, whole_process: bool) -> int:
    """The stop message and exit status 130. When this process is the ``gan-em`` program (not a caller of
    :func:`main`), a stop signal that landed inside TensorFlow can leave a half-built object (an eager
    ``Executor``) whose ``__del__`` fails as the interpreter exits, printing "Exception ignored … Traceback"
    after the message; those reports are dropped: the run has already ended and saved its checkpoint."""
    if whole_process:
        sys.unraisablehook = lambda unraisable: None
    print("gan-em: interrupted" + ("; continue with --resume" if resumable else ""), file=sys.stderr)
    return 130


if __name__ == "__main__":
    raise SystemExit(main())
