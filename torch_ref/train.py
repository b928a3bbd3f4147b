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
from dataclasses import dataclass, field

import torch

from torch_ref.functional import compute_loss


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss or gradient."""

    def __init__(self, what: str, step: int, epoch: int, lr):
        self.step, self.epoch = step, epoch
        super().__init__(f"training diverged: {what} at step {step} (epoch {epoch}); the "
                         f"learning rate ({lr}) is probably too large: try a tenth of it")


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
        if patience is not None and patience < 1:
            raise ValueError(f"patience must be >= 1 or None, got {patience}")
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
        loss, grads = self.model.loss_and_grads(X, y)
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
        y = torch.as_tensor(y, device=self.model.device)
        for epoch in batches:
            for idx in epoch:
                i = torch.as_tensor(idx, device=self.model.device)
                self.step(X[i], y[i])
                if self.stop_reason:
                    break
            if self.end_epoch(X_val, y_val):
                break
        return self.finish()
