"""``handgrad train``: train both twins side by side on a dataset, report, plot and save.

    handgrad train [--dataset moons] [--hidden 8] [--activation tanh] [--loss LOSS]
                   [--optimizer sgd|momentum|nesterov|adam] [--lr 0.5] [--epochs 100]
                   [--batch-size 32] [--dtype float64] [--device cpu] [--seed 0]
                   [--patience N] [--grad-tol G] [--out FOLDER] [--no-gif]

The model is ``[n_features, *hidden, n_outputs]`` with ``--activation`` on the hidden
layers and the output activation that the loss expects. The run folder (default
``runs/<dataset>-<optimizer>-<dtype>``) receives ``run.json``, ``params.npz``,
``state_dict.pt``, ``losses.png``, ``divergence.png`` and, for 2-D datasets,
``boundary.png`` and ``boundary.gif`` (the decision boundary moving during training).
Only ``run`` (and the helpers it calls) imports torch, scikit-learn and matplotlib.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

# compare.datasets.DATASETS, spelled out so that building the parser needs no scikit-learn
# (tests/cli/test_lazy_imports.py checks that the two lists agree)
DATASET_NAMES = ("breast_cancer", "cats_dogs", "circles", "digits", "iris", "moons", "seed000",
                 "seed003", "xor", "xor3")
DEFAULT_LOSS = {"binary": "bce", "multiclass": "cross_entropy", "regression": "half_mse"}
OUTPUT_ACTIVATION = {"bce": "sigmoid", "nll": "softmax"}  # identity for every other loss
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")
GIF_FRAMES = 40


def add_arguments(p) -> None:
    p.add_argument("--dataset", default="moons", choices=DATASET_NAMES)
    p.add_argument("--hidden", default="8",
                   help="hidden widths, comma-separated (e.g. 32,16); 'none' for no hidden layer")
    p.add_argument("--activation", default="tanh", help="activation of the hidden layers")
    p.add_argument("--loss", default=None, help="default: bce, cross_entropy or half_mse by task")
    p.add_argument("--optimizer", default="sgd", choices=OPTIMIZERS)
    p.add_argument("--lr", type=float, default=0.5)
    p.add_argument("--momentum", type=float, default=0.9,
                   help="for --optimizer momentum and nesterov")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--epochs", type=int, default=100, help="maximum number of epochs")
    p.add_argument("--batch-size", type=int, default=32, help="0 for the full training set")
    p.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0, help="seeds the data split, init and batches")
    p.add_argument("--patience", type=int, default=None,
                   help="early stopping on the validation split after this many epochs")
    p.add_argument("--grad-tol", type=float, default=None,
                   help="stop when the batch gradient norm falls below this")
    p.add_argument("--out", default=None, help="run folder")
    p.add_argument("--no-gif", action="store_true", help="skip the decision-boundary GIF")


def optimizer_options(args) -> tuple[str, dict]:
    """handgrad's optimizer name and torch.optim's options from the command line."""
    if args.optimizer == "adam":
        return "adam", {"lr": args.lr, "weight_decay": args.weight_decay}
    options = {"lr": args.lr, "weight_decay": args.weight_decay}
    if args.optimizer in ("momentum", "nesterov"):
        options.update(momentum=args.momentum, nesterov=args.optimizer == "nesterov")
    return "sgd", options


def build_spec(data, hidden: str, activation: str, loss: str | None):
    """The ``Spec`` of ``[n_features, *hidden, n_outputs]`` for a ``compare.datasets.Dataset``."""
    from compare.spec import Spec

    widths = [] if hidden.strip().lower() in ("", "none", "0") else hidden.split(",")
    if not all(w.strip().isdigit() and int(w) > 0 for w in widths):
        raise ValueError(f"--hidden must be comma-separated positive integers (e.g. 32,16) or "
                         f"'none', got {hidden!r}")
    widths = [int(w) for w in widths]
    loss = loss or DEFAULT_LOSS[data.task]
    acts = (activation,) * len(widths) + (OUTPUT_ACTIVATION.get(loss, "identity"),)
    return Spec((data.n_features, *widths, data.n_outputs), acts, loss)


class Progress:
    """A one-line progress bar with both losses (a line per 10 % when not on a terminal)."""

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stderr  # the current one
        self.tty = self.stream.isatty()

    def __call__(self, epoch: int, total: int, rec: dict) -> None:
        if not self.tty and epoch % max(1, total // 10) and epoch != total:
            return
        done = int(30 * epoch / total)
        line = (f"epoch {epoch:>4}/{total} [{'#' * done}{'.' * (30 - done)}] "
                f"handmade {rec['hand_loss']:.6f}  torch {rec['torch_loss']:.6f}  "
                f"param diff {rec['rel_param_diff']:.1e}")
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        if self.tty and epoch == total:
            self.stream.write("\n")
        self.stream.flush()


def _predictor(spec, params: dict):
    """``points (g, 2) -> P(class 1) (g,)`` for a binary model with ``params``."""
    import numpy as np

    from handmade.activations import sigmoid

    model = spec.hand(dtype=np.float64)
    for key, p in model.params.items():
        p[...] = params[key]

    def predict(points):
        out = model.predict(points)[:, 0]
        return out if spec.loss == "bce" else sigmoid(out)  # logits -> probabilities
    return predict


def run(args) -> int:
    import handmade
    from compare import datasets
    from compare.spec import build_twins
    from compare.train import plots
    from compare.train.runs import save_run
    from compare.train.side_by_side import train_side_by_side

    data = datasets.load(args.dataset, seed=args.seed)
    spec = build_spec(data, args.hidden, args.activation, args.loss)
    name, options = optimizer_options(args)
    hand, twin = build_twins(spec, seed=args.seed, dtype=args.dtype, device=args.device)
    batch = args.batch_size or len(data.X_train)
    batches = handmade.make_batches(len(data.X_train), batch, args.epochs, seed=args.seed)
    two_d = data.n_features == 2 and data.task == "binary"
    snap = None if args.no_gif or not two_d else max(
        1, math.ceil(sum(map(len, batches)) / GIF_FRAMES))
    print(f"{args.dataset}: {len(data.X_train)} training samples; model {list(spec.sizes)} "
          f"{list(spec.activations)} {spec.loss}; {args.optimizer} {options}; {args.dtype} on "
          f"{args.device}")
    val = (data.X_val, data.y_val) if args.patience else (None, None)
    result = train_side_by_side(hand, twin, data.X_train, data.y_train, batches,
                                optimizer=name, options=options, X_val=val[0], y_val=val[1],
                                patience=args.patience, grad_tol=args.grad_tol,
                                snapshot_every=snap, progress=Progress())
    summary = summarize(spec, hand, twin, data, result)
    print_summary(summary)
    out = Path(args.out or f"runs/{args.dataset}-{args.optimizer}-{args.dtype}")
    record = {"dataset": args.dataset, "dtype": args.dtype, "device": args.device,
              "seed": args.seed, "optimizer": name, "options": options,
              "batch_size": batch, "summary": summary, "trajectory": result.trajectory,
              "val": result.val}
    save_run(out, spec, hand, twin, record)
    title = f"{args.dataset}, {args.optimizer}, {args.dtype}"
    plots.plot_losses(result.trajectory, out / "losses.png", val=result.val or None, title=title)
    plots.plot_divergence(result.trajectory, out / "divergence.png", title=title)
    if two_d:
        plots.plot_decision_boundary(_predictor(spec, hand.params), data.X_train,
                                     data.y_train, out / "boundary.png", title=title)
        if snap:
            frames = [(f"step {s}, loss {loss:.3f}", _predictor(spec, p))
                      for s, loss, p in result.snapshots]
            plots.animate_decision_boundary(frames, data.X_train, data.y_train,
                                            out / "boundary.gif")
    print(f"wrote {out}/")
    return 0


def summarize(spec, hand, twin, data, run) -> dict:
    """Accuracies, final losses, divergence and time per epoch of both twins."""
    from compare.train.side_by_side import accuracy

    out = {"epochs": run.epochs, "steps": len(run.trajectory),
           "stop_handmade": run.hand_stop, "stop_torch": run.torch_stop,
           "max_rel_param_diff": run.max_divergence,
           "final_rel_param_diff": run.trajectory[-1]["rel_param_diff"],
           "seconds_per_epoch_handmade": run.hand_seconds / run.epochs,
           "seconds_per_epoch_torch": run.torch_seconds / run.epochs}
    for side, model in (("handmade", hand), ("torch", twin)):
        for split, X, y in (("train", data.X_train, data.y_train),
                            ("test", data.X_test, data.y_test)):
            pred = _output(model, X)
            out[f"{split}_accuracy_{side}"] = accuracy(pred, y, spec.loss)
        out[f"train_loss_{side}"] = (hand.loss_value(data.X_train, data.y_train)
                                     if side == "handmade" else
                                     twin.loss_and_grads(data.X_train, data.y_train)[0])
    return out


def _output(model, X):
    if hasattr(model, "params"):
        return model.predict(X)
    import torch
    with torch.no_grad():
        return model(model.as_input(X)).cpu().double().numpy()


def print_summary(s: dict) -> None:
    def f(x, fmt):
        return "-" if x is None else format(x, fmt)
    rows = [("train accuracy", "train_accuracy", ".4f"), ("test accuracy", "test_accuracy", ".4f"),
            ("final train loss", "train_loss", ".6g"),
            ("seconds per epoch", "seconds_per_epoch", ".4f")]
    print(f"\n{'':20}{'handmade':>14}{'torch':>14}")
    for label, key, fmt in rows:
        print(f"{label:20}{f(s[f'{key}_handmade'], fmt):>14}{f(s[f'{key}_torch'], fmt):>14}")
    print(f"{'stopped by':20}{s['stop_handmade']:>14}{s['stop_torch']:>14}")
    print(f"max relative parameter difference over the run: {s['max_rel_param_diff']:.2e} "
          f"({s['steps']} steps, {s['epochs']} epochs)")
