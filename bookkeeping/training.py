"""The training loop's bookkeeping, written once for both twins: history and stopping rules.

A run is fed a batch-index sequence made once (``make_batches``, in ``bookkeeping.batches``
and re-exported here): one list of row-index arrays per epoch, made lazily, so that both
twins can be fed the very same sequence.

``fit`` checks all of its data before the first step, identically on both sides: the
shared checks of ``check_data`` (rows, one label per row, the first NaN/Inf named by row and
column), then the twin's own (``_prepare``: dtype, columns, labels against the loss), for
the held-out split too. A refusal leaves the parameters untouched.

Stopping rules (``BaseTrainer``), checked in this order at every step:

* divergence: a loss or gradient that is NaN or Inf, or a parameter that a step made NaN
  or Inf, raises ``DivergenceError`` naming the step, the epoch and the learning rate,
  never silently; a parameter that is NaN/Inf before the first step is bad input instead
  (the model's ``NonFiniteParameterError``, a ValueError, passes through). So does a loss
  that grows beyond ``divergence_factor`` times the first step's loss (default
  ``DIVERGENCE_FACTOR`` = 1e3; None turns that rule off): see ``DIVERGENCE_FACTOR``;
* gradient norm: a step whose gradient norm ``sqrt(Σ_k ‖g_k‖²)`` is below ``grad_tol`` is
  not taken, and the run stops ("grad_norm"); with full batches this is the true gradient;
* early stopping: after each epoch the loss on a held-out split is compared with the best
  so far; after ``patience`` epochs without improvement the run stops ("early_stopping");
  whenever a held-out split is monitored, the best parameters are restored at the end;
* the number of epochs (``len(batches)``): "max_epochs".

After a run, ``did_not_learn`` names a run that ended no better than it began (a loss not
below the first, or an accuracy below chance): the divergence rule cannot see a bce run
that saturates, since bce caps each log term at -100 (see ``DIVERGENCE_FACTOR``).

A KeyboardInterrupt inside ``fit`` is raised again as ``KeyboardInterrupt("interrupted at
epoch E, step S")``, S the step last begun. ``handmade.Trainer`` and ``torch_ref.Trainer``
subclass ``BaseTrainer`` and supply only their own lines (see its docstring); none of the
rules is written twice. This module imports neither twin, nor torch.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from handgrad.bookkeeping.batches import Batches, check_batch, check_data, make_batches
from handgrad.bookkeeping.errors import DivergenceError, NonFiniteParameterError

__all__ = ["BaseTrainer", "Batches", "DIVERGENCE_FACTOR", "History", "check_batch",
           "check_data", "check_rules", "did_not_learn", "make_batches"]

# The divergence rule's default: a loss above 1000 x the first step's loss is divergence.
# Measured (handmade, float64, seed 0) on every dataset of compare/datasets.py with SGD,
# momentum, Nesterov and Adam at the README's learning rates, full batches, 32 and per-sample
# (batch 1): the largest loss of a normal run is 1.0 x the first in full batches and at most
# 23 x with batch 1 (one sample's loss varies most); 1e3 leaves 40 x of room. A diverging run
# with an unbounded loss passes it within steps: digits, Adam, lr 1e6: 4e6 x at step 2.
# bce clamps log at -100, so its loss never exceeds 100 (~145 x its usual first loss ln 2):
# a bce run that diverges into saturation is left to the other rules (or a smaller factor).
DIVERGENCE_FACTOR = 1e3


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
    * ``_host(a)`` (default: ``a``): data that ``numpy.asarray`` can read, for ``check_data``;
    * ``_prepare(X, y)`` (default ``np.asarray``): ``fit``'s data in the twin's arrays,
      checked whole (dtype, columns, labels) before the first step; and ``_index(idx,
      n_rows, epoch)`` (default ``check_batch``): a batch's rows in the twin's arrays.

    ``divergence_factor`` (default ``DIVERGENCE_FACTOR``, None: off): a loss above this
    many times the first step's loss (the first positive loss, if that one is 0) raises
    ``DivergenceError`` with ``rule == "factor"``. One trainer per thread; the model's own
    lock (``bookkeeping/threads.py``) guards the model.
    """

    def __init__(self, model, optimizer, *, patience: int | None = None,
                 grad_tol: float | None = None,
                 divergence_factor: float | None = DIVERGENCE_FACTOR):
        check_rules(patience, grad_tol, divergence_factor)
        self.model, self.optimizer = model, optimizer
        self.patience, self.grad_tol = patience, grad_tol
        self.divergence_factor = divergence_factor
        self.first_loss: tuple[int, float] | None = None  # (step, loss) the factor reads
        self.history = History()
        self.stop_reason: str | None = None
        self._best_val, self._best, self._wait, self._begun = math.inf, None, 0, 0

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

    def _host(self, a):
        return a

    def _prepare(self, X, y):
        return np.asarray(X), np.asarray(y)

    def _index(self, idx, n_rows: int, epoch: int):
        return check_batch(idx, n_rows, epoch)

    # --- the rules -------------------------------------------------------------------------

    def _divergence(self, what: str, step: int, **rule) -> DivergenceError:
        return DivergenceError(what, step, self.history.epochs + 1, self._lr(), **rule)

    def _check_growth(self, loss: float, step: int) -> None:
        """The factor rule: DivergenceError once ``loss > divergence_factor * first loss``."""
        if self.first_loss is None:
            if loss > 0:
                self.first_loss = (step, loss)
            return
        factor = self.divergence_factor
        at, first = self.first_loss
        if factor is not None and loss > factor * first:
            of = "the first step's loss" if at == 1 else f"the first nonzero loss (step {at})"
            raise self._divergence(f"loss {loss:.3g}", step, rule="factor",
                                   detail=f" grew beyond {factor:g} x {of} {first:.3g} "
                                          f"(divergence_factor={factor:g})")

    def step(self, X, y) -> tuple[float, float]:
        """One optimizer step on the batch ``(X, y)``; returns (loss, gradient norm) before it."""
        n = self._begun = len(self.history.losses) + 1
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
        self._check_growth(loss, n)
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
        """Run every epoch of ``batches`` (from ``make_batches``) unless a rule stops it.

        All of ``X``, ``y`` (and ``X_val``, ``y_val``) are checked before the first step.
        """
        check_data(self._host(X), self._host(y))
        if X_val is not None:
            check_data(self._host(X_val), self._host(y_val), ("X_val", "y_val"))
            X_val, y_val = self._prepare(X_val, y_val)
        X, y = self._prepare(X, y)
        e = 0
        try:
            for e, epoch in enumerate(batches, start=1):
                for idx in epoch:
                    idx = self._index(idx, len(X), e)
                    self.step(X[idx], y[idx])
                    if self.stop_reason:
                        break
                if self.end_epoch(X_val, y_val):
                    break
        except KeyboardInterrupt as exc:
            raise KeyboardInterrupt(f"interrupted at epoch {e}, step {self._begun}") from exc
        return self.finish()


