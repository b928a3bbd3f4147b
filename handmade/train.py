"""The training loop of the NumPy side, with the stopping rules of seed 004.

A run is fed a batch-index sequence made once (``make_batches``): one list per epoch, each
holding the row indices of every mini-batch, so that the torch twin can be fed the very
same sequence. Batch size m gives plain gradient descent, 1 gives per-sample SGD.

Stopping rules (``Trainer``), checked in this order:

* divergence: a loss or gradient that is NaN or Inf, or a parameter that a step made NaN
  or Inf, raises ``DivergenceError`` naming the step and the learning rate, never silently;
* gradient norm: a step whose gradient norm ``sqrt(Σ_k ‖g_k‖²)`` is below ``grad_tol`` is
  not taken, and the run stops ("grad_norm"); with full batches this is the true gradient;
* early stopping: after each epoch the loss on a held-out split is compared with the best
  so far; after ``patience`` epochs without improvement the run stops ("early_stopping");
  whenever a held-out split is monitored, the best parameters are restored at the end;
* the number of epochs (``len(batches)``): "max_epochs".

The torch side (``torch_ref/train.py``) applies the same rules; a test holds them equal.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from bookkeeping.errors import DivergenceError, NonFiniteParameterError


def make_batches(n_samples: int, batch_size: int, epochs: int, seed: int = 0,
                 shuffle: bool = True) -> list[list[np.ndarray]]:
    """``epochs`` lists of index arrays covering ``range(n_samples)`` in batches.

    Each epoch is a fresh seeded permutation (or the identity when ``shuffle`` is False)
    cut into consecutive batches of ``batch_size``; the last one may be smaller.
    """
    for name, value in (("n_samples", n_samples), ("batch_size", batch_size),
                        ("epochs", epochs)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(epochs):
        order = rng.permutation(n_samples) if shuffle else np.arange(n_samples)
        out.append([order[i:i + batch_size] for i in range(0, n_samples, batch_size)])
    return out


@dataclass
class History:
    """What a run did: per step the batch loss and gradient norm, per epoch the val loss."""

    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    stop_reason: str = "max_epochs"
    best_epoch: int | None = None
    epochs: int = 0


class Trainer:
    """A model, its optimizer and the stopping rules; ``step`` and ``end_epoch`` drive it."""

    def __init__(self, model, optimizer, *, patience: int | None = None,
                 grad_tol: float | None = None):
        check_rules(patience, grad_tol)
        self.model, self.optimizer = model, optimizer
        self.patience, self.grad_tol = patience, grad_tol
        self.history = History()
        self.stop_reason: str | None = None
        self._best_val, self._best_params, self._wait = math.inf, None, 0

    def step(self, X, y) -> tuple[float, float]:
        """One optimizer step on the batch ``(X, y)``; returns (loss, gradient norm) before it."""
        n = len(self.history.losses) + 1
        try:
            loss, grads = self.model.loss_and_grads(X, y)
        except NonFiniteParameterError as exc:
            if n == 1:
                raise  # handed in that way: bad input, not divergence
            raise DivergenceError(f"a parameter became non-finite ({exc})", n,
                                  self.history.epochs + 1, self.optimizer.lr) from None
        grad_norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
        if not math.isfinite(loss):
            raise DivergenceError(f"the loss became {loss}", n, self.history.epochs + 1,
                                  self.optimizer.lr)
        if not math.isfinite(grad_norm):
            raise DivergenceError("the gradient became non-finite", n,
                                  self.history.epochs + 1, self.optimizer.lr)
        self.history.losses.append(loss)
        self.history.grad_norms.append(grad_norm)
        if self.grad_tol is not None and grad_norm < self.grad_tol:
            self.stop_reason = "grad_norm"  # converged: this step is not taken
        else:
            self.optimizer.step(grads)
        return loss, grad_norm

    def end_epoch(self, X_val=None, y_val=None) -> bool:
        """Close an epoch (early-stopping bookkeeping); True when the run should stop."""
        self.history.epochs += 1
        if X_val is not None:
            val = self.model.loss_value(X_val, y_val)
            self.history.val_losses.append(val)
            if val < self._best_val:
                self._best_val, self._wait = val, 0
                self._best_params = {k: p.copy() for k, p in self.model.params.items()}
                self.history.best_epoch = self.history.epochs
            else:
                self._wait += 1
                if self.patience is not None and self._wait >= self.patience:
                    self.stop_reason = self.stop_reason or "early_stopping"
        return self.stop_reason is not None

    def finish(self) -> History:
        """Restore the best parameters (if a held-out split was monitored); the history."""
        if self._best_params is not None:
            for key, p in self.model.params.items():
                p[...] = self._best_params[key]
        self.history.stop_reason = self.stop_reason or "max_epochs"
        return self.history

    def fit(self, X, y, batches, X_val=None, y_val=None) -> History:
        """Run every epoch of ``batches`` (from ``make_batches``) unless a rule stops it."""
        X, y = np.asarray(X), np.asarray(y)
        check_data(X, y)
        for e, epoch in enumerate(batches, start=1):
            for idx in epoch:
                check_batch(idx, len(X), e)
                self.step(X[idx], y[idx])
                if self.stop_reason:
                    break
            if self.end_epoch(X_val, y_val):
                break
        return self.finish()


def check_rules(patience, grad_tol) -> None:
    """ValueError unless ``patience`` is None or an integer >= 1, ``grad_tol`` None or >= 0."""
    if patience is not None and (isinstance(patience, bool) or
                                 not isinstance(patience, numbers.Integral) or patience < 1):
        raise ValueError(f"patience must be an integer >= 1 or None, got {patience!r}")
    if grad_tol is not None and not (isinstance(grad_tol, numbers.Real) and
                                     math.isfinite(grad_tol) and grad_tol >= 0):
        raise ValueError(f"grad_tol must be a finite number >= 0 or None, got {grad_tol!r}")


def check_data(X: np.ndarray, y: np.ndarray) -> None:
    """``fit``'s data: at least one row, and one label (row) of ``y`` per row of ``X``."""
    if X.ndim == 0 or len(X) == 0:
        raise ValueError(f"X must hold at least one sample (row), got shape {X.shape}")
    if y.ndim == 0 or len(y) != len(X):
        raise ValueError(f"y must have one label per row of X: X has {len(X)} rows, "
                         f"y has shape {y.shape}")


def check_batch(idx, n_rows: int, epoch: int) -> None:
    """A batch of ``batches`` must index rows of X: a non-empty 1-D array of ints in [0, n)."""
    idx = np.asarray(idx)
    if idx.size == 0:
        raise ValueError(f"batches: epoch {epoch} holds an empty batch; expected at least one "
                         "row index per batch")
    if idx.dtype.kind not in "iu" or idx.ndim != 1:
        raise TypeError(f"batches: each batch must be a 1-D array of integer row indices, got "
                        f"dtype {idx.dtype} and shape {idx.shape} in epoch {epoch}")
    if idx.min() < 0 or idx.max() >= n_rows:
        raise ValueError(f"batches: row indices must lie in [0, {n_rows}) (X has {n_rows} "
                         f"rows), got {idx.min()}..{idx.max()} in epoch {epoch}")
