"""Command-line flags that override one config value each, as a table: the CLI adds them to its parser and
applies the ones given on top of the recipe. Shared flags are here; a method's own are its subpackage's
``FLAGS`` (:mod:`gan_em_tf.gan_em.flags`)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Flag:
    name: str  # "--lr-g"
    path: str  # the RunConfig value it sets, "train.lr_g"
    help: str
    kwargs: dict = field(default_factory=dict)  # argparse: type, choices, metavar, action
    also: tuple = ()  # ((path, value), ...) set with it, e.g. --m-epochs clears the recipe's schedule.m_steps

    @property
    def dest(self) -> str:
        return self.name.lstrip("-").replace("-", "_")

    def add_to(self, group) -> None:
        group.add_argument(self.name, dest=self.dest, default=None, help=self.help, **self.kwargs)


SCHEDULE = (
    Flag("--iterations", "schedule.iterations", "EM iterations n (default: the recipe's; --resume may raise it to "
         "extend a run)", {"type": int, "metavar": "n"}),
    Flag("--m-epochs", "schedule.m_epochs", "passes over the data per M-step p, a fraction such as 0.5 runs that "
         "share of a pass (default: the recipe's)", {"type": float, "metavar": "p"},
         also=(("schedule.m_steps", None),)),
    Flag("--e-steps", "schedule.e_steps", "E-step steps q (default: the recipe's)", {"type": int, "metavar": "q"}),
)


def apply(cfg, flags, args) -> None:
    """Set on ``cfg`` the value of every flag of ``flags`` given in ``args`` (argparse leaves the others None)."""
    from gan_em_tf.recipes import set_path

    for flag in flags:
        value = getattr(args, flag.dest, None)
        if value is None:
            continue
        set_path(cfg, flag.path, value)
        for path, extra in flag.also:
            set_path(cfg, path, extra)
