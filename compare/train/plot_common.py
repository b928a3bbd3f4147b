"""What the training plots share: the backend, atomic saving, the trajectory's columns.

Rendering uses matplotlib's Agg backend (selected here unless pyplot is already imported,
as switching would close the caller's figures). ``save`` writes atomically (temporary file
in the same folder, then ``os.replace``): a failure leaves no partial file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np

if "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from handgrad.bookkeeping.atomic import atomic_path  # noqa: E402

__all__ = ["plt", "save", "columns", "log_floor", "loss_label", "HAND", "TORCH", "DPI",
           "EPS64", "EPS32"]

HAND = "handmade (NumPy)"
TORCH = "torch"
EPS64, EPS32 = float(np.finfo(np.float64).eps), float(np.finfo(np.float32).eps)
ZERO_FLOOR = 1e-18  # where an exact 0 is drawn on a log axis (lower if the data go below)
DPI = 110
LOSS_NAMES = {"bce": "binary cross-entropy", "bce_with_logits": "binary cross-entropy on logits",
              "cross_entropy": "cross-entropy (softmax of logits)",
              "nll": "negative log-likelihood", "mse": "mean squared error",
              "half_mse": "half mean squared error", "perceptron": "perceptron loss"}


def save(fig, path: str | os.PathLike) -> Path:
    """Save ``fig`` atomically; the format follows the suffix (PNG when there is none)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".").lower() or "png", dpi=DPI)
    return path


def columns(rows: Sequence[dict], name: str, *keys: str) -> list[np.ndarray]:
    """``[row[key] for row in rows]`` as float64 (len(rows),) per key; errors name ``name``."""
    rows = list(rows)
    if not rows:
        raise ValueError(f"{name} is empty: nothing to plot")
    for key in keys:
        missing = [i for i, row in enumerate(rows) if key not in row]
        if missing:
            raise ValueError(f"{name}[{missing[0]}] has no key {key!r}")
    return [np.array([row[key] for row in rows], dtype=np.float64) for key in keys]


def log_floor(values: np.ndarray) -> float:
    """Where exact zeros sit on a log axis: 1e-18, or a power of ten 100x below the
    smallest positive finite value when that is lower."""
    positive = values[(values > 0) & np.isfinite(values)]
    if not positive.size:
        return ZERO_FLOOR
    return min(ZERO_FLOOR, 10.0 ** max(np.floor(np.log10(positive.min())) - 2, -300))


def loss_label(loss_name: str) -> str:
    """The y-axis name of a loss: ``"binary cross-entropy (bce)"``; unknown names as given."""
    long = LOSS_NAMES.get(loss_name)
    return f"{long} ({loss_name})" if long else loss_name
