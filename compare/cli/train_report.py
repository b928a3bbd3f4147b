"""``handgrad train``'s summary: what both twins reached, as a table and as ``run.json``.

``summarize`` measures, after the run: accuracy on the training and test splits, the loss
on the whole training split (not a batch), the largest and the final relative parameter
difference, and the mean seconds per epoch of each twin's training steps (forward,
backward and update only: the comparison, the progress line and the plots are not
counted), the thread budget both were timed with, and whether each twin learned
(``bookkeeping.training.did_not_learn``: chance is the largest class's share of the
training split), and says when a binary model is undecided on every training point (its
accuracy then is tie-breaking). ``print_summary`` prints it with each column wide enough
for its longest entry.
``check_finite_run`` turns a run whose record went non-finite into a ``DivergenceError``
before anything is written. Imported by ``compare.cli.train.run`` only (NumPy, torch).
"""

from __future__ import annotations

import math

# (label, key in summarize's dict, format): the table's rows
ROWS = (("train accuracy", "train_accuracy", ".4f"),
        ("test accuracy", "test_accuracy", ".4f"),
        ("train loss (whole split, at the end)", "train_loss", ".6g"),
        ("seconds per epoch (steps only, mean)", "seconds_per_epoch", ".4f"),
        ("stopped by", "stop", ""))
UNDECIDED = 1e-3  # compare.train.plots.MARGIN: within it of 0.5 everywhere, no boundary
RECORD_KEYS = ("hand_loss", "torch_loss", "hand_grad_norm", "torch_grad_norm",
               "max_param_diff", "rel_param_diff")


def check_finite_run(run, lr) -> None:
    """DivergenceError at the first step whose record holds a NaN/Inf (a loss, a gradient
    norm, or the parameter difference once the parameters overflow)."""
    from handgrad.bookkeeping.errors import DivergenceError

    for rec in run.trajectory:
        bad = [k for k in RECORD_KEYS if not math.isfinite(rec.get(k, 0.0))]
        if bad:
            raise DivergenceError(f"{', '.join(bad)} became NaN/Inf (the parameters overflow)",
                                  rec["step"], rec["epoch"], lr)


def summarize(spec, hand, twin, data, run, first_loss: float) -> dict:
    """Accuracies, final losses, divergence and time per epoch of both twins, the thread
    budget they were timed with, and whether each learned (``first_loss``: the loss on the
    whole training split before the first step, where both twins start)."""
    from handgrad.bookkeeping.training import did_not_learn
    from handgrad.compare.train.side_by_side import accuracy, decision_margin

    out = {"epochs": run.epochs, "steps": len(run.trajectory),
           "stop_handmade": run.hand_stop, "stop_torch": run.torch_stop,
           "max_rel_param_diff": run.max_divergence,
           "final_rel_param_diff": run.trajectory[-1]["rel_param_diff"],
           "seconds_per_epoch_handmade": run.hand_seconds / run.epochs,
           "seconds_per_epoch_torch": run.torch_seconds / run.epochs,
           "threads": run.threads, "initial_train_loss": first_loss,
           "chance_accuracy": chance_accuracy(data.y_train, spec.loss)}
    for side, model in (("handmade", hand), ("torch", twin)):
        on_train = _output(model, data.X_train)  # one forward pass serves both figures
        out[f"train_accuracy_{side}"] = accuracy(on_train, data.y_train, spec.loss)
        out[f"test_accuracy_{side}"] = accuracy(_output(model, data.X_test), data.y_test,
                                                spec.loss)
        out[f"train_loss_{side}"] = (hand.loss_value(data.X_train, data.y_train)
                                     if side == "handmade" else
                                     twin.loss_and_grads(data.X_train, data.y_train)[0])
        out[f"decision_margin_{side}"] = decision_margin(on_train, spec.loss)
        out[f"did_not_learn_{side}"] = did_not_learn(
            first_loss, out[f"train_loss_{side}"], out[f"train_accuracy_{side}"],
            out["chance_accuracy"])
    return out


def chance_accuracy(y, loss: str) -> float | None:
    """The largest class's share of the labels ``y`` (what always answering the most
    frequent class scores); None for a regression loss, which has no classes."""
    import numpy as np

    if loss not in ("bce", "bce_with_logits", "perceptron", "cross_entropy", "nll"):
        return None
    _, counts = np.unique(np.asarray(y).ravel(), return_counts=True)
    return float(counts.max() / counts.sum())


def learning_verdict(s: dict) -> str:
    """``""`` when both twins learned; else ``did not learn (handmade, torch): REASON``."""
    sides = [side for side in ("handmade", "torch") if s[f"did_not_learn_{side}"]]
    if not sides:
        return ""
    return f"did not learn ({', '.join(sides)}): {s[f'did_not_learn_{sides[0]}']}"


def _output(model, X):
    if hasattr(model, "params"):
        return model.predict(X)
    import torch
    with torch.no_grad():
        return model(model.as_input(X)).cpu().double().numpy()


def summary_table(s: dict) -> list[str]:
    """The summary's lines: a row per measure, a column per twin, then the divergence."""
    def cell(key, fmt):
        x = s[key]
        return "-" if x is None or x == "" else format(x, fmt)
    rows = [(label, cell(f"{key}_handmade", fmt), cell(f"{key}_torch", fmt))
            for label, key, fmt in ROWS]
    w0 = max(len(r[0]) for r in rows)
    w = max(len("handmade"), *(len(c) for r in rows for c in r[1:]))
    lines = [f"{'':{w0}}  {'handmade':>{w}}  {'torch':>{w}}"]
    lines += [f"{label:{w0}}  {h:>{w}}  {t:>{w}}" for label, h, t in rows]
    lines.append(f"max relative parameter difference over the run: "
                 f"{s['max_rel_param_diff']:.2e} ({s['steps']} steps, {s['epochs']} epochs)")
    threads = s.get("threads")
    lines.append(f"seconds: both timed with {threads} thread(s) (torch's and NumPy's BLAS; "
                 "--threads)" if threads is not None else
                 "seconds: each library with its own thread budget")
    margin = s.get("decision_margin_handmade")
    if margin is not None and margin <= UNDECIDED:
        lines.append(f"undecided: P = 0.5 ± {margin:.0e} on every training point, so the "
                     "accuracies above are tie-breaking at P > 0.5, not a boundary")
    verdict = learning_verdict(s)
    lines.append(verdict or f"learned: the training loss went from {s['initial_train_loss']:.6g} "
                            f"to {s['train_loss_handmade']:.6g}" + _against_chance(s))
    return lines


def _against_chance(s: dict) -> str:
    if s["chance_accuracy"] is None:
        return ""
    return (f"; training accuracy {s['train_accuracy_handmade']:.4f} against chance "
            f"{s['chance_accuracy']:.4f}")


def print_summary(s: dict) -> None:
    print("\n" + "\n".join(summary_table(s)))


def predictor(spec, params: dict):
    """``points (g, 2) -> P(class 1) (g,)`` for a binary model with ``params``."""
    import numpy as np

    from handgrad.handmade.activations import sigmoid

    model = spec.hand(dtype=np.float64)
    for key, p in model.params.items():
        p[...] = params[key]

    def predict(points):
        out = model.predict(points)[:, 0]
        return out if spec.loss == "bce" else sigmoid(out)  # logits -> probabilities
    return predict
