"""The training loop of the NumPy side: the rules live in ``bookkeeping/training.py``.

``Trainer`` supplies only the NumPy lines (the handmade optimizer's step, copying and
restoring ``model.params`` in place, the held-out loss); the batch sequence
(``make_batches``), ``History`` and every stopping rule (divergence, ``grad_tol``,
``patience`` with the best parameters restored, the number of epochs) are written once in
``bookkeeping.training``, which ``torch_ref.Trainer`` subclasses too.
"""

from __future__ import annotations

from bookkeeping.training import (  # History, make_batches, check_*: their old path too
    BaseTrainer,
    History,
    check_batch,
    check_data,
    check_rules,
    make_batches,
)

__all__ = ["Trainer", "History", "make_batches", "check_batch", "check_data", "check_rules"]


class Trainer(BaseTrainer):
    """A handmade model, a handmade optimizer and the stopping rules of
    ``bookkeeping.training.BaseTrainer`` (see there); ``step`` and ``end_epoch`` drive it."""

    def _apply(self, grads) -> None:
        self.optimizer.step(grads)

    def _lr(self):
        return self.optimizer.lr

    def _snapshot(self) -> dict:
        return {k: p.copy() for k, p in self.model.params.items()}

    def _restore(self, snapshot: dict) -> None:
        for key, p in self.model.params.items():
            p[...] = snapshot[key]

    def val_loss(self, X, y) -> float:
        """The model's loss on a held-out split (no gradients)."""
        return self.model.loss_value(X, y)
