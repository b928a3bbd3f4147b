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
not), the run stops and the record says which side stopped for what. Ctrl-C during the run
raises ``KeyboardInterrupt("interrupted at epoch E, step S")``.

Snapshots (``snapshot_every``) hold the handmade parameters at step 0 (the initial state),
every ``snapshot_every`` steps and at the last step, each with the handmade loss on the
whole training set at those parameters: a picture of a snapshot shows the loss it names.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from handgrad import handmade, torch_ref
from handgrad.compare.train.thread_budget import check_threads, thread_budget
from handgrad.compare.transfer import hand_to_torch


@dataclass
class SideBySide:
    """The result of ``train_side_by_side``."""

    trajectory: list[dict] = field(default_factory=list)
    val: list[dict] = field(default_factory=list)  # per epoch: hand and torch held-out loss
    # (step, training-set loss, handmade params): step 0 first, then every snapshot_every
    snapshots: list[tuple[int, float, dict]] = field(default_factory=list)
    hand_stop: str = ""
    torch_stop: str = ""
    epochs: int = 0
    hand_seconds: float = 0.0
    torch_seconds: float = 0.0
    best_epoch: int | None = None  # the handmade side's best validation epoch (restored)
    best_step: int | None = None  # the last step of best_epoch
    threads: int | None = None  # both twins' thread budget while timed (None: not set)

    @property
    def max_divergence(self) -> float:
        """The largest ``rel_param_diff`` over the run."""
        return max((r["rel_param_diff"] for r in self.trajectory), default=0.0)

    @property
    def thread_note(self) -> str:
        """``both timed with N thread(s)``, or that the budgets were left as they were."""
        if self.threads is None:
            return "thread budgets left as they were"
        return f"both timed with {self.threads} thread(s)"

    def summary_rows(self) -> list[tuple[str, str, str]]:
        """``(what, handmade, torch)`` rows: what a notebook's table shows."""
        last = self.trajectory[-1] if self.trajectory else {}
        steps = len(self.trajectory)
        rows = [("steps, epochs", f"{steps}, {self.epochs}", f"{steps}, {self.epochs}"),
                ("last batch loss", f"{last.get('hand_loss', float('nan')):.6g}",
                 f"{last.get('torch_loss', float('nan')):.6g}")]
        if self.val:
            rows.append(("last validation loss", f"{self.val[-1]['hand_val_loss']:.6g}",
                         f"{self.val[-1]['torch_val_loss']:.6g}"))
        rows += [("stopped by", self.hand_stop or "-", self.torch_stop or "-"),
                 (f"seconds per step (training steps only, mean; {self.thread_note})",
                  f"{self.hand_seconds / max(steps, 1):.2e}",
                  f"{self.torch_seconds / max(steps, 1):.2e}"),
                 ("largest parameter drift, handmade vs torch (relative)",
                  f"{self.max_divergence:.1e}", "")]
        return rows

    def _repr_html_(self) -> str:
        """The summary as a table, for a notebook (the trajectory stays in ``.trajectory``)."""
        cells = "".join(f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td>"
                        f"<td>{html.escape(c)}</td></tr>" for a, b, c in self.summary_rows())
        return ("<table><tr><th>side by side</th><th>handmade (NumPy)</th><th>torch</th></tr>"
                f"{cells}</table>")


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


def _full_loss(hand, X, y) -> float:
    """The handmade model's loss on all of ``(X, y)``, without a step."""
    if hasattr(hand, "loss_value"):
        return float(hand.loss_value(X, y))
    return float(hand.loss_and_grads(X, y)[0])


def train_side_by_side(hand, twin, X, y, batches, *, optimizer="sgd", options=None,  # noqa: PLR0913 (the keyword API that notebooks and docs/training.md use, each option documented)
                       X_val=None, y_val=None, patience=None, grad_tol=None,
                       divergence_factor=None, snapshot_every: int | None = None,
                       progress=None, threads: int | None = 1) -> SideBySide:
    """Train ``hand`` (handmade) and ``twin`` (torch) on the same batches, in lockstep.

    Args:
        hand, twin: twin models; ``hand``'s parameters are copied into ``twin`` first.
        X, y: training data ``(m, n)`` and labels; batches: ``make_batches(...)`` output
            (any re-iterable of epochs with ``len()``).
        optimizer, options: ``"sgd"`` or ``"adam"`` and torch.optim's keyword options.
        X_val, y_val: held-out split for early stopping (``patience``) and best restore.
        grad_tol: stop when the batch gradient norm falls below it.
        divergence_factor: passed to both Trainers when not None (a loss beyond this many
            times the first step's is divergence); None leaves the Trainers' default.
        snapshot_every: keep a copy of the handmade parameters at step 0, every this many
            steps and at the last step, with the training-set loss there, e.g. for an
            animation.
        progress: called as ``progress(epoch, n_epochs, record)`` after each epoch.
        threads: the thread budget of both twins during the run (``thread_budget``:
            torch's intra-op threads and NumPy's BLAS threads alike), so that their
            seconds compare like with like; ``run.threads`` says it. None leaves both
            libraries as they are (and their timings may then compare unlike budgets).

    Raises ``DivergenceError`` (either side's) when a loss or gradient becomes non-finite
    or the loss grows beyond the divergence factor, and ``KeyboardInterrupt("interrupted
    at epoch E, step S")`` on Ctrl-C (S: the step last begun). ``best_epoch`` and
    ``best_step`` name the handmade side's restored epoch when a held-out split is given.
    """
    rules = {"patience": patience, "grad_tol": grad_tol}
    if divergence_factor is not None:
        rules["divergence_factor"] = divergence_factor
    check_threads(threads)
    hand_to_torch(hand, twin)
    lockstep = _Lockstep(hand, twin, X, y, snapshot_every)
    lockstep.make_trainers(optimizer, dict(options or {}), rules)
    with thread_budget(threads) as budget:
        lockstep.run.threads = budget
        try:
            lockstep.epochs(batches, X_val, y_val, progress)
        except KeyboardInterrupt:
            raise KeyboardInterrupt(f"interrupted at epoch {lockstep.epoch}, step "
                                    f"{lockstep.step}") from None
    return lockstep.finish()


