"""Train the handmade model and its torch twin in lockstep and record how far apart they are.

One spec, one seeded initialization copied to both sides, one batch-index sequence made
once (``handmade.make_batches``) and fed to both, and the same optimizer (handmade's
by-hand update beside ``torch.optim``). After every step the record holds::

    step, epoch, hand_loss, torch_loss, hand_grad_norm, torch_grad_norm,
    max_param_diff = max_k max |θ_hand,k - θ_torch,k|
    rel_param_diff = ‖θ_hand - θ_torch‖ / max(‖θ_torch‖, ‖θ_0‖)   (all parameters as one vector)

The denominator's floor ‖θ_0‖ (the initial parameters' norm) keeps the measure meaningful
when the parameters shrink towards 0 (a logistic neuron on XOR converges to θ = 0, where
a plain relative error of 1e-17-sized differences would read 1e-5).

Both sides apply their own stopping rules; if they disagree (one stops, the other does
not), the run stops and the record says which side stopped for what.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

import handmade
import torch_ref
from compare.transfer import hand_to_torch


@dataclass
class SideBySide:
    """The result of ``train_side_by_side``."""

    trajectory: list[dict] = field(default_factory=list)
    val: list[dict] = field(default_factory=list)  # per epoch: hand and torch held-out loss
    snapshots: list[tuple[int, float, dict]] = field(default_factory=list)  # (step, loss, params)
    hand_stop: str = ""
    torch_stop: str = ""
    epochs: int = 0
    hand_seconds: float = 0.0
    torch_seconds: float = 0.0

    @property
    def max_divergence(self) -> float:
        """The largest ``rel_param_diff`` over the run."""
        return max((r["rel_param_diff"] for r in self.trajectory), default=0.0)


def _norm(params: dict) -> float:
    return float(np.sqrt(sum(float(np.sum(np.square(p, dtype=np.float64)))
                             for p in params.values())))


def _param_diffs(hand, twin, floor: float) -> tuple[float, float]:
    state = twin.state_dict()
    max_abs, diff2, norm2 = 0.0, 0.0, 0.0
    for key, p in hand.params.items():
        t = state[key].detach().cpu().double().numpy()
        d = p.astype(np.float64) - t
        max_abs = max(max_abs, float(np.max(np.abs(d))))
        diff2 += float(np.sum(d * d))
        norm2 += float(np.sum(t * t))
    return max_abs, diff2**0.5 / max(norm2**0.5, floor, np.finfo(np.float64).tiny)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_side_by_side(hand, twin, X, y, batches, *, optimizer="sgd", options=None,
                       X_val=None, y_val=None, patience=None, grad_tol=None,
                       snapshot_every: int | None = None, progress=None) -> SideBySide:
    """Train ``hand`` (handmade) and ``twin`` (torch) on the same batches, in lockstep.

    Args:
        hand, twin: twin models; ``hand``'s parameters are copied into ``twin`` first.
        X, y: training data ``(m, n)`` and labels; batches: ``make_batches(...)`` output.
        optimizer, options: ``"sgd"`` or ``"adam"`` and torch.optim's keyword options.
        X_val, y_val: held-out split for early stopping (``patience``) and best restore.
        grad_tol: stop when the batch gradient norm falls below it.
        snapshot_every: keep a copy of the handmade parameters every this many steps
            (and the last), e.g. for an animation.
        progress: called as ``progress(epoch, n_epochs, record)`` after each epoch.

    Raises ``DivergenceError`` (either side's) when a loss or gradient becomes non-finite.
    """
    options = dict(options or {})
    hand_to_torch(hand, twin)
    hand_trainer = handmade.Trainer(hand, handmade.make_optimizer(optimizer, hand.params,
                                                                  **options),
                                    patience=patience, grad_tol=grad_tol)
    torch_trainer = torch_ref.Trainer(twin, torch_ref.make_optimizer(optimizer,
                                                                     twin.parameters(),
                                                                     **options),
                                      patience=patience, grad_tol=grad_tol)
    X, y = np.asarray(X), np.asarray(y)
    Xt, yt = twin.as_input(X), torch.as_tensor(y, device=twin.device)
    run = SideBySide()
    step, norm0 = 0, _norm(hand.params)
    for epoch, epoch_batches in enumerate(batches, start=1):
        for idx in epoch_batches:
            step += 1
            t0 = time.perf_counter()
            h_loss, h_norm = hand_trainer.step(X[idx], y[idx])
            t1 = time.perf_counter()
            i = torch.as_tensor(idx, device=twin.device)
            t_loss, t_norm = torch_trainer.step(Xt[i], yt[i])
            _sync(twin.device)
            run.hand_seconds += t1 - t0
            run.torch_seconds += time.perf_counter() - t1
            max_abs, rel = _param_diffs(hand, twin, norm0)
            run.trajectory.append({"step": step, "epoch": epoch, "hand_loss": h_loss,
                                   "torch_loss": t_loss, "hand_grad_norm": h_norm,
                                   "torch_grad_norm": t_norm, "max_param_diff": max_abs,
                                   "rel_param_diff": rel})
            if snapshot_every and step % snapshot_every == 0:
                run.snapshots.append((step, h_loss, _copy(hand.params)))
            if hand_trainer.stop_reason or torch_trainer.stop_reason:
                break
        stop_h = hand_trainer.end_epoch(X_val, y_val)
        stop_t = torch_trainer.end_epoch(X_val, y_val)
        run.epochs = epoch
        if X_val is not None:
            run.val.append({"epoch": epoch, "step": step,
                            "hand_val_loss": hand_trainer.history.val_losses[-1],
                            "torch_val_loss": torch_trainer.history.val_losses[-1]})
        if progress is not None and run.trajectory:
            progress(epoch, len(batches), run.trajectory[-1])
        if stop_h or stop_t:
            break
    if snapshot_every and run.trajectory and (not run.snapshots or
                                              run.snapshots[-1][0] != step):
        run.snapshots.append((step, run.trajectory[-1]["hand_loss"], _copy(hand.params)))
    run.hand_stop = hand_trainer.finish().stop_reason
    run.torch_stop = torch_trainer.finish().stop_reason
    return run


def _copy(params: dict) -> dict:
    return {k: p.copy() for k, p in params.items()}


def accuracy(model_output: np.ndarray, y: np.ndarray, loss: str) -> float | None:
    """Share of correct predictions from a model's output ``(m, k)``; None for regression.

    Probabilities (sigmoid + ``bce``) are cut at 0.5, logits (``bce_with_logits``,
    ``perceptron``) at 0, and multi-class outputs take the arg max.
    """
    out = np.asarray(model_output, dtype=np.float64)
    if loss in ("cross_entropy", "nll"):
        return float(np.mean(np.argmax(out, axis=1) == np.asarray(y)))
    if loss in ("bce", "bce_with_logits", "perceptron"):
        cut = 0.5 if loss == "bce" else 0.0
        return float(np.mean((out > cut).astype(float).ravel() == np.asarray(y).ravel()))
    return None
