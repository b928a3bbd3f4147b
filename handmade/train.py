"""The training loop of the NumPy side: the rules live in ``bookkeeping/training.py``.

``Trainer`` supplies only the NumPy lines (the handmade optimizer's step, copying and
restoring ``model.params`` in place, the held-out loss, the model's own checks of all the
data before the first step); the batch sequence (``make_batches``), ``History`` and every
stopping rule (divergence, ``divergence_factor``, ``grad_tol``, ``patience`` with the best
parameters restored, the number of epochs) are written once in ``bookkeeping.training``,
which ``torch_ref.Trainer`` subclasses too.
"""

from __future__ import annotations

import numpy as np

from handgrad.bookkeeping.threads import lock_of
from handgrad.bookkeeping.training import BaseTrainer

__all__ = ["Trainer"]


class Trainer(BaseTrainer):
    """``Trainer(model, optimizer, *, patience=None, grad_tol=None,
    divergence_factor=training.DIVERGENCE_FACTOR)``: a handmade model, a handmade optimizer and the
    stopping rules of ``bookkeeping.training.BaseTrainer`` (see there); ``step`` and
    ``end_epoch`` drive it. The update holds ``model.lock``, so a thread that calls the
    model meanwhile never sees half-updated parameters. One Trainer per thread."""

    def _apply(self, grads) -> None:
        with lock_of(self.model):
            self.optimizer.step(grads)

    def _lr(self):
        return self.optimizer.lr

    def _snapshot(self) -> dict:
        return {k: p.copy() for k, p in self.model.params.items()}

    def _restore(self, snapshot: dict) -> None:
        with lock_of(self.model):
            for key, p in self.model.params.items():
                p[...] = snapshot[key]

    def val_loss(self, X, y) -> float:
        """The model's loss on a held-out split (no gradients)."""
        return self.model.loss_value(X, y)

    def _prepare(self, X, y):
        """All of ``X`` through the model's input check (dtype, columns, finite), cast to its
        dtype once; all of ``y`` through its label check against the loss."""
        X = self.model.as_input(X) if hasattr(self.model, "as_input") else np.asarray(X)
        if hasattr(self.model, "check_labels"):
            self.model.check_labels(y)
        return X, np.asarray(y)