class _Lockstep:
    """The state of one side-by-side run: both trainers, the data, the record so far."""

    def __init__(self, hand, twin, X, y, snapshot_every):
        self.hand, self.twin = hand, twin
        self.X = np.asarray(X)
        self.y = np.asarray(y)
        self.Xt = twin.as_input(self.X)
        self.yt = torch.as_tensor(self.y, device=twin.device)
        self.snapshot_every = snapshot_every
        self.run = SideBySide()
        self.step = 0
        self.epoch = 0
        self.norm0 = _norm(hand.params)
        if snapshot_every:
            self.snapshot()

    def make_trainers(self, optimizer: str, options: dict, rules: dict) -> None:
        self.hand_trainer = handmade.Trainer(
            self.hand, handmade.make_optimizer(optimizer, self.hand.params, **options), **rules)
        self.torch_trainer = torch_ref.Trainer(
            self.twin, torch_ref.make_optimizer(optimizer, self.twin.parameters(), **options),
            **rules)

    def snapshot(self) -> None:
        self.run.snapshots.append((self.step, _full_loss(self.hand, self.X, self.y),
                                   _copy(self.hand.params)))

    def epochs(self, batches, X_val, y_val, progress) -> None:
        """Every epoch of ``batches``, until a rule of either side stops the run."""
        for epoch, epoch_batches in enumerate(batches, start=1):
            self.epoch = epoch
            for idx in epoch_batches:
                self.one_step(idx)
                if self.hand_trainer.stop_reason or self.torch_trainer.stop_reason:
                    break
            stop_hand = self.hand_trainer.end_epoch(X_val, y_val)
            stop_torch = self.torch_trainer.end_epoch(X_val, y_val)
            self.run.epochs = self.epoch
            if X_val is not None:
                self.run.val.append({
                    "epoch": self.epoch, "step": self.step,
                    "hand_val_loss": self.hand_trainer.history.val_losses[-1],
                    "torch_val_loss": self.torch_trainer.history.val_losses[-1]})
            if progress is not None and self.run.trajectory:
                progress(self.epoch, len(batches), self.run.trajectory[-1])
            if stop_hand or stop_torch:
                break

    def one_step(self, idx) -> None:
        """One step of each twin on the rows ``idx``, timed apart, then compared."""
        self.step += 1
        t0 = time.perf_counter()
        h_loss, h_norm = self.hand_trainer.step(self.X[idx], self.y[idx])
        t1 = time.perf_counter()
        i = torch.as_tensor(idx, device=self.twin.device)
        t_loss, t_norm = self.torch_trainer.step(self.Xt[i], self.yt[i])
        _sync(self.twin.device)
        self.run.hand_seconds += t1 - t0
        self.run.torch_seconds += time.perf_counter() - t1
        max_abs, rel = _param_diffs(self.hand, self.twin, self.norm0)
        self.run.trajectory.append({"step": self.step, "epoch": self.epoch,
                                    "hand_loss": h_loss, "torch_loss": t_loss,
                                    "hand_grad_norm": h_norm, "torch_grad_norm": t_norm,
                                    "max_param_diff": max_abs, "rel_param_diff": rel})
        if self.snapshot_every and self.step % self.snapshot_every == 0:
            self.snapshot()

    def finish(self) -> SideBySide:
        """The last snapshot, both trainers' stop reasons, the restored best epoch."""
        run = self.run
        if self.snapshot_every and run.snapshots[-1][0] != self.step:
            self.snapshot()
        history = self.hand_trainer.finish()
        run.hand_stop = history.stop_reason
        run.torch_stop = self.torch_trainer.finish().stop_reason
        if history.best_epoch is not None:
            run.best_epoch = history.best_epoch
            run.best_step = max((r["step"] for r in run.val
                                 if r["epoch"] == history.best_epoch), default=None)
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


def decision_margin(model_output: np.ndarray, loss: str) -> float | None:
    """``max |P - 0.5|`` over the rows of a binary model's output ``(m, 1)``, P the
    probability of class 1 that it stands for (sigmoid of a logit for ``bce_with_logits``
    and ``perceptron``); None for other losses. Near 0: the model is undecided everywhere,
    and its accuracy is tie-breaking at the cut."""
    out = np.asarray(model_output, dtype=np.float64).ravel()
    if loss == "bce":
        return float(np.max(np.abs(out - 0.5)))
    if loss in ("bce_with_logits", "perceptron"):
        return float(np.max(np.abs(0.5 * np.tanh(out / 2))))  # sigmoid(z) - 0.5, exactly
    return None
