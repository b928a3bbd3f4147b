"""Plots of a side-by-side training run: losses, twin divergence, decision boundaries.

A trajectory is a list of dicts, one per optimizer step (``step``, ``epoch``, ``hand_loss``,
``max_param_diff``, ...); each plot reads only the keys it needs. Rendering: matplotlib's Agg
backend (selected here unless pyplot is already imported, as switching would close the
caller's figures), Pillow for GIFs. Every function closes its figure and writes atomically
(temporary file in the same folder, then ``os.replace``): a failure leaves no partial file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib
import numpy as np

if "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.animation import PillowWriter  # noqa: E402
from matplotlib.cm import ScalarMappable  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402

from bookkeeping.atomic import atomic_path

__all__ = ["plot_losses", "plot_divergence", "plot_decision_boundary", "animate_decision_boundary"]

Predict = Callable[[np.ndarray], np.ndarray]  # points (g, 2) -> P(class 1), shape (g,)

HAND = {"color": "tab:blue", "label": "handmade (NumPy)"}
TORCH = {"color": "tab:orange", "label": "torch"}
ZERO_FLOOR = 1e-18  # where an exact 0 is drawn on a log axis (lower if the data go below)
EPS64, EPS32 = float(np.finfo(np.float64).eps), float(np.finfo(np.float32).eps)
CMAP, CBAR = "RdBu_r", "P(class 1)   (black line: 0.5)"  # blue near 0, red near 1
DPI = 110


def _save(fig, path: str | os.PathLike) -> Path:
    """Save ``fig`` atomically; the format follows the suffix (PNG when there is none)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".").lower() or "png", dpi=DPI)
    return path


def _columns(rows: Sequence[dict], name: str, *keys: str) -> list[np.ndarray]:
    """``[row[key] for row in rows]`` as float64 (len(rows),) per key; errors name ``name``."""
    rows = list(rows)
    if not rows:
        raise ValueError(f"{name} is empty: nothing to plot")
    for key in keys:
        missing = [i for i, row in enumerate(rows) if key not in row]
        if missing:
            raise ValueError(f"{name}[{missing[0]}] has no key {key!r}")
    return [np.array([row[key] for row in rows], dtype=np.float64) for key in keys]


def plot_losses(trajectory: Sequence[dict], path: str | os.PathLike, *,
                val: Sequence[dict] | None = None, title: str = "") -> Path:
    """Training loss of both twins against step; validation loss per epoch if given.

    Args:
        trajectory: T dicts with ``step``, ``epoch``, ``hand_loss``, ``torch_loss``.
        path: destination file (PNG unless its suffix names another matplotlib format).
        val: optional E dicts ``{epoch, hand_val_loss, torch_val_loss}``, drawn as markers
            (hand: hollow circle, torch: cross) at the last step of that epoch in
            ``trajectory`` (step 0 for an epoch before the first step).
        title: axes title.

    Hand: solid line; torch: thinner dashed line on top (agreeing twins read as one line).
    Log y axis when every loss is positive. Returns ``Path(path)``.
    """
    steps, epochs, hand, torch_ = _columns(trajectory, "trajectory",
                                           "step", "epoch", "hand_loss", "torch_loss")
    losses = [hand, torch_]
    if val is not None:
        v_epoch, v_hand, v_torch = _columns(val, "val",
                                            "epoch", "hand_val_loss", "torch_val_loss")
        v_step = np.array([steps[epochs <= e].max(initial=0.0) for e in v_epoch])  # (E,)
        losses += [v_hand, v_torch]
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    try:
        ax.plot(steps, hand, lw=2.2, **HAND)
        ax.plot(steps, torch_, lw=1.3, ls="--", **TORCH)
        if val is not None:
            for side, v, marker in ((HAND, v_hand, "o"), (TORCH, v_torch, "x")):
                ax.plot(v_step, v, ls="none", marker=marker, ms=8, mfc="none", mew=1.8,
                        color=side["color"], label=f"{side['label']}, validation")
        if all(np.all(a > 0) for a in losses):
            ax.set_yscale("log")
        ax.set(xlabel="step", ylabel="loss", title=title)
        ax.grid(True, alpha=0.3)
        ax.legend()
        return _save(fig, path)
    finally:
        plt.close(fig)


