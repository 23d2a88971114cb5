"""Reference row for the semi-supervised columns: GAN-EM's E-net trained on the labelled examples only.

The same network (:func:`networks.build_enet` of the recipe), the same labelled
examples (:func:`data.split_labelled`, fixed by the seed), the same training
phase (:class:`LabelStep`, L_E = CE(E(x_real), u) of §5.3) and the same
held-out scoring as ``gan-em cluster --labels N`` — but no GAN: no generated
images and no unlabelled data. What GAN-EM's error is below this row's is what
the unlabelled data bought (``gan-em baseline --method labels-only``).
"""
from __future__ import annotations

import keras
import numpy as np

from gan_em_tf import data as data_lib
from gan_em_tf import networks, scoring
from gan_em_tf.config import LABELS_ONLY_LR, LABELS_ONLY_STEPS
from gan_em_tf.gan_em import checks
from gan_em_tf.gan_em.config import TrainConfig
from gan_em_tf.gan_em.models import LabelStep
from gan_em_tf.training import make_optimizer

METHOD = "labels-only"


def fit_predict(split: data_lib.LabelledSplit, classes: int, train: TrainConfig, steps: int, lr: float,
                seed: int) -> np.ndarray:
    """Train a fresh E-net for ``steps`` steps (batch ``train.batch_size``) on the labelled examples;
    returns its class ids for the held-out images."""
    keras.utils.set_random_seed(seed)
    enet = networks.build_enet(split.heldout.shape, classes, width=train.net_width)
    phase = LabelStep(enet)
    phase.compile(make_optimizer(train.optimizer, lr, train.adam_beta1))
    batches = data_lib.labelled_batches(split.x_labelled, split.y_labelled, train.batch_size, seed, 0).repeat()
    phase.fit(batches, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    return enet.predict(split.heldout.x, batch_size=500, verbose=0).argmax(axis=1)


def run(ds: data_lib.Dataset, heldout: data_lib.Dataset | None, n_labels: int, seeds: list[int], train: TrainConfig,
        steps: int = LABELS_ONLY_STEPS, lr: float = LABELS_ONLY_LR, recipe: str = "authors") -> dict:
    """Classification scores on the held-out data per seed and their mean ± sd.

    ``train`` (the settings of ``recipe``) gives the E-net's width, the batch size and the optimizer (Adam with
    its β1, or RMSprop); ``lr`` replaces its E-net rate (see :data:`config.LABELS_ONLY_LR`).
    """
    checks.labels_only_flags(ds, n_labels, steps, lr)
    return {"method": METHOD, "labels": n_labels, "steps": steps, "lr": lr, "recipe": recipe,
            **scoring.labelled_over_seeds(ds, heldout, n_labels, seeds, lambda split, seed: fit_predict(
                split, int(ds.y.max()) + 1, train, steps, lr, seed))}
