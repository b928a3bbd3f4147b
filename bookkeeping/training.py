"""The training loop's bookkeeping, written once for both twins: batches, history, rules.

A run is fed a batch-index sequence made once (``make_batches``): one list per epoch, each
holding the row indices of every mini-batch, so that both twins can be fed the very same
sequence. Batch size m gives plain gradient descent, 1 gives per-sample SGD.

Stopping rules (``BaseTrainer``), checked in this order:

* divergence: a loss or gradient that is NaN or Inf, or a parameter that a step made NaN
  or Inf, raises ``DivergenceError`` naming the step and the learning rate, never silently;
  a parameter that is NaN/Inf before the first step is bad input instead (the model's
  ``NonFiniteParameterError``, a ValueError, passes through);
* gradient norm: a step whose gradient norm ``sqrt(Σ_k ‖g_k‖²)`` is below ``grad_tol`` is
  not taken, and the run stops ("grad_norm"); with full batches this is the true gradient;
* early stopping: after each epoch the loss on a held-out split is compared with the best
  so far; after ``patience`` epochs without improvement the run stops ("early_stopping");
  whenever a held-out split is monitored, the best parameters are restored at the end;
* the number of epochs (``len(batches)``): "max_epochs".

``handmade.Trainer`` and ``torch_ref.Trainer`` subclass ``BaseTrainer`` and supply only
their own lines (see its docstring); none of the rules is written twice. This module
imports neither twin, nor torch.
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


class BaseTrainer:
    """A model, its optimizer and the stopping rules; ``step`` and ``end_epoch`` drive it.

    The model offers ``loss_and_grads(X, y) -> (loss: float, {name: gradient})`` (NumPy
    arrays or torch tensors: anything with ``*`` and ``.sum()``). A twin's ``Trainer``
    supplies the rest, its own lines only:

    * ``_apply(grads)``: one optimizer step with the batch's gradients;
    * ``_lr()``: the learning rate, for ``DivergenceError``'s message;
    * ``_snapshot()`` / ``_restore(snapshot)``: copy the parameters / put a copy back;
    * ``val_loss(X, y)``: the loss on a held-out split, without gradients;
    * ``_prepare(X, y)`` (default ``np.asarray``) and ``_index(idx, n_rows, epoch)``
      (default ``check_batch``): ``fit``'s data and a batch's rows in the twin's arrays.
    """

    def __init__(self, model, optimizer, *, patience: int | None = None,
                 grad_tol: float | None = None):
        check_rules(patience, grad_tol)
        self.model, self.optimizer = model, optimizer
        self.patience, self.grad_tol = patience, grad_tol
        self.history = History()
        self.stop_reason: str | None = None
        self._best_val, self._best, self._wait = math.inf, None, 0

    # --- the protocol: each twin's Trainer supplies these --------------------------------

    def _apply(self, grads) -> None:
        raise NotImplementedError

    def _lr(self):
        raise NotImplementedError

    def _snapshot(self):
        raise NotImplementedError

    def _restore(self, snapshot) -> None:
        raise NotImplementedError

    def val_loss(self, X, y) -> float:
        raise NotImplementedError

    def _prepare(self, X, y):
        return np.asarray(X), np.asarray(y)

    def _index(self, idx, n_rows: int, epoch: int):
        return check_batch(idx, n_rows, epoch)

    # --- the rules -------------------------------------------------------------------------

    def _divergence(self, what: str, step: int) -> DivergenceError:
        return DivergenceError(what, step, self.history.epochs + 1, self._lr())

    def step(self, X, y) -> tuple[float, float]:
        """One optimizer step on the batch ``(X, y)``; returns (loss, gradient norm) before it."""
        n = len(self.history.losses) + 1
        try:
            loss, grads = self.model.loss_and_grads(X, y)
        except NonFiniteParameterError as exc:
            if n == 1:
                raise  # handed in that way: bad input, not divergence
            raise self._divergence(f"a parameter became non-finite ({exc})", n) from None
        grad_norm = math.sqrt(sum(float((g * g).sum()) for g in grads.values()))
        if not math.isfinite(loss):
            raise self._divergence(f"the loss became {loss}", n)
        if not math.isfinite(grad_norm):
            raise self._divergence("the gradient became non-finite", n)
        self.history.losses.append(loss)
        self.history.grad_norms.append(grad_norm)
        if self.grad_tol is not None and grad_norm < self.grad_tol:
            self.stop_reason = "grad_norm"  # converged: this step is not taken
        else:
            self._apply(grads)
        return loss, grad_norm

    def end_epoch(self, X_val=None, y_val=None) -> bool:
        """Close an epoch (early-stopping bookkeeping); True when the run should stop."""
        self.history.epochs += 1
        if X_val is not None:
            val = self.val_loss(X_val, y_val)
            self.history.val_losses.append(val)
            if val < self._best_val:
                self._best_val, self._wait = val, 0
                self._best = self._snapshot()
                self.history.best_epoch = self.history.epochs
            else:
                self._wait += 1
                if self.patience is not None and self._wait >= self.patience:
                    self.stop_reason = self.stop_reason or "early_stopping"
        return self.stop_reason is not None

    def finish(self) -> History:
        """Restore the best parameters (if a held-out split was monitored); the history."""
        if self._best is not None:
            self._restore(self._best)
        self.history.stop_reason = self.stop_reason or "max_epochs"
        return self.history

    def fit(self, X, y, batches, X_val=None, y_val=None) -> History:
        """Run every epoch of ``batches`` (from ``make_batches``) unless a rule stops it."""
        X, y = self._prepare(X, y)
        check_data(X, y)
        for e, epoch in enumerate(batches, start=1):
            for idx in epoch:
                idx = self._index(idx, len(X), e)
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


def check_data(X, y) -> None:
    """``fit``'s data: at least one row, and one label (row) of ``y`` per row of ``X``."""
    if X.ndim == 0 or len(X) == 0:
        raise ValueError(f"X must hold at least one sample (row), got shape {tuple(X.shape)}")
    if y.ndim == 0 or len(y) != len(X):
        raise ValueError(f"y must have one label per row of X: X has {len(X)} rows, "
                         f"y has shape {tuple(y.shape)}")


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
