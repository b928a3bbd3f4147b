"""Plots of a side-by-side training run: losses, twin divergence, decision boundaries.

The loss and divergence curves live in ``compare.train.plot_curves`` (re-exported here);
this module draws the decision boundary of a binary classifier over 2-D data, as a PNG
and as a GIF of its course during training. Rendering: matplotlib's Agg backend (see
``compare.train.plot_common``), Pillow for GIFs. Every function closes its figure and
writes atomically (temporary file in the same folder, then ``os.replace``): a failure
leaves no partial file.

The colour is P(class 1) on a fixed scale, 0 blue, 0.5 white, 1 red, so a model that is
undecided (P = 0.5) looks neutral however small its variations. The black P = 0.5 line is
drawn only when P crosses 0.5 by more than ``MARGIN`` on both sides; otherwise the title's
last line says why there is none (e.g. "P = 0.50 ± 1e-12 everywhere: no boundary"), and,
for an undecided model, that its classes (and so any accuracy reported for it) come from
tie-breaking at the cut P > 0.5, not from a boundary. ``Caption`` says which twin, which
points and when a picture shows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.animation import PillowWriter
from matplotlib.cm import ScalarMappable
from matplotlib.colors import ListedColormap, Normalize

from handgrad.bookkeeping.atomic import atomic_path
from handgrad.compare.train.plot_common import HAND, plt, save
from handgrad.compare.train.plot_curves import (
    divergence_figure,
    losses_figure,
    plot_divergence,
    plot_losses,
)

__all__ = ["plot_losses", "plot_divergence", "plot_decision_boundary",
           "animate_decision_boundary", "losses_figure", "divergence_figure",
           "boundary_figure", "Caption", "describe"]

Predict = Callable[[np.ndarray], np.ndarray]  # points (g, 2) -> P(class 1), shape (g,)

# bwr (blue at 0, white at 0.5, red at 1) mixed 40% with white: the points stay visible
# on it; P = 0.5 stays white
CMAP = ListedColormap(0.6 * matplotlib.colormaps["bwr"](np.linspace(0, 1, 256))
                      + 0.4 * np.ones((256, 4)), name="bwr_light")
CBAR = "P(class 1)   (white: 0.5, undecided)"
MARGIN = 1e-3  # P must pass 0.5 by more than this on both sides for a 0.5 line
TIE_BREAKING = "its classes, and any accuracy, are tie-breaking at P > 0.5"
GIF_DPI = 90


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


def _probabilities(predict: Predict, points: np.ndarray, shape) -> np.ndarray:
    """``predict(points)`` checked (g values in [0, 1]) and shaped like the grid (r, r)."""
    g = points.shape[0]
    p = np.asarray(predict(points), dtype=np.float64)
    if p.size != g:
        raise ValueError(f"predict must return shape ({g},) for {g} points, got {p.shape}")
    if not (np.all(p >= 0) and np.all(p <= 1)):
        raise ValueError(f"predict must return values in [0, 1], got [{p.min():.3g}, "
                         f"{p.max():.3g}]")
    return p.reshape(shape)


@dataclass(frozen=True)
class Caption:
    """Which model a picture shows, on which points, and when: its title's second line.

    ``twin``: whose model ("handmade (NumPy)" or "torch"); ``split``: which points are
    drawn (also the legend's title); ``step``, ``epoch``, ``loss``: when (None: not said;
    step 0 reads "initial parameters"); ``restored``: the epoch is the lowest validation
    loss's, restored at the end.
    """

    twin: str = HAND
    split: str = "training"
    step: int | None = None
    epoch: int | None = None
    loss: float | None = None
    restored: bool = False

    def text(self) -> str:
        """``"handmade (NumPy) model, training points\nafter step 20 (epoch 5), loss
        0.31"``; no second line when step, epoch and loss are all None."""
        step = self.step
        when = ("initial parameters" if step == 0 else
                f"after step {step}" if step is not None else "")
        if self.epoch is not None and step != 0:
            epoch_text = f"epoch {self.epoch}" + (": lowest validation loss, restored"
                                                  if self.restored else "")
            when += f" ({epoch_text})" if when else f"after {epoch_text}"
        if self.loss is not None:
            when += (", " if when else "") + f"loss {self.loss:.4g}"
        return _lines(f"{self.twin} model, {self.split} points", when)


