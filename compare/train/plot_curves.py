"""Curves of a side-by-side training run: the loss of both twins, and how far they drift.

A trajectory is a list of dicts, one per optimizer step (``step``, ``epoch``, ``hand_loss``,
``torch_loss``, ``max_param_diff``, ``rel_param_diff``, ...); each plot reads only the keys
it needs. ``*_figure`` builds the figure (the caller closes it); ``plot_*`` saves it
atomically and closes it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from handgrad.compare.train.plot_common import (
    EPS32,
    EPS64,
    HAND,
    TORCH,
    columns,
    log_floor,
    loss_label,
    plt,
    save,
)

__all__ = ["losses_figure", "plot_losses", "divergence_figure", "plot_divergence"]

# colour family = split, style = twin: handmade a thick light line, torch a thin dark
# dashed one drawn on top (agreeing twins read as one line with dashes on it)
TRAIN, TRAIN_TORCH, VAL, VAL_TORCH = "tab:blue", "navy", "tab:green", "darkgreen"
MAX_DIFF = "max |θ_hand − θ_torch|  (absolute, in parameter units)"
LOG_RANGE = 10  # a log loss axis only when the losses span at least this factor
REL_DIFF = "‖θ_hand − θ_torch‖ / max(‖θ_torch‖, ‖θ_0‖)  (relative, no unit)"


def _epoch_means(steps, epochs, values):
    """Per epoch (in order): its last step (E,) and the mean of its batches' values (E,)."""
    order = list(dict.fromkeys(epochs.tolist()))
    x = np.array([steps[epochs == e].max() for e in order])
    return x, np.array([values[epochs == e].mean() for e in order])


