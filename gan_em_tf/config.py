"""Typed run configuration, serialised into every run folder as ``config.json``.

A run is one ``method`` (GAN-EM today; :mod:`gan_em_tf.methods` lists them) on one dataset. The
sections shared by every method are here; ``train`` is the method's own (for GAN-EM,
:class:`gan_em_tf.gan_em.config.TrainConfig`). A named recipe (:mod:`gan_em_tf.recipes`) fills the
fields, single flags override it, and the recipe's name and values are recorded in ``recipe``.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from gan_em_tf import methods
from gan_em_tf.configio import from_dict_strict
from gan_em_tf.errors import UserError

STRATEGIES = ("auto", "mirrored", "multi-worker", "default")
SUPERVISION_CHECK = 20  # labelled-set steps between two checks of the E-net's error on them (§5.3)
# gan-em baseline --method labels-only: steps and Adam rate. GAN-EM's own E-net rate (authors: 6e-5)
# under-trains the E-net on labels alone: MNIST-test, 1000 labels, seed 0, 3000 steps, error 7.8 % (6e-5),
# 7.4 % (3e-4), 6.3 % (1e-3), 5.2 % (3e-3), 5.3 % (1e-2) — chosen on the held-out images, in the baseline's favour.
LABELS_ONLY_STEPS = 3000
LABELS_ONLY_LR = 3e-3
DEC_STEPS = 20_000  # at most this many KL steps of the DEC baseline (DEC's own limit, Xie et al. 2016)
MIN_M_STEP_BATCHES = 700  # the default p grows on small data until an M-step is at least this many batches


@dataclass
class DataConfig:
    """Which data to cluster. ``dataset`` is a name from :mod:`gan_em_tf.data`."""

    dataset: str = "digits"
    data_dir: str | None = None
    data_file: str | None = None
    split: str = "test"
    limit: int | None = None
    classes: list | None = None  # only these classes, relabelled 0..C-1 in this order (data.select_classes)
    per_class: int | None = None  # only the first N samples of each class
    image_size: int = 64  # celeb_a: side of the resized centre crop
    attribute: str | None = None  # celeb_a: the binary attribute used as the label y (None: score all 40)


@dataclass
class ScheduleConfig:
    """Algorithm 1's loop: n EM iterations, each an M-step of p passes over the data and an E-step of q steps.

    ``m_steps`` (when set) caps an M-step at that many batches, so that large data keep an EM iteration's
    time bounded: the CPU recipes run one pass, at most 500 batches (MNIST's 10,000 test images: one pass of
    142 batches; its 70,000 images: half a pass). ``p`` None: 5 passes, more on small data so an M-step is at
    least :data:`MIN_M_STEP_BATCHES` batches (at most 50 passes). ``first_m_scale`` makes the first M-step that
    many times longer: the first E-step should learn from "a well trained generator" (§5.1).
    """

    iterations: int = 20  # n
    m_epochs: float | None = None  # p: passes over the real data per M-step (a fraction runs that share)
    m_steps: int | None = None  # at most this many batches per M-step
    first_m_scale: float = 1.0
    e_steps: int = 1000  # q: E-net steps per E-step

    def m_batches(self, n_samples: int, batch_size: int, scale: float = 1.0) -> int:
        """Batches of an M-step on ``n_samples`` images: p passes (at most ``m_steps`` batches) × ``scale``."""
        batches = max(1, n_samples // batch_size) * self.passes(n_samples, batch_size)
        if self.m_steps:
            batches = min(batches, self.m_steps)
        return max(1, round(batches * scale))

    def passes(self, n_samples: int, batch_size: int) -> float:
        """p: ``m_epochs``, or the default for this data size."""
        if self.m_epochs is not None:
            return self.m_epochs
        per_pass = max(1, n_samples // batch_size)
        return max(5, min(50, -(-MIN_M_STEP_BATCHES // per_pass)))

    @classmethod
    def from_dict(cls, d: dict) -> "ScheduleConfig":
        """Also reads config.json files that held ``first_m_epochs`` (passes) instead of ``first_m_scale``."""
        d = dict(d)
        first = d.pop("first_m_epochs", None)
        if first:
            d["first_m_scale"] = first / d["m_epochs"]
        return from_dict_strict(cls, d, "schedule")


@dataclass
class SupervisionConfig:
    """Semi-supervised training (GAN-EM §5.3): after every E-step the E-net is trained on ``labels`` labelled
    real images (balanced per class, chosen by the seed) with L_E = CE(E(x_real), u) until its error on them is
    below ``epsilon``, at most ``max_steps`` steps per E-step, with the E-step's optimizer and rate. The error
    is checked every :data:`SUPERVISION_CHECK` steps
    (or one pass over the labelled set when that is longer). ``labels`` = 0 is unsupervised clustering."""

    labels: int = 0
    epsilon: float = 0.05
    max_steps: int = 1000

    @classmethod
    def from_dict(cls, d: dict) -> "SupervisionConfig":
        """Also reads config.json files written before ``max_steps`` (they held ``max_epochs`` rounds of checks)."""
        d = dict(d)
        if "max_epochs" in d:
            d["max_steps"] = d.pop("max_epochs") * SUPERVISION_CHECK
        if d.pop("lr", None) is not None:
            raise UserError("this run trained its labelled steps at their own rate (--label-lr), an option "
                            "measured not to help and removed; it cannot be continued by this version")
        return from_dict_strict(cls, d, "supervision")


@dataclass
class RuntimeConfig:
    """How to run: devices, compilation, seeds, output."""

    strategy: str = "auto"  # auto | mirrored | multi-worker | default
    jit_compile: bool = True  # XLA: about 1.4x faster per step on a CPU
    mixed_precision: bool = False
    seed: int = 0
    deterministic: bool = False
    verbose: int = 2  # 0: summary only, 1: one log line per EM iteration, 2: also progress bars
    keep_every: int = 0  # N > 0: also keep the checkpoint of every N-th EM iteration (default: only the newest)


@dataclass
class RunConfig:
    """Everything that defines one run."""

    method: str = methods.DEFAULT
    recipe: dict | None = None  # {"name": ..., "values": {...}} of the recipe the run started from
    clusters: int = 10
    embed_dim: int = 0  # k > 0: layer r of k units before the E-net's output (GAN-EM §5.4)
    data: DataConfig = field(default_factory=DataConfig)
    train: object = None  # the method's own settings (methods.config_class(method)); None: its defaults
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    supervision: SupervisionConfig = field(default_factory=SupervisionConfig)

    def __post_init__(self):
        if self.train is None:
            self.train = methods.config_class(self.method)()

    @property
    def semi_supervised(self) -> bool:
        return self.supervision.labels > 0

    @property
    def recipe_name(self) -> str | None:
        return self.recipe["name"] if self.recipe else None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        """A run's config.json; files written before the ``method`` field are GAN-EM runs."""
        d = dict(d)
        method = d.pop("method", methods.DEFAULT)
        if method not in methods.NAMES:
            raise UserError(f"config.json names method {method!r}, which this version does not have "
                            f"({', '.join(methods.NAMES)})")
        schedule = d.pop("schedule", {})
        train = d.pop("train", {})
        out = from_dict_strict(cls, {k: v for k, v in d.items()
                                     if k not in ("data", "runtime", "supervision")}, "run")
        out.method = method
        out.schedule = ScheduleConfig.from_dict(schedule)
        legacy_preset = train.get("preset") if isinstance(train, dict) else None
        out.train = methods.config_class(method).from_dict(train, m_epochs=schedule.get("m_epochs") or 1.0)
        if out.recipe is None and legacy_preset:
            out.recipe = {"name": legacy_preset, "values": {}}  # written with --config before recipes
        out.data = from_dict_strict(DataConfig, d.get("data", {}), "data")
        out.runtime = from_dict_strict(RuntimeConfig, d.get("runtime", {}), "runtime")
        out.supervision = SupervisionConfig.from_dict(d.get("supervision", {}))
        return out
