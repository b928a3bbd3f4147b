"""The training loop of the torch side: the rules live in ``bookkeeping/training.py``.

``Trainer`` supplies only the torch lines (``torch.optim``'s step, the ``state_dict`` copy
and restore, the held-out loss, tensors on the model's device); the stopping rules and
``History`` are the ones ``handmade.Trainer`` uses, written once in ``bookkeeping.training``
(torch_ref never imports handmade). ``tests/train/test_train.py`` drives both with the same
scenarios.
"""

from __future__ import annotations

import numpy as np
import torch

from bookkeeping.training import BaseTrainer, History, check_batch
from torch_ref.functional import as_labels, compute_loss

__all__ = ["Trainer", "History"]


class Trainer(BaseTrainer):
    """A ``TorchMLP``, a ``torch.optim`` optimizer and the stopping rules of
    ``bookkeeping.training.BaseTrainer`` (see there)."""

    def _apply(self, grads) -> None:
        self.optimizer.step()  # loss_and_grads left the gradients in each p.grad

    def _lr(self):
        return self.optimizer.param_groups[0]["lr"]

    def _snapshot(self) -> dict:
        return {k: v.clone() for k, v in self.model.state_dict().items()}

    def _restore(self, snapshot: dict) -> None:
        self.model.load_state_dict(snapshot)

    @torch.no_grad()
    def val_loss(self, X, y) -> float:
        """The model's loss on a held-out split (no gradients)."""
        out = self.model(self.model.as_input(X))
        return compute_loss(self.model.loss, out, y, self.model.reduction).item()

    def _prepare(self, X, y):
        return self.model.as_input(X), as_labels(y, self.model.device, self.model.loss)

    def _index(self, idx, n_rows: int, epoch: int) -> torch.Tensor:
        if isinstance(idx, torch.Tensor):
            idx = np.asarray(idx.cpu())  # check_batch reads NumPy
        return torch.as_tensor(check_batch(idx, n_rows, epoch), device=self.model.device)