def describe(twin: str = HAND, split: str = "training", step=None, epoch=None, loss=None,
             restored: bool = False) -> str:
    """``Caption(twin, split, step, epoch, loss, restored).text()``: a picture's title
    lines, which model and points, then when."""
    return Caption(twin, split, step, epoch, loss, restored).text()


def no_boundary_note(p: np.ndarray) -> str | None:
    """Why no P = 0.5 line is drawn for the grid's probabilities ``p``, or None if it is:
    "P = 0.50 ± 1e-12 everywhere: no boundary (undecided)" and, on a second line, that its
    classes and any accuracy are tie-breaking at P > 0.5 (``TIE_BREAKING``: the logistic
    neuron on XOR scores 0.75 that way) when P stays within ``MARGIN`` of 0.5; "P between
    0.26 and 0.40 everywhere: all class 0, no boundary" when P stays on one side."""
    lo, hi = float(p.min()), float(p.max())
    if lo < 0.5 - MARGIN and hi > 0.5 + MARGIN:
        return None
    spread = max(abs(lo - 0.5), abs(hi - 0.5))
    if spread <= MARGIN:
        return ("P = 0.50 exactly everywhere" if spread == 0 else
                f"P = 0.50 ± {spread:.0e} everywhere") + \
            f": no boundary (undecided)\n{TIE_BREAKING}"
    side = 1 if lo >= 0.5 - MARGIN else 0
    return f"P between {lo:.2f} and {hi:.2f} everywhere: all class {side}, no boundary"


def _draw_points(ax, X, y, xx, yy, split: str) -> None:
    """The labelled points (class 0 circles, class 1 triangles), limits, the legend below."""
    for cls, marker, color in ((0, "o", "#1f4e99"), (1, "^", "#b2182b")):
        ax.scatter(X[y == cls, 0], X[y == cls, 1], marker=marker, c=color, s=36,
                   edgecolors="black", linewidths=0.7, label=f"class {cls}", zorder=3)
    ax.plot([], [], color="k", lw=2, label="P = 0.5 (decision boundary)")
    ax.set(xlim=(xx[0, 0], xx[0, -1]), ylim=(yy[0, 0], yy[-1, 0]),
           xlabel="$x_1$", ylabel="$x_2$")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=3, fontsize=8,
              title=f"{split} points", title_fontsize=8, frameon=False)


def _draw_p(ax, p, xx, yy):
    """P(class 1) as an image on the fixed 0..1 scale and its 0.5 line when P crosses 0.5
    (:func:`no_boundary_note`); returns (image, contour or None, note or None)."""
    image = ax.imshow(p, origin="lower", extent=(xx[0, 0], xx[0, -1], yy[0, 0], yy[-1, 0]),
                      cmap=CMAP, norm=Normalize(0, 1), interpolation="bilinear",
                      aspect="auto", zorder=0)
    note = no_boundary_note(p)
    line = ax.contour(xx, yy, p, levels=[0.5], colors="k", linewidths=2, zorder=2) \
        if note is None else None
    return image, line, note


def _lines(*lines) -> str:
    return "\n".join(line for line in lines if line)


def boundary_figure(predict: Predict, X, y, *, title: str = "", resolution: int = 200,
                    caption: Caption | None = None):
    """Decision regions of a binary classifier over 2-D data (the caller closes the figure).

    Args:
        predict: maps points (g, 2) to P(class 1), or any score in [0, 1], of shape (g,) or
            (g, 1); called once with g = resolution**2.
        X: the drawn points, shape (m, 2). y: their labels 0/1, shape (m,) or (m, 1).
        title: first title line (e.g. dataset, optimizer, dtype). resolution: grid points
            per axis.
        caption: the second title line (:class:`Caption`): which twin's model, which split
            the points are (also the legend's title), when. Default: ``Caption()``.

    P(class 1) as an image on the fixed scale 0..1 (colour bar), the P = 0.5 line in black
    or, as the title's last lines, why there is none (:func:`no_boundary_note`); the points
    on top (class 0 circles, class 1 triangles), limits padded 10%. Returns the figure.
    """
    caption = caption or Caption()
    X, y = _check_points(X, y)
    xx, yy, points = _grid(X, resolution)
    p = _probabilities(predict, points, xx.shape)
    fig, ax = plt.subplots(figsize=(6.6, 6), layout="constrained")
    try:
        _, _, note = _draw_p(ax, p, xx, yy)
        _draw_points(ax, X, y, xx, yy, caption.split)
        ax.set_title(_lines(title, caption.text(), note), fontsize=10)
        fig.colorbar(ScalarMappable(Normalize(0, 1), CMAP), ax=ax, label=CBAR)
    except BaseException:
        plt.close(fig)
        raise
    return fig


