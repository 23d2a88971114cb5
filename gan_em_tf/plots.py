"""Figures written into a run folder, as PNG (matplotlib, Agg backend)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def sample_grid(images: np.ndarray, path: str, title: str = "") -> None:
    """images [K, n, H, W, C] → one row per cluster (paper Fig. 2)."""
    k, n = images.shape[:2]
    fig, axes = plt.subplots(k, n, figsize=(n * 0.6, k * 0.6 + 0.4), squeeze=False)
    for i in range(k):
        for j in range(n):
            img = images[i, j]
            ax = axes[i, j]
            if img.ndim == 3 and img.shape[-1] == 1:
                ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=1)
            elif img.ndim == 3:
                ax.imshow(np.clip(img, 0, 1))
            else:  # feature vectors: a bar per feature
                ax.bar(np.arange(img.size), img.ravel(), width=1.0)
                ax.set_ylim(0, 1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[i, 0].set_ylabel(str(i), rotation=0, labelpad=10, fontsize=7)
    fig.tight_layout(pad=0.1, rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight() if title else 1))
    if title:  # in the strip tight_layout left free above the first row
        fig.suptitle(title, fontsize=8, y=1 - 0.1 / fig.get_figheight(), va="top")
    fig.savefig(path, dpi=100)
    plt.close(fig)


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
