"""The batch-index sequence both twins are fed, and the checks of what a run is fed.

``make_batches(n_samples, batch_size, epochs, seed)`` describes ``epochs`` epochs; each is
a fresh seeded permutation of ``range(n_samples)`` (or the identity when ``shuffle`` is
False) cut into consecutive batches of ``batch_size`` (the last may be smaller). Batch size
m gives plain gradient descent, 1 gives per-sample SGD.

The sequence is lazy: ``Batches`` holds the recipe, and iterating it makes each epoch's
list of index arrays when that epoch is reached, from a generator seeded anew on every
iteration, so iterating twice gives the same batches, and a run of 10^8 epochs costs the
memory of one. ``len(batches)`` is the number of epochs.

``check_data`` checks a run's ``X`` and ``y`` whole, before the first step; ``check_batch``
checks one batch of indices. This module imports neither twin, nor torch.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator

import numpy as np


class Batches:
    """``epochs`` epochs of row-index batches, each epoch made when iteration reaches it.

    Iterating yields, per epoch, a list of 1-D int arrays that together hold every index of
    ``range(n_samples)`` once. ``len()`` is the number of epochs; ``steps_per_epoch`` and
    ``n_steps`` count batches without making any. ``batches[e]`` is epoch ``e`` (made by
    iterating up to it: O(e) work; slices give a list of epochs).
    """

    def __init__(self, n_samples: int, batch_size: int, epochs: int, seed: int = 0,
                 shuffle: bool = True):
        self.n_samples, self.batch_size, self.epochs = n_samples, batch_size, epochs
        self.seed, self.shuffle = seed, shuffle

    def __len__(self) -> int:
        return self.epochs

    @property
    def steps_per_epoch(self) -> int:
        """Batches in one epoch: ``ceil(n_samples / batch_size)``."""
        return math.ceil(self.n_samples / self.batch_size)

    @property
    def n_steps(self) -> int:
        """Batches in the whole sequence: ``epochs * steps_per_epoch``."""
        return self.epochs * self.steps_per_epoch

    def __iter__(self) -> Iterator[list[np.ndarray]]:
        rng = np.random.default_rng(self.seed)  # anew: every pass makes the same epochs
        n_samples, batch_size = self.n_samples, self.batch_size
        for _ in range(self.epochs):
            order = rng.permutation(n_samples) if self.shuffle else np.arange(n_samples)
            yield [order[i:i + batch_size] for i in range(0, n_samples, batch_size)]

    def __getitem__(self, index):
        if isinstance(index, slice):
            wanted = range(self.epochs)[index]
            chosen = {}
            for e, epoch in enumerate(self):
                if e > max(wanted, default=-1):
                    break
                if e in wanted:
                    chosen[e] = epoch
            return [chosen[e] for e in wanted]
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"batches: an epoch index must be an integer or a slice, got "
                            f"{type(index).__name__}")
        e = index + self.epochs if index < 0 else index
        if not 0 <= e < self.epochs:
            raise IndexError(f"batches: epoch index {index} out of range for {self.epochs} "
                             "epoch(s)")
        for i, epoch in enumerate(self):
            if i == e:
                return epoch
        raise AssertionError("unreachable")  # pragma: no cover

    def __repr__(self) -> str:
        return (f"Batches(n_samples={self.n_samples}, batch_size={self.batch_size}, "
                f"epochs={self.epochs}, seed={self.seed}, shuffle={self.shuffle})")


def make_batches(n_samples: int, batch_size: int, epochs: int, seed: int = 0,
                 shuffle: bool = True) -> Batches:
    """``epochs`` lists of index arrays covering ``range(n_samples)`` in batches, lazily.

    Each epoch is a fresh seeded permutation (or the identity when ``shuffle`` is False)
    cut into consecutive batches of ``batch_size``; the last one may be smaller. Returns a
    ``Batches``: re-iterable, ``len()`` epochs, each epoch made when it is reached.
    """
    for name, value in (("n_samples", n_samples), ("batch_size", batch_size),
                        ("epochs", epochs)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return Batches(int(n_samples), int(batch_size), int(epochs), seed, shuffle)


def _first_nonfinite(a: np.ndarray) -> tuple[int, int | None, object, int] | None:
    """``(row, column or None, value, count)`` of the first NaN/Inf of ``a``; None if none."""
    if a.dtype.kind != "f" or a.ndim == 0:
        return None
    bad = ~np.isfinite(a)
    if not bad.any():
        return None
    flat = int(np.flatnonzero(bad)[0])
    where = np.unravel_index(flat, a.shape)
    column = int(where[1]) if a.ndim == 2 else None
    return int(where[0]), column, a[where], int(bad.sum())


def check_finite_rows(a: np.ndarray, name: str) -> None:
    """ValueError naming the first row (and column) of ``a`` that holds NaN/Inf (0-based)."""
    found = _first_nonfinite(a)
    if found is not None:
        row, column, value, count = found
        at = f"row {row}" + (f" (column {column})" if column is not None else "")
        raise ValueError(f"{name} has a non-finite value in {at}: {value}; {name} must be "
                         f"finite ({count} NaN/Inf value(s) in all)")


def check_data(X, y, names: tuple[str, str] = ("X", "y")) -> None:
    """``fit``'s data, whole, before the first step: rows, one label per row, finite values.

    ``X`` must hold at least one sample (row) and ``y`` one label (row) per row of ``X``;
    floating-point values must be finite (the first NaN/Inf is named by row and column).
    Arrays that are not numeric are left to the twin's own checks (dtype errors).
    """
    xname, yname = names
    try:
        X, y = np.asarray(X), np.asarray(y)
    except (TypeError, ValueError, RuntimeError):  # ragged, or no array: the twin says what
        return
    if X.ndim == 0 or len(X) == 0:
        raise ValueError(f"{xname} must hold at least one sample (row), got shape "
                         f"{tuple(X.shape)}")
    if y.ndim == 0 or len(y) != len(X):
        raise ValueError(f"{yname} must have one label per row of {xname}: {xname} has "
                         f"{len(X)} rows, {yname} has shape {tuple(y.shape)}")
    check_finite_rows(X, xname)
    check_finite_rows(y, yname)


def check_batch(idx, n_rows: int, epoch: int) -> np.ndarray:
    """A batch of ``batches`` must index rows of X: a non-empty 1-D array of ints in [0, n).

    Returns the batch as a NumPy array. (A torch tensor is brought to the CPU by
    ``torch_ref.Trainer`` before it comes here: this module does not import torch.)
    """
    try:
        idx = np.asarray(idx)
    except (TypeError, ValueError):  # a ragged list, an object that is no array
        raise TypeError(f"batches: each batch must be a 1-D array of integer row indices, got "
                        f"{type(idx).__name__} in epoch {epoch}") from None
    if idx.size == 0:
        raise ValueError(f"batches: epoch {epoch} holds an empty batch; expected at least one "
                         "row index per batch")
    if idx.dtype.kind not in "iu" or idx.ndim != 1:
        raise TypeError(f"batches: each batch must be a 1-D array of integer row indices, got "
                        f"dtype {idx.dtype} and shape {idx.shape} in epoch {epoch}")
    lo, hi = int(idx.min()), int(idx.max())
    if lo < 0 or hi >= n_rows:
        raise ValueError(f"batches: row indices must lie in [0, {n_rows}) (X has {n_rows} "
                         f"rows), got {lo}..{hi} in epoch {epoch}")
    return idx