def plot_decision_boundary(predict: Predict, X, y, path: str | os.PathLike, *,
                           title: str = "", resolution: int = 200,
                           caption: Caption | None = None) -> Path:
    """:func:`boundary_figure` saved to ``path`` (PNG unless its suffix names another
    matplotlib format); returns ``Path(path)``."""
    fig = boundary_figure(predict, X, y, title=title, resolution=resolution, caption=caption)
    try:
        return save(fig, path)
    finally:
        plt.close(fig)


def animate_decision_boundary(frames: Sequence[tuple[str, Predict]], X, y,
                              path: str | os.PathLike, *, fps: float = 8,
                              resolution: int = 100, title: str = "",
                              caption: Caption | None = None) -> Path:
    """GIF of the decision boundary during training, one frame per entry of ``frames``.

    Args:
        frames: F pairs ``(label, predict)``; label says when (e.g. "step 0 (initial),
            training loss 0.693"), predict as in :func:`boundary_figure`.
        X: the drawn points, shape (m, 2). y: their labels 0/1, shape (m,) or (m, 1).
        path: destination GIF. fps: frames per second. resolution: grid points per axis.
        title, caption: each frame's title is ``title``, ``"<twin> model, <split>
            points"`` (the caption's twin and split; its step, epoch and loss are left to
            the labels), the label, and the no-boundary note when there is one.

    Each frame: :func:`boundary_figure`'s picture on fixed axes (laid out once, with room
    for five title lines) plus an "i/F" counter (it keeps look-alike frames distinct,
    which Pillow would merge). Returns ``Path(path)``.
    """
    given = caption or Caption()
    caption = Caption(given.twin, given.split)  # when: each frame's label says it
    frames = list(frames)
    if not frames:
        raise ValueError("frames is empty: give at least one (label, predict) pair")
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    X, y = _check_points(X, y)
    xx, yy, points = _grid(X, resolution)
    fig, ax = plt.subplots(figsize=(6, 5.4), dpi=GIF_DPI, layout="constrained")
    try:
        fig.colorbar(ScalarMappable(Normalize(0, 1), CMAP), ax=ax, label=CBAR)
        _draw_points(ax, X, y, xx, yy, caption.split)
        counter = ax.text(0.01, 0.01, "", transform=ax.transAxes, fontsize=8,
                          bbox={"fc": "white", "ec": "none", "alpha": 0.8})
        ax.set_title("\n".join(["Xg"] * 5), fontsize=11)  # room for five lines (of size 10)
        fig.canvas.draw()
        with matplotlib.rc_context({"figure.autolayout": False,
                                    "figure.constrained_layout.use": False}):
            fig.set_layout_engine(None)  # keep this layout (limits and ticks are fixed),
            # and no layout pass before each frame's draw
        writer, drawn = PillowWriter(fps=fps), []
        with atomic_path(path) as tmp:
            writer.setup(fig, tmp, dpi=GIF_DPI)
            for i, (label, predict) in enumerate(frames, start=1):
                p = _probabilities(predict, points, xx.shape)
                for artist in drawn:
                    artist.remove()
                image, line, note = _draw_p(ax, p, xx, yy)
                drawn = [image] + ([line] if line is not None else [])
                ax.set_title(_lines(title, caption.text(), label, note), fontsize=10)
                counter.set_text(f"{i}/{len(frames)}")
                writer.grab_frame()  # one draw: only the image, line and texts changed
            writer.finish()
        return Path(path)
    finally:
        plt.close(fig)
