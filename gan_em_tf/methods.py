"""The methods this package implements, by the name ``--method`` and ``config.json`` use.

Each method is a subpackage with the same few modules, found here by name so that nothing imports
TensorFlow before the flags are checked:

* ``config``  — its ``TrainConfig`` (``config.json``'s ``train`` section);
* ``flags``   — ``FLAGS`` and ``SUPERVISION`` (its own command-line flags), ``RESUMABLE`` and, when it does
  not take all of them, ``SCHEDULE`` (the shared schedule flags it takes);
* ``recipes`` — ``RECIPES``, its named settings, and ``default_recipe(...)``;
* ``checks``  — ``validate(cfg, dataset)``: one-line errors before TensorFlow starts;
* ``method``  — ``build(cfg, shape, n_samples, strategy)`` → a :class:`gan_em_tf.method.Method` the runner drives.
"""
from __future__ import annotations

import importlib

PACKAGES = {"gan-em": "gan_em_tf.gan_em", "ganmm": "gan_em_tf.ganmm", "ganmm-em": "gan_em_tf.ganmm",
            "minmax-em": "gan_em_tf.dnnmm", "clustergan": "gan_em_tf.clustergan"}
NAMES = tuple(PACKAGES)
DEFAULT = "gan-em"


def module(method: str, part: str):
    """The ``part`` module (config, recipes, checks, method) of ``method``'s subpackage."""
    return importlib.import_module(f"{PACKAGES[method]}.{part}")


def config_class(method: str):
    return module(method, "config").TrainConfig
