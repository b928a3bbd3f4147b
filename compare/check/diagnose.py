"""A diagnosis for a failing entry: which usual slip fits the numbers.

``diagnose(hand, ref, n_samples=None)`` tests hypotheses that need only the two arrays;
``diagnose_layers(model, report, ref_deltas, ref_grads)`` those that need a layered
handmade-shaped model. Each returns words, or None when no hypothesis fits.
"""

from __future__ import annotations

import numpy as np


def diagnose(hand, ref, n_samples: int | None = None) -> str | None:
    """The slip that turns ``ref`` into ``hand``, in words; None when none fits."""
    return None


def diagnose_layers(model, X, y, report, ref_deltas: dict, ref_grads: dict) -> dict[str, str]:
    """Diagnoses that need the model's layers, keyed by entry name (e.g. ``"delta[0]"``)."""
    return {}


__all__ = ["diagnose", "diagnose_layers", "np"]
