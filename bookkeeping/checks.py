"""Checks of a model's shape that are not mathematics, written once for both twins."""

from __future__ import annotations

import numbers

import numpy as np


def check_sizes(sizes) -> list[int]:
    """``sizes`` as a list of ints: at least two, each a positive integer (not a bool).

    A list, tuple or NumPy array is accepted; anything else (a string, a set, a bare
    integer) is a ValueError naming what was given.
    """
    items = list(sizes) if isinstance(sizes, (list, tuple, np.ndarray)) else []
    if len(items) < 2 or any(isinstance(s, bool) or not isinstance(s, numbers.Integral)
                             or s < 1 for s in items):
        raise ValueError(f"sizes must be [n_in, ..., n_out]: at least two positive integers, "
                         f"got {sizes!r}")
    return [int(s) for s in items]