def plot_divergence(trajectory: Sequence[dict], path: str | os.PathLike, *,
                    title: str = "") -> Path:
    """How far the twins' parameters drift apart, against step, on a log y axis.

    Args:
        trajectory: T dicts with ``step``, ``max_param_diff``, ``rel_param_diff`` (>= 0).
        path: destination file (PNG unless its suffix names another matplotlib format).
        title: axes title.

    Exact zeros cannot sit on a log axis: they are drawn at a floor (1e-18, or a power of
    ten 100x below the smallest positive value) with hollow markers and a dotted line
    labelled "exactly 0 (drawn at ...)". Grey lines mark float64 eps (2.2e-16, dashed) and
    float32 eps (1.2e-7, dash-dot). Returns ``Path(path)``.
    """
    series = [("max_param_diff", "max |θ_hand − θ_torch|", "tab:red", "o"),
              ("rel_param_diff", "‖θ_hand − θ_torch‖ / max(‖θ_torch‖, ‖θ_0‖)", "tab:purple", "s")]
    steps, *values = _columns(trajectory, "trajectory", "step", *(s[0] for s in series))
    for (key, *_), v in zip(series, values):
        if np.any(v < 0):
            raise ValueError(f"trajectory {key!r} has negative values; it must be >= 0")
    every = np.concatenate(values)
    positive = every[(every > 0) & np.isfinite(every)]
    floor = ZERO_FLOOR  # 100x below the smallest positive value if 1e-18 is not
    if positive.size:
        floor = min(floor, 10.0 ** max(np.floor(np.log10(positive.min())) - 2, -300))
    top = max(positive.max() if positive.size else 0.0, EPS32)
    fig, ax = plt.subplots(figsize=(7.5, 4.5), layout="constrained")
    try:
        for (_, label, color, marker), v in zip(series, values):
            zero = v == 0
            shown = np.where(zero, floor, v)
            ax.plot(steps, shown, color=color, lw=1.5, label=label)
            if zero.any():
                ax.plot(steps[zero], shown[zero], ls="none", marker=marker, ms=5, mfc="none",
                        color=color, markevery=max(1, int(zero.sum()) // 40))
        if (every == 0).any():
            ax.axhline(floor, color="0.5", ls=":", lw=1,
                       label=f"exactly 0 (drawn at {floor:.0e})")
        ax.axhline(EPS64, color="0.3", ls="--", lw=1, label=f"float64 eps {EPS64:.1e}")
        ax.axhline(EPS32, color="0.3", ls="-.", lw=1, label=f"float32 eps {EPS32:.1e}")
        ax.set_yscale("log")
        ax.set_ylim(floor / 10, top * 100)
        ax.set(xlabel="step", ylabel="hand − torch parameter difference", title=title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
        return _save(fig, path)
    finally:
        plt.close(fig)


def _check_points(X, y) -> tuple[np.ndarray, np.ndarray]:
    """X as float64 (m, 2), y as 0/1 ints (m,); ValueError naming the bad argument."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(f"X must have shape (m, 2) with m >= 1, got {X.shape}")
    y = np.asarray(y).reshape(-1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have one label per row of X ({X.shape[0]}), got {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"y must hold 0/1 labels, got values {np.unique(y)[:5]}")
    return X, y.astype(int)


def _grid(X: np.ndarray, resolution: int):
    """Grid padded 10% around the data: xx, yy (r, r) and points (r*r, 2)."""
    if resolution < 2:
        raise ValueError(f"resolution must be >= 2, got {resolution}")
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = np.where(hi > lo, 0.1 * (hi - lo), 1.0)  # (2,); a flat axis gets ±1
    xx, yy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution),
                         np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution))
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def _draw_boundary(ax, predict: Predict, X, y, xx, yy, points, title, legend_loc="best"):
    """Filled P(class 1), its 0.5 contour, and the labelled points, on ``ax``."""
    g = points.shape[0]
    p = np.asarray(predict(points), dtype=np.float64)
    if p.size != g:
        raise ValueError(f"predict must return shape ({g},) for {g} points, got {p.shape}")
    if not (np.all(p >= 0) and np.all(p <= 1)):
        raise ValueError(f"predict must return values in [0, 1], got [{p.min():.3g}, "
                         f"{p.max():.3g}]")
    p = p.reshape(xx.shape)  # (r, r)
    ax.contourf(xx, yy, p, levels=np.linspace(0, 1, 11), cmap=CMAP, alpha=0.75)
    if p.min() < 0.5 < p.max():
        ax.contour(xx, yy, p, levels=[0.5], colors="k", linewidths=2)
    for cls, marker, color in ((0, "o", "#1f4e99"), (1, "^", "#b2182b")):
        ax.scatter(X[y == cls, 0], X[y == cls, 1], marker=marker, c=color, s=36,
                   edgecolors="white", linewidths=0.8, label=f"class {cls}")
    ax.set(xlim=(xx[0, 0], xx[0, -1]), ylim=(yy[0, 0], yy[-1, 0]),
           xlabel="$x_1$", ylabel="$x_2$", title=title)
    ax.legend(loc=legend_loc, framealpha=0.85)


def plot_decision_boundary(predict: Predict, X, y, path: str | os.PathLike, *,
                           title: str = "", resolution: int = 200) -> Path:
    """Decision regions of a binary classifier over 2-D data.

    Args:
        predict: maps points (g, 2) to P(class 1), or any score in [0, 1], of shape (g,) or
            (g, 1); called once with g = resolution**2.
        X: data, shape (m, 2). y: labels 0/1, shape (m,) or (m, 1).
        path: destination file (PNG unless its suffix names another matplotlib format).
        title: axes title. resolution: grid points per axis.

    Filled contours of P(class 1) (blue 0 to red 1, colour bar), the 0.5 contour in black,
    points on top (class 0 circles, class 1 triangles), limits padded 10%. Returns the path.
    """
    X, y = _check_points(X, y)
    xx, yy, points = _grid(X, resolution)
    fig, ax = plt.subplots(figsize=(6.4, 5), layout="constrained")
    try:
        _draw_boundary(ax, predict, X, y, xx, yy, points, title)
        fig.colorbar(ScalarMappable(Normalize(0, 1), CMAP), ax=ax, label=CBAR)
        return _save(fig, path)
    finally:
        plt.close(fig)


def animate_decision_boundary(frames: Sequence[tuple[str, Predict]], X, y,
                              path: str | os.PathLike, *, fps: float = 8,
                              resolution: int = 100) -> Path:
    """GIF of the decision boundary during training, one frame per entry of ``frames``.

    Args:
        frames: F pairs ``(label, predict)``; label is the frame's title (e.g. "step 120,
            loss 0.31"), predict as in :func:`plot_decision_boundary`.
        X: data, shape (m, 2). y: labels 0/1, shape (m,) or (m, 1).
        path: destination GIF. fps: frames per second. resolution: grid points per axis.

    Each frame: :func:`plot_decision_boundary`'s picture on fixed axes plus an "i/F" counter
    (it keeps look-alike frames distinct, which Pillow would merge). Returns ``Path(path)``.
    """
    frames = list(frames)
    if not frames:
        raise ValueError("frames is empty: give at least one (label, predict) pair")
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    X, y = _check_points(X, y)
    xx, yy, points = _grid(X, resolution)
    fig, ax = plt.subplots(figsize=(5.6, 4.4), layout="constrained")
    try:
        fig.colorbar(ScalarMappable(Normalize(0, 1), CMAP), ax=ax, label=CBAR)
        writer = PillowWriter(fps=fps)
        with atomic_path(path) as tmp:
            writer.setup(fig, tmp, dpi=90)
            for i, (label, predict) in enumerate(frames, start=1):
                ax.clear()
                _draw_boundary(ax, predict, X, y, xx, yy, points, label, "upper right")
                ax.text(0.01, 0.01, f"{i}/{len(frames)}", transform=ax.transAxes, fontsize=8,
                        bbox={"fc": "white", "ec": "none", "alpha": 0.8})
                writer.grab_frame()
                fig.set_layout_engine("none")  # limits and ticks are fixed: keep frame 1's
            writer.finish()
        return Path(path)
    finally:
        plt.close(fig)
