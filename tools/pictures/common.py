"""What every picture shares: the Agg backend, the size, the colours, an atomic save."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen

IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
DPI = 110
VALUE = "#1f3b73"  # forward values
GRAD = "#b3261e"  # gradients
MUTED = "#777777"


def figure(width: float, height: float, **kwargs):
    """``(fig, axes)`` of ``width`` x ``height`` inches."""
    return plt.subplots(figsize=(width, height), **kwargs)


def save(fig, path: Path) -> None:
    """Write ``fig`` as PNG to ``path`` (a temporary file renamed, so never half-written)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    os.replace(tmp, path)