def check_rules(patience, grad_tol, divergence_factor=None) -> None:
    """ValueError unless ``patience`` is None or an integer >= 1, ``grad_tol`` None or >= 0,
    ``divergence_factor`` None or a finite number > 1."""
    if patience is not None and (isinstance(patience, bool) or
                                 not isinstance(patience, numbers.Integral) or patience < 1):
        raise ValueError(f"patience must be an integer >= 1 or None, got {patience!r}")
    if grad_tol is not None and not (isinstance(grad_tol, numbers.Real) and
                                     math.isfinite(grad_tol) and grad_tol >= 0):
        raise ValueError(f"grad_tol must be a finite number >= 0 or None, got {grad_tol!r}")
    if divergence_factor is not None and (
            isinstance(divergence_factor, bool) or
            not isinstance(divergence_factor, numbers.Real) or
            not math.isfinite(divergence_factor) or divergence_factor <= 1):
        raise ValueError(f"divergence_factor must be a finite number > 1 or None, got "
                         f"{divergence_factor!r}")


def did_not_learn(first_loss: float, last_loss: float, accuracy: float | None = None,
                  chance: float | None = None) -> str:
    """Why a run did not learn, or ``""`` when it did.

    A run did not learn when its final loss is not below its first (``last_loss >=
    first_loss``: the same data, the loss on the whole training split, before the first
    step and after the last), or when its accuracy is below chance (``accuracy < chance``;
    ``chance`` is the largest class's share of the same split, what always answering the
    most frequent class scores). ``accuracy``/``chance`` None (regression): the loss alone.
    """
    reasons = []
    if not last_loss < first_loss:  # a NaN loss did not learn either
        reasons.append(f"the loss on the whole training split went from {first_loss:.6g} "
                       f"to {last_loss:.6g}: not below where it began")
    if accuracy is not None and chance is not None and accuracy < chance:
        reasons.append(f"the training accuracy {accuracy:.4f} is below chance {chance:.4f} "
                       "(the largest class's share: what always answering that class scores)")
    return "; ".join(reasons)
