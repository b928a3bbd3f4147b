"""The training loop of the torch side: the same stopping rules as ``handmade/train.py``.

Written again here on purpose (torch_ref never imports handmade); ``tests/test_train.py``
drives both with the same scenarios and checks that they stop at the same step with the
same reason. Rules: a non-finite loss or gradient raises ``DivergenceError``; a gradient
norm below ``grad_tol`` stops before stepping ("grad_norm"); ``patience`` epochs without
a better held-out loss stop the run ("early_stopping"); the best parameters are restored
whenever a held-out split is monitored; otherwise the run ends at "max_epochs".
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import torch

from bookkeeping.errors import DivergenceError, NonFiniteParameterError
from torch_ref.functional import as_labels, compute_loss


@dataclass
class History:
    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    stop_reason: str = "max_epochs"
    best_epoch: int | None = None
    epochs: int = 0


class Trainer:
    """A ``TorchMLP``, a ``torch.optim`` optimizer and the stopping rules."""

    def __init__(self, model, optimizer, *, patience: int | None = None,
                 grad_tol: float | None = None):
        check_rules(patience, grad_tol)
        self.model, self.optimizer = model, optimizer
        self.patience, self.grad_tol = patience, grad_tol
        self.history = History()
        self.stop_reason: str | None = None
        self._best_val, self._best_state, self._wait = math.inf, None, 0

    def _lr(self):
        return self.optimizer.param_groups[0]["lr"]

    def step(self, X, y) -> tuple[float, float]:
        """One optimizer step on the batch; returns (loss, gradient norm) before it."""
        n = len(self.history.losses) + 1
        try:
            loss, grads = self.model.loss_and_grads(X, y)
        except NonFiniteParameterError as exc:
            if n == 1:
                raise  # handed in that way: bad input, not divergence
            raise DivergenceError(f"a parameter became non-finite ({exc})", n,
                                  self.history.epochs + 1, self._lr()) from None
        grad_norm = math.sqrt(sum(float(torch.sum(g * g)) for g in grads.values()))
        if not math.isfinite(loss):
            raise DivergenceError(f"the loss became {loss}", n, self.history.epochs + 1,
                                  self._lr())
        if not math.isfinite(grad_norm):
            raise DivergenceError("the gradient became non-finite", n,
                                  self.history.epochs + 1, self._lr())
        self.history.losses.append(loss)
        self.history.grad_norms.append(grad_norm)
        if self.grad_tol is not None and grad_norm < self.grad_tol:
            self.stop_reason = "grad_norm"
        else:
            self.optimizer.step()
        return loss, grad_norm

    @torch.no_grad()
    def val_loss(self, X, y) -> float:
        out = self.model(self.model.as_input(X))
        return compute_loss(self.model.loss, out, y, self.model.reduction).item()

    def end_epoch(self, X_val=None, y_val=None) -> bool:
        self.history.epochs += 1
        if X_val is not None:
            val = self.val_loss(X_val, y_val)
            self.history.val_losses.append(val)
            if val < self._best_val:
                self._best_val, self._wait = val, 0
                self._best_state = {k: v.clone() for k, v in self.model.state_dict().items()}
                self.history.best_epoch = self.history.epochs
            else:
                self._wait += 1
                if self.patience is not None and self._wait >= self.patience:
                    self.stop_reason = self.stop_reason or "early_stopping"
        return self.stop_reason is not None

    def finish(self) -> History:
        if self._best_state is not None:
            self.model.load_state_dict(self._best_state)
        self.history.stop_reason = self.stop_reason or "max_epochs"
        return self.history

    def fit(self, X, y, batches, X_val=None, y_val=None) -> History:
        """Run every epoch of ``batches`` (lists of index arrays) unless a rule stops it."""
        X = self.model.as_input(X)
        y = as_labels(y, self.model.device, self.model.loss)
        if y.ndim == 0 or len(y) != len(X):
            raise ValueError(f"y must have one label per row of X: X has {len(X)} rows, "
                             f"y has shape {tuple(y.shape)}")
        for e, epoch in enumerate(batches, start=1):
            for idx in epoch:
                check_batch(idx, len(X), e)
                i = torch.as_tensor(idx, device=self.model.device)
                self.step(X[i], y[i])
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


def check_batch(idx, n_rows: int, epoch: int) -> None:
    """A batch of ``batches`` must index rows of X: a non-empty 1-D array of ints in [0, n)."""
    try:
        idx = torch.as_tensor(idx)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"batches: each batch must be a 1-D array of integer row indices, got "
                        f"{type(idx).__name__} in epoch {epoch}") from None
    if idx.numel() == 0:
        raise ValueError(f"batches: epoch {epoch} holds an empty batch; expected at least one "
                         "row index per batch")
    if idx.is_floating_point() or idx.is_complex() or idx.dtype == torch.bool or idx.ndim != 1:
        raise TypeError(f"batches: each batch must be a 1-D array of integer row indices, got "
                        f"dtype {idx.dtype} and shape {tuple(idx.shape)} in epoch {epoch}")
    lo, hi = int(idx.min()), int(idx.max())
    if lo < 0 or hi >= n_rows:
        raise ValueError(f"batches: row indices must lie in [0, {n_rows}) (X has {n_rows} "
                         f"rows), got {lo}..{hi} in epoch {epoch}")
