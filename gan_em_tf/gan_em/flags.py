"""GAN-EM's own flags, each overriding one value of the recipe (:mod:`gan_em_tf.flags`)."""
from __future__ import annotations

import argparse

from gan_em_tf.flags import Flag
from gan_em_tf.gan_em.config import E_CLASS_PRIORS, GENERATOR_LOSSES, INITS

FLAGS = (
    Flag("--batch-size", "train.batch_size", "M-step batch (authors: 70, paper: 64)", {"type": int, "metavar": "B"}),
    Flag("--e-batch-size", "train.e_batch_size", "E-step batch of generated images (authors: 200, paper: 256)",
         {"type": int, "metavar": "B"}),
    Flag("--lr-g", "train.lr_g", "generator learning rate", {"type": float, "metavar": "LR"}),
    Flag("--lr-d", "train.lr_d", "discriminator learning rate", {"type": float, "metavar": "LR"}),
    Flag("--lr-e", "train.lr_e", "E-net learning rate", {"type": float, "metavar": "LR"}),
    Flag("--lr-decay", "train.lr_decay", "every learning rate × γ once per EM iteration (paper and authors: 0.98; "
         "1: constant). On --resume of a run at constant rates the decay starts at the resumed iteration",
         {"type": float, "metavar": "γ"}),
    Flag("--generator-loss", "train.generator_loss", "exp: paper Eq. 1 (clipped so exp cannot overflow); onehot: "
         "the authors' code, unit c toward real and the others toward fake", {"choices": GENERATOR_LOSSES}),
    Flag("--e-class-prior", "train.e_class_prior", "classes of the E-step's generated batches: phi draws c ~ φ "
         "(paper Eq. 5), so cluster sizes follow the data; uniform gives every class the same share (authors' "
         "code), which pulls clusters toward equal sizes", {"choices": E_CLASS_PRIORS}),
    Flag("--init", "train.init", "initial soft labels w: uniform (Algorithm 1) or 0.9 on each sample's cluster "
         "from Ward's clustering of a t-SNE map of the data (gan-em baseline --method tsne-ward; EM's usual start "
         "from a classical clustering, not in the paper)", {"choices": INITS}),
    Flag("--e-augment", "train.e_augment", "jitter every generated image of the E-step (rotation ≤ 11°, shift ≤ 8%%, "
         "zoom ±10%%) so the E-net, trained on G's samples only, also covers real images G does not draw (not in "
         "the paper; images only)", {"action": argparse.BooleanOptionalAction}),
    Flag("--net-width", "train.net_width", "multiply the filters and units of every hidden layer of G, D and the "
         "E-net by W (1: the authors' networks; 0.5 costs about a third of the time per step on a CPU)",
         {"type": float, "metavar": "W"}),
    Flag("--grow-from", "train.growth.clusters", "for --clusters K above the number of classes: cluster into K0 "
         "until EM iteration 40, then cut the largest cluster (a graph cut of D's features) until all K hold one "
         "(not in the paper; recipe cpu-grow grows from 10)", {"type": int, "metavar": "K0"}),
)
SUPERVISION = (
    Flag("--epsilon", "supervision.epsilon", "with --labels: train the E-net on the labelled examples after every "
         "E-step until its error on them is below ε (paper §5.3: 0.05; recipe cpu-semi: 0, i.e. --label-steps "
         "every time)", {"type": float, "metavar": "ε"}),
    Flag("--label-steps", "supervision.max_steps", "with --labels: at most N steps on the labelled examples per "
         "E-step, in checks of 20 (default: 1000)", {"type": int, "metavar": "N"}),
)
# what --resume and --branch-from may change: they act only on the iterations still to come
RESUMABLE = ("--iterations", "--epsilon", "--label-steps", "--e-augment", "--no-e-augment", "--lr-decay")
