"""What every picture shares: the Agg backend, the size, the colours, an atomic save."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen

from handgrad.bookkeeping.atomic import atomic_path  # noqa: E402

IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
DPI = 110
VALUE = "#1f3b73"  # forward values
GRAD = "#b3261e"  # gradients
MUTED = "#777777"


def figure(width: float, height: float, **kwargs):
    """``(fig, axes)`` of ``width`` x ``height`` inches."""
    return plt.subplots(figsize=(width, height), **kwargs)


def save(fig, path: Path) -> None:
    """Write ``fig`` as PNG to ``path`` (``atomic_path``: never half-written)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