def _log_series(ax, x, v, floor, zero_marker="o", **style):
    """``v`` on a log axis with exact zeros drawn at ``floor`` as hollow markers."""
    zero = v == 0
    shown = np.where(zero, floor, v)
    if style.get("ls") == "none":  # markers only: the zeros get their own below
        ax.plot(x[~zero], v[~zero], **style)
    else:
        ax.plot(x, shown, **style)
    if zero.any():
        ax.plot(x[zero], shown[zero], ls="none", marker=zero_marker, ms=5,
                mfc="none", color=style["color"], markevery=max(1, int(zero.sum()) // 40))
    return zero.any()


def _step_label(epochs: np.ndarray) -> str:
    """``"optimizer step (k batches per epoch)"`` when every epoch but the last has k."""
    counts = np.unique(epochs, return_counts=True)[1]
    k = int(counts[0])
    same = counts.size == 1 or np.all(counts[:-1] == k) and counts[-1] <= k
    return f"optimizer step ({k} batch{'es' if k > 1 else ''} per epoch)" if same else \
        "optimizer step"


def _draw_losses(ax, dx, steps, epochs, hand, torch_, v, loss_name) -> None:
    """The two panels of :func:`losses_figure`; ``v``: (epochs, steps, hand, torch) or None."""
    x, h = _loss_panel(ax, steps, epochs, hand, torch_, v, loss_name)
    _difference_panel(dx, steps, epochs, np.abs(hand - torch_), v, x, h)


def _loss_panel(ax, steps, epochs, hand, torch_, v, loss_name):
    """The top panel: both twins' training loss (and validation loss when ``v`` is given);
    returns the training curve's steps and handmade values, (E,) or (S,) each."""
    per_batch = len(np.unique(epochs)) < len(steps)
    if per_batch:
        ax.plot(steps, hand, color=TRAIN, lw=0.7, alpha=0.3,
                label=f"training, each batch ({HAND}, raw)")
        (x, h), (_, t) = _epoch_means(steps, epochs, hand), _epoch_means(steps, epochs, torch_)
        how = "mean over each epoch's batches"
    else:
        x, h, t, how = steps, hand, torch_, "full batch, each step"
    marks = {"markevery": max(1, len(x) // 30)}
    ax.plot(x, h, color=TRAIN, lw=2.6, alpha=0.8, label=f"training, {how}: {HAND}")
    ax.plot(x, t, color=TRAIN_TORCH, lw=1.1, ls="--", marker="x" if per_batch else None,
            ms=5, label=f"training, {how}: {TORCH}", **marks)
    losses = [hand, torch_] + (_validation_lines(ax, v) if v is not None else [])
    if loss_name in ("bce", "bce_with_logits"):
        ax.axhline(np.log(2), color="0.4", ls=":", lw=1,
                   label="ln 2 ≈ 0.693: the loss of P = 0.5 everywhere (a coin flip)")
    every = np.concatenate(losses)
    log = bool(np.all(every > 0)) and every.max() >= LOG_RANGE * every.min()
    ax.set_yscale("log" if log else "linear")
    ax.set(ylabel=loss_label(loss_name) + (", log scale" if log else ""),
           title="loss of both twins" + (": training and validation" if v is not None else ""))
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return x, h


def _validation_lines(ax, v) -> list:
    """Both twins' validation loss per epoch and the restored epoch's line; their values."""
    v_epoch, v_step, v_hand, v_torch = v
    vmarks = {"markevery": max(1, len(v_step) // 30)}
    ax.plot(v_step, v_hand, color=VAL, lw=2.6, alpha=0.8, marker="o", ms=6, mfc="none",
            label=f"validation, end of each epoch: {HAND}", **vmarks)
    ax.plot(v_step, v_torch, color=VAL_TORCH, lw=1.1, ls="--", marker="x", ms=5,
            label=f"validation, end of each epoch: {TORCH}", **vmarks)
    best = int(np.argmin(v_hand))  # the first minimum: the epoch the Trainer restores
    ax.axvline(v_step[best], color=VAL, ls=":", lw=1.2, label=f"lowest validation loss "
               f"(epoch {v_epoch[best]:.0f}): restored at the end")
    return [v_hand, v_torch]


def _difference_panel(dx, steps, epochs, diff, v, x, h) -> None:
    """The bottom panel: ``diff`` = |hand − torch| of the training loss per step (and of the
    validation loss when ``v`` is given) on a log axis, beside eps × the loss ``h`` at
    ``x``."""
    diffs = [diff] + ([np.abs(v[2] - v[3])] if v is not None else [])
    floor = log_floor(np.concatenate(diffs))
    zero = _log_series(dx, steps, diffs[0], floor, "o", color=TRAIN, ls="none", marker=".",
                       ms=3, label="training loss, each step")
    if v is not None:
        zero |= _log_series(dx, v[1], diffs[1], floor, "o", color=VAL, ls="none",
                            marker="s", ms=3, label="validation loss, each epoch")
    for eps, ls, name in ((EPS64, "--", "float64"), (EPS32, "-.", "float32")):
        dx.plot(x, eps * np.abs(h), color="0.45", ls=ls, lw=0.9,
                label=f"{name} eps × training loss ({eps:.1e} × loss)")
    if zero:
        dx.axhline(floor, color="0.5", ls=":", lw=1, label=f"exactly 0 (drawn at {floor:.0e})")
    dx.set_yscale("log")
    dx.set(xlabel=_step_label(epochs), ylabel="|handmade − torch|",
           title="twin difference in the loss, log scale (markers at the bottom: exactly 0)"
           if zero else "twin difference in the loss, log scale")
    dx.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.27), ncol=2)
    dx.grid(True, alpha=0.3)


def losses_figure(trajectory: Sequence[dict], *, val: Sequence[dict] | None = None,
                  title: str = "", loss_name: str = "loss"):
    """Top: the loss of both twins; bottom: ``|hand − torch|`` of it on a log axis.

    Args:
        trajectory: T dicts with ``step``, ``epoch``, ``hand_loss``, ``torch_loss`` (the
            batch loss before that step).
        val: optional E dicts ``{epoch, hand_val_loss, torch_val_loss}`` (``step`` too when
            known; else the last step of that epoch in ``trajectory``, 0 before the first).
        title: the figure's title (e.g. dataset, optimizer, dtype). loss_name: the y label.

    Training (blue): with several batches per epoch, the mean over each epoch's batches
    (at the epoch's last step) and the raw per-batch loss as a faint line behind it; with
    one batch per epoch, the per-step loss itself. Validation (green): per epoch. Handmade:
    thick solid; torch: thin dark dashed, on top. Log y axis when every loss is positive.
    Bottom: exact zeros at a labelled floor; grey curves at float64/float32 eps x loss, the
    size of one rounding. Returns the figure (2 axes).
    """
    steps, epochs, hand, torch_ = columns(trajectory, "trajectory",
                                          "step", "epoch", "hand_loss", "torch_loss")
    v = None
    if val is not None:
        v_epoch, v_hand, v_torch = columns(val, "val", "epoch", "hand_val_loss",
                                           "torch_val_loss")
        v_step = np.array([row["step"] if "step" in row else
                           steps[epochs <= e].max(initial=0.0) for row, e in zip(val, v_epoch)])
        v = (v_epoch, v_step, v_hand, v_torch)
    fig, axes = plt.subplots(2, 1, figsize=(8, 7.6), sharex=True, layout="constrained",
                             height_ratios=(3, 1.6))
    try:
        _draw_losses(*axes, steps, epochs, hand, torch_, v, loss_name)
    except BaseException:
        plt.close(fig)
        raise
    if title:
        fig.suptitle(title)
    return fig


def plot_losses(trajectory: Sequence[dict], path: str | os.PathLike, *,
                val: Sequence[dict] | None = None, title: str = "",
                loss_name: str = "loss") -> Path:
    """:func:`losses_figure` saved to ``path`` (PNG unless its suffix names another
    matplotlib format); returns ``Path(path)``."""
    fig = losses_figure(trajectory, val=val, title=title, loss_name=loss_name)
    try:
        return save(fig, path)
    finally:
        plt.close(fig)


def divergence_figure(trajectory: Sequence[dict], *, title: str = ""):
    """How far the twins' parameters drift apart, against step, on a log y axis.

    Args:
        trajectory: T dicts with ``step``, ``max_param_diff``, ``rel_param_diff`` (>= 0).
        title: the figure's title (e.g. dataset, optimizer, dtype).

    Exact zeros cannot sit on a log axis: they are drawn at a floor (1e-18, or a power of
    ten 100x below the smallest positive value) with hollow markers and a dotted line
    labelled "exactly 0 (drawn at ...)". Grey lines mark float64 eps (2.2e-16, dashed) and
    float32 eps (1.2e-7, dash-dot); the legend sits below the axes. Returns the figure.
    """
    series = [("max_param_diff", MAX_DIFF, "tab:red", "o"),
              ("rel_param_diff", REL_DIFF, "tab:purple", "s")]
    steps, *values = columns(trajectory, "trajectory", "step", *(s[0] for s in series))
    for (key, *_), v in zip(series, values):
        if np.any(v < 0):
            raise ValueError(f"trajectory {key!r} has negative values; it must be >= 0")
    every = np.concatenate(values)
    floor = log_floor(every)
    top = max(every[np.isfinite(every)].max(initial=0.0), EPS32)
    fig, ax = plt.subplots(figsize=(8, 5.6), layout="constrained")
    zero = False
    for (_, label, color, marker), v in zip(series, values):
        zero |= _log_series(ax, steps, v, floor, marker, color=color, lw=1.5, label=label)
    if zero:
        ax.axhline(floor, color="0.5", ls=":", lw=1, label=f"exactly 0 (drawn at {floor:.0e})")
    ax.axhline(EPS64, color="0.3", ls="--", lw=1, label=f"float64 eps {EPS64:.1e}")
    ax.axhline(EPS32, color="0.3", ls="-.", lw=1, label=f"float32 eps {EPS32:.1e}")
    ax.set_yscale("log")
    ax.set_ylim(floor / 10, top * 100)
    ax.set(xlabel="optimizer step", ylabel="parameter difference, handmade − torch (log scale)",
           title="how far the twins' parameters drift apart after each step")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    if title:
        fig.suptitle(title)
    return fig


def plot_divergence(trajectory: Sequence[dict], path: str | os.PathLike, *,
                    title: str = "") -> Path:
    """:func:`divergence_figure` saved to ``path`` (PNG unless its suffix names another
    matplotlib format); returns ``Path(path)``."""
    fig = divergence_figure(trajectory, title=title)
    try:
        return save(fig, path)
    finally:
        plt.close(fig)
