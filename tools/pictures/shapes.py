"""Arrays drawn as what they are: the shapes of a dense layer's forward and backward pass in
handgrad's layout, and the softmax example's logits, probabilities and gradient.

The softmax numbers are ``handmade``'s softmax and cross-entropy gradient on
``compare.teach.seeds.SOFTMAX_Z`` (the page's example).
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Rectangle

from handgrad import handmade
from handgrad.compare.teach import seeds
from handgrad.handmade.activations import softmax
from tools.pictures.common import GRAD, MUTED, VALUE, figure, save

M, N, OUT = 4, 3, 2  # samples, features, units of the drawn layer


def _matrix(ax, x, rows, cols, name, shape, color):
    """A ``rows`` x ``cols`` grid of cells with its top-left corner at (x, 0); returns its
    right edge."""
    for r in range(rows):
        for c in range(cols):
            ax.add_patch(Rectangle((x + c, -r - 1), 1, 1, facecolor=color, alpha=0.25,
                                   edgecolor=color, lw=1))
    ax.text(x + cols / 2, 0.35, name, ha="center", va="bottom", fontsize=12, color=color)
    ax.text(x + cols / 2, -rows - 0.3, shape, ha="center", va="top", fontsize=9,
            color=MUTED)
    return x + cols


def _operator(ax, x, text):
    ax.text(x + 0.8, -1.2, text, ha="center", va="center", fontsize=15)
    return x + 1.6


def _row(ax, items):
    x = 0.0
    for item in items:
        x = _operator(ax, x, item) if isinstance(item, str) else _matrix(ax, x, *item)
    return x


def draw_layout(path) -> None:
    fig, (top, bottom) = figure(11, 5.6, nrows=2)
    width = _row(top, [(M, N, "X", f"(m, n) = ({M}, {N})", VALUE), "·",
                       (N, OUT, "Wᵀ", f"(n, out) = ({N}, {OUT})", VALUE), "+",
                       (1, OUT, "b", f"(out,)\n= ({OUT},)", VALUE), "=",
                       (M, OUT, "Z", f"(m, out) = ({M}, {OUT})", VALUE)])
    top.set_title("Forward: one sample per row, one unit per column of Z", fontsize=11)
    _row(bottom, [(OUT, M, "δᵀ", f"(out, m) = ({OUT}, {M})", GRAD), "·",
                  (M, N, "X", f"(m, n) = ({M}, {N})", VALUE), "=",
                  (OUT, N, "dW", f"(out, n) = ({OUT}, {N})\nW's shape", GRAD), "     ",
                  (M, OUT, "δ", f"(m, out) = ({M}, {OUT})", GRAD), "·",
                  (OUT, N, "W", f"(out, n) = ({OUT}, {N})", VALUE), "=",
                  (M, N, "dX", f"(m, n) = ({M}, {N})\nX's shape", GRAD)])
    bottom.set_title("Backward: every gradient has the shape of what it is the gradient "
                     "of (db = Σ over the rows of δ: (out,))", fontsize=11)
    for ax in (top, bottom):
        ax.set_xlim(-0.5, max(width, 31))
        ax.set_ylim(-M - 1.4, 1.4)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.suptitle(f"A dense layer in handgrad's layout, Z = X Wᵀ + b (m = {M} samples, "
                 f"n = {N} features, {OUT} units)", fontsize=12)
    save(fig, path)


def _bars(ax, values, title, color, labels):
    bars = ax.bar(range(len(values)), values, color=color, alpha=0.8)
    for bar, value in zip(bars, values, strict=True):
        ax.annotate(f"{value:.4f}", (bar.get_x() + bar.get_width() / 2, value),
                    xytext=(0, 3 if value >= 0 else -3), textcoords="offset points",
                    ha="center", va="bottom" if value >= 0 else "top", fontsize=9)
    ax.set_xticks(range(len(values)), labels)
    ax.axhline(0, color=MUTED, lw=0.8)
    ax.set_title(title, fontsize=10)
    ax.margins(y=0.2)


def draw_softmax(path) -> None:
    z = np.array([seeds.SOFTMAX_Z])  # (1, 3): one sample
    y = np.array(seeds.SOFTMAX_Y)  # its class
    p = softmax(z)[0]
    delta = handmade.get_loss("cross_entropy").grad(z, y)[0]  # dL/dz, fused: p - onehot
    labels = [f"class {k}" + (" (true)" if k == y[0] else "") for k in range(z.shape[1])]
    fig, axes = figure(11, 3.4, ncols=3)
    _bars(axes[0], z[0], "logits z", VALUE, labels)
    _bars(axes[1], p, "p = softmax(z): sums to 1", VALUE, labels)
    _bars(axes[2], delta, "∂L/∂z = p − onehot(y): sums to 0", GRAD, labels)
    fig.suptitle(f"Softmax with cross-entropy on z = {tuple(seeds.SOFTMAX_Z)}, true class "
                 f"{y[0]}: L = −log p₀ = {-np.log(p[y[0]]):.4f}", fontsize=11)
    fig.tight_layout()
    save(fig, path)
