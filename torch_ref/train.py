"""The training loop of the torch side: the rules live in ``bookkeeping/training.py``.

``Trainer`` supplies only the torch lines (``torch.optim``'s step, the ``state_dict`` copy
and restore, the held-out loss, tensors on the model's device, the model's own checks of
all the data before the first step); the stopping rules (``divergence_factor`` included)
and ``History`` are the ones ``handmade.Trainer`` uses, written once in
``bookkeeping.training`` (torch_ref never imports handmade). ``tests/train/test_train.py``
drives both with the same scenarios.
"""

from __future__ import annotations

import numpy as np
import torch

from handgrad.bookkeeping.threads import lock_of
from handgrad.bookkeeping.training import DIVERGENCE_FACTOR, BaseTrainer, History, check_batch
from handgrad.torch_ref.functional import as_labels, compute_loss

__all__ = ["Trainer", "History", "DIVERGENCE_FACTOR"]


class Trainer(BaseTrainer):
    """``Trainer(model, optimizer, *, patience=None, grad_tol=None,
    divergence_factor=DIVERGENCE_FACTOR)``: a ``TorchMLP``, a ``torch.optim`` optimizer and
    the stopping rules of ``bookkeeping.training.BaseTrainer`` (see there).

    The update holds ``model.lock`` and first puts the step's own gradients (those
    ``loss_and_grads`` returned) into each ``p.grad``, so a call of the model from another
    thread between the two cannot change what is applied. One Trainer per thread."""

    def _apply(self, grads) -> None:
        with lock_of(self.model):
            for name, p in self.model.named_parameters():
                if name in grads:
                    p.grad = grads[name]
            self.optimizer.step()

    def _lr(self):
        return self.optimizer.param_groups[0]["lr"]

    def _snapshot(self) -> dict:
        return {k: v.clone() for k, v in self.model.state_dict().items()}

    def _restore(self, snapshot: dict) -> None:
        with lock_of(self.model):
            self.model.load_state_dict(snapshot)

    @torch.no_grad()
    def val_loss(self, X, y) -> float:
        """The model's loss on a held-out split (no gradients)."""
        out = self.model(self.model.as_input(X))
        return compute_loss(self.model.loss, out, y, self.model.reduction).item()

    def _host(self, a):
        if isinstance(a, torch.Tensor):  # check_data reads NumPy (bookkeeping has no torch)
            return a.detach().cpu()
        return a

    def _prepare(self, X, y):
        X, y = self.model.as_input(X), as_labels(y, self.model.device, self.model.loss)
        if hasattr(self.model, "check_labels"):
            self.model.check_labels(y)
        return X, y

    def _index(self, idx, n_rows: int, epoch: int) -> torch.Tensor:
        if isinstance(idx, torch.Tensor):
            idx = np.asarray(idx.cpu())  # check_batch reads NumPy
        return torch.as_tensor(check_batch(idx, n_rows, epoch), device=self.model.device)
