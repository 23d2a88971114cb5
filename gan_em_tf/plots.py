"""Figures written into a run folder, as PNG (matplotlib, Agg backend)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def sample_grid(images: np.ndarray, path: str, title: str = "") -> None:
    """images [K, n, H, W, C] → one row per cluster (paper Fig. 2), drawn as one mosaic; feature vectors
    [K, n, D] as one bar chart per cluster, its samples side by side."""
    k, n = images.shape[:2]
    figsize = (n * 0.6, k * 0.6 + 0.4)
    if images.ndim == 3:
        fig = _bar_grid(images, figsize)
    else:
        fig, ax = plt.subplots(figsize=figsize)
        h = images.shape[2]
        gap = max(1, h // 14)
        ax.imshow(_mosaic(np.clip(images, 0, 1), gap), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([(h + gap) * i + h / 2 for i in range(k)], [str(i) for i in range(k)], fontsize=7)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
    fig.tight_layout(pad=0.1, rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight() if title else 1))
    if title:  # in the strip tight_layout left free above the first row
        fig.suptitle(title, fontsize=8, y=1 - 0.1 / fig.get_figheight(), va="top")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _mosaic(images: np.ndarray, gap: int) -> np.ndarray:
    """[K, n, H, W, C] → one [K·H + gaps, n·W + gaps] (C = 1) or [..., C] image, white between the tiles."""
    k, n, h, w, c = images.shape
    out = np.ones((k * (h + gap) - gap, n * (w + gap) - gap, c), np.float32)
    for i in range(k):
        for j in range(n):
            out[i * (h + gap):i * (h + gap) + h, j * (w + gap):j * (w + gap) + w] = images[i, j]
    return out[..., 0] if c == 1 else out


def _bar_grid(vectors: np.ndarray, figsize: tuple):
    """[K, n, D] → a row per cluster, its n samples side by side, a bar per feature; cluster ids down the left."""
    k, n, d = vectors.shape
    gap = max(2, d // 4)
    x = (np.arange(n)[:, None] * (d + gap) + np.arange(d)[None]).ravel()
    fig, axes = plt.subplots(k, 1, figsize=figsize, squeeze=False)
    for i, ax in enumerate(axes[:, 0]):
        ax.bar(x, vectors[i].ravel(), width=1.0)
        ax.set_xlim(-1, n * (d + gap) - gap)
        ax.set_ylim(0, 1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(str(i), rotation=0, labelpad=10, fontsize=7)
    return fig


def convergence(rows: list[dict], path: str, title: str = "") -> None:
    """ACC and NMI (or the losses, without labels) per EM iteration (paper Fig. 4)."""
    it = [r["iteration"] for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    keys = ["acc", "nmi"] if rows and "acc" in rows[0] else ["d_loss", "g_loss", "e_loss"]
    for k in keys:
        ax.plot(it, [r[k] for r in rows], marker="o", label=k)
    ax.set_xlabel("EM iteration")
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def embedding_scatter(points: np.ndarray, labels, path: str, title: str = "") -> None:
    """2-D points coloured by true class (paper Fig. 3), or uncoloured without labels."""
    fig, ax = plt.subplots(figsize=(5, 5))
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.6)
    else:
        labels = np.asarray(labels)
        cmap = plt.get_cmap("tab10" if labels.max() < 10 else "tab20")
        for cls in np.unique(labels):
            sel = labels == cls
            ax.scatter(points[sel, 0], points[sel, 1], s=2, alpha=0.6, color=cmap(int(cls) % cmap.N), label=str(cls))
        ax.legend(markerscale=5, fontsize=7, loc="best", ncol=2)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
