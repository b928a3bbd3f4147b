"""``handgrad train``: train both twins side by side on a dataset, report, plot and save.

    handgrad train [--dataset moons] [--hidden 8] [--activation tanh] [--loss LOSS]
                   [--optimizer sgd|momentum|nesterov|adam] [--lr 0.5] [--epochs 100]
                   [--batch-size 32] [--dtype float64] [--device cpu] [--seed 0]
                   [--patience N] [--grad-tol G] [--divergence-factor F]
                   [--threads 1] [--out FOLDER] [--overwrite] [--no-gif]

The model is ``[n_features, *hidden, n_outputs]`` with ``--activation`` on the hidden
layers and the output activation that the loss expects.

Before any work, every option is checked (ranges in ``check_arguments``; ``--epochs`` at
most ``EPOCHS_MAX``), the memory the run needs is estimated (``bookkeeping.memory``) and
compared with what is available, and the run folder is claimed and its temporary made
(``bookkeeping.folder``): a bad value, a run too large, or a destination that cannot be
written is one line ``handgrad train: error: --flag ...`` and exit 2, within a second or two.

The run folder is one unit (docs/runs.md): ``run.json``, ``params.npz``, ``state_dict.pt``,
``losses.png``, ``divergence.png`` and, for 2-D binary datasets, ``boundary.png`` and
``boundary.gif`` are written into a hidden temporary folder beside the target, then
``manifest.json`` (size and SHA-256 of each), then the folder is renamed into place. The
default folder is ``runs/<dataset>-<arch>-<optimizer>-<dtype>`` (arch ``h8``, ``h32x16`` or
``nohidden``), numbered ``-2``, ``-3``, ... when taken; an existing ``--out`` that is not
empty is refused unless ``--overwrite`` (which replaces it as a whole). A divergence (exit
1), an error (exit 2) or Ctrl-C writes nothing. A run that did not learn
(``bookkeeping.training.did_not_learn``: its final loss on the training split not below
its first, or its training accuracy below chance) is written whole, then named in one line
on stderr, exit 1 (docs/training.md says why). Both twins are timed under one thread
budget, ``--threads`` (``compare.train.thread_budget``), and the summary says which. The
validation split is handed to the trainers with ``--patience`` only (early stopping and its
best-epoch restore); without it the run never looks at it. Only ``run`` (and the helpers it
calls) imports torch, scikit-learn and matplotlib.
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from handgrad.compare.cli.options import positive_int

# name: (training rows, features, outputs) of compare.datasets (seed 0), spelled out so that
# the parser and the checks before the work need no scikit-learn (tests check the table)
DATASETS = {"breast_cancer": (341, 30, 1), "cats_dogs": (120, 2, 1), "circles": (240, 2, 1),
            "digits": (1077, 64, 10), "iris": (90, 4, 3), "moons": (240, 2, 1),
            "seed000": (2, 3, 1), "seed003": (1, 3, 1), "xor": (4, 2, 1), "xor3": (4, 3, 1)}
DATASET_NAMES = tuple(DATASETS)
DEFAULT_LOSS = {"binary": "bce", "multiclass": "cross_entropy", "regression": "half_mse"}
OUTPUT_ACTIVATION = {"bce": "sigmoid", "nll": "softmax"}  # identity for every other loss
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")
OPTIMIZER_SLOTS = {"sgd": 0, "momentum": 1, "nesterov": 1, "adam": 2}
GIF_FRAMES = 40
EPOCHS_MAX = 10**6  # every step is recorded (run.json), and the batches are made per epoch
SEED_MAX = 2**32 - 1  # NumPy's and scikit-learn's seeds
DIVERGENCE_FACTOR = 1e3  # bookkeeping.training.DIVERGENCE_FACTOR, for --help (a test checks)
REPLACEABLE = ("manifest.json", "run.json")


def add_arguments(p) -> None:
    p.add_argument("--dataset", default="moons", choices=DATASET_NAMES)
    p.add_argument("--hidden", default="8",
                   help="hidden widths: positive integers, comma-separated (e.g. 32,16); "
                        "'none' for no hidden layer")
    p.add_argument("--activation", default="tanh", help="activation of the hidden layers")
    p.add_argument("--loss", default=None, help="default: bce, cross_entropy or half_mse by task")
    p.add_argument("--optimizer", default="sgd", choices=OPTIMIZERS)
    p.add_argument("--lr", type=float, default=0.5, help="learning rate, finite > 0")
    p.add_argument("--momentum", type=float, default=0.9,
                   help="in [0, 1), for --optimizer momentum and nesterov")
    p.add_argument("--weight-decay", type=float, default=0.0, help=">= 0")
    p.add_argument("--epochs", type=int, default=100,
                   help=f"maximum number of epochs, 1 to {EPOCHS_MAX}")
    p.add_argument("--batch-size", type=int, default=32, help="0 for the full training set")
    p.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--seed", type=int, default=0,
                   help=f"0 to {SEED_MAX}; seeds the data split, init and batches")
    p.add_argument("--patience", type=int, default=None,
                   help="early stopping on the validation split after this many epochs (>= 1)")
    p.add_argument("--grad-tol", type=float, default=None,
                   help="stop when the batch gradient norm falls below this (>= 0)")
    p.add_argument("--divergence-factor", type=float, default=None,
                   help="stop as diverged when a step's loss exceeds this factor times the "
                        f"first step's (a number > 1; default: {DIVERGENCE_FACTOR:g})")
    p.add_argument("--out", default=None,
                   help="run folder (default: runs/<dataset>-<arch>-<optimizer>-<dtype>, "
                        "numbered when taken); must not exist or be empty")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing run folder at --out as a whole")
    p.add_argument("--no-gif", action="store_true", help="skip the decision-boundary GIF")
    p.add_argument("--threads", type=positive_int, default=1, metavar="N",
                   help="the thread budget of both twins (torch's threads and NumPy's BLAS "
                        "threads), so that their seconds compare like with like")


def parse_hidden(hidden: str) -> list[int]:
    """``"32,16"`` -> ``[32, 16]``; ``"none"`` -> ``[]``; ValueError otherwise (``"0"``
    included: a width of 0 is no layer, and ``none`` says so on purpose)."""
    if hidden.strip().lower() == "none":
        return []
    widths = [w.strip() for w in hidden.split(",")]
    if not all(re.fullmatch(r"[0-9]+", w) and int(w) > 0 for w in widths):
        raise ValueError(f"--hidden must be comma-separated positive integers (e.g. 32,16) or "
                         f"'none', got {hidden!r}")
    return [int(w) for w in widths]


def check_arguments(args) -> list[int]:
    """Refuse any option outside its range (ValueError naming the flag); the hidden widths."""
    def need(ok, flag, rule, value):
        if not ok:
            raise ValueError(f"{flag} must be {rule}, got {value!r}")

    def finite(x):
        return x is not None and math.isfinite(x)

    need(finite(args.lr) and args.lr > 0, "--lr", "a finite number > 0", args.lr)
    need(1 <= args.epochs <= EPOCHS_MAX, "--epochs", f">= 1 and <= {EPOCHS_MAX} (every step "
         "is recorded)", args.epochs)
    need(args.batch_size >= 0, "--batch-size", ">= 0 (0: the full training set)",
         args.batch_size)
    need(0 <= args.seed <= SEED_MAX, "--seed", f"an integer from 0 to {SEED_MAX}", args.seed)
    need(finite(args.momentum) and 0 <= args.momentum < 1, "--momentum", ">= 0 and < 1",
         args.momentum)
    need(args.optimizer != "nesterov" or args.momentum > 0, "--momentum",
         "> 0 for --optimizer nesterov", args.momentum)
    need(finite(args.weight_decay) and args.weight_decay >= 0, "--weight-decay",
         "a finite number >= 0", args.weight_decay)
    need(args.patience is None or args.patience >= 1, "--patience", "an integer >= 1",
         args.patience)
    need(args.grad_tol is None or (finite(args.grad_tol) and args.grad_tol >= 0), "--grad-tol",
         "a finite number >= 0", args.grad_tol)
    need(args.divergence_factor is None or (finite(args.divergence_factor)
                                            and args.divergence_factor > 1),
         "--divergence-factor", "a finite number > 1", args.divergence_factor)
    need(re.fullmatch(r"cpu|cuda(:[0-9]+)?", args.device), "--device",
         "'cpu', 'cuda' or 'cuda:N'", args.device)
    need(args.out is None or args.out != "", "--out", "a folder name", args.out)
    widths = parse_hidden(args.hidden)
    from handgrad.handmade.activations import get_activation
    from handgrad.handmade.losses import get_loss
    for flag, name, get in (("--activation", args.activation, get_activation),
                            ("--loss", args.loss, get_loss)):
        try:
            name is None or get(name)
        except ValueError as exc:
            raise ValueError(f"{flag}: {exc}") from None
    return widths


def default_folder(args, widths) -> str:
    """``runs/<dataset>-<arch>-<optimizer>-<dtype>``, arch ``h8``, ``h32x16`` or ``nohidden``."""
    arch = "h" + "x".join(map(str, widths)) if widths else "nohidden"
    return f"runs/{args.dataset}-{arch}-{args.optimizer}-{args.dtype}"


def check_memory(args, widths) -> None:
    """Refuse a run whose estimated memory exceeds what is available (names the flag)."""
    from handgrad.bookkeeping.memory import available_memory, estimate_run_memory, human_bytes

    rows, n_in, n_out = DATASETS[args.dataset]
    batch = min(args.batch_size or rows, rows)
    sizes = [n_in, *widths, n_out]
    gif = 0 if args.no_gif or n_in != 2 or n_out != 1 else GIF_FRAMES + 1
    need = estimate_run_memory(sizes, 4 if args.dtype == "float32" else 8, rows,
                               args.epochs * math.ceil(rows / batch),
                               OPTIMIZER_SLOTS[args.optimizer],
                               gif + (2 if args.patience else 0))
    have = available_memory()
    if have is None or need["total"] <= have:
        return
    flag = "--epochs" if need["record"] > need["total"] / 2 else "--hidden"
    value = args.epochs if flag == "--epochs" else args.hidden
    raise ValueError(f"{flag} {value}: the run needs about {human_bytes(need['total'])} of "
                     f"memory but {human_bytes(have)} is available (parameters "
                     f"{human_bytes(need['parameters'])}, activations "
                     f"{human_bytes(need['activations'])}, per-step record "
                     f"{human_bytes(need['record'])}; see docs/runs.md)")


def optimizer_options(args) -> tuple[str, dict]:
    """handgrad's optimizer name and torch.optim's options from the command line."""
    if args.optimizer == "adam":
        return "adam", {"lr": args.lr, "weight_decay": args.weight_decay}
    options = {"lr": args.lr, "weight_decay": args.weight_decay}
    if args.optimizer in ("momentum", "nesterov"):
        options.update(momentum=args.momentum, nesterov=args.optimizer == "nesterov")
    return "sgd", options


def build_spec(data, hidden, activation: str, loss: str | None):
    """The ``Spec`` of ``[n_features, *hidden, n_outputs]`` for a ``compare.datasets.Dataset``
    (``hidden``: the widths, or their text as ``--hidden`` takes it)."""
    from handgrad.compare.spec import Spec

    widths = parse_hidden(hidden) if isinstance(hidden, str) else list(hidden)
    loss = loss or DEFAULT_LOSS[data.task]
    acts = (activation,) * len(widths) + (OUTPUT_ACTIVATION.get(loss, "identity"),)
    return Spec((data.n_features, *widths, data.n_outputs), acts, loss)


class Progress:
    """A one-line progress bar with both twins' loss on the epoch's last batch (a line per
    10 % when not on a terminal)."""

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stderr  # the current one
        self.tty = self.stream.isatty()

    def __call__(self, epoch: int, total: int, rec: dict) -> None:
        if not self.tty and epoch % max(1, total // 10) and epoch != total:
            return
        done = int(30 * epoch / total)
        line = (f"epoch {epoch:>4}/{total} [{'#' * done}{'.' * (30 - done)}] last-batch loss: "
                f"handmade {rec['hand_loss']:.6f}  torch {rec['torch_loss']:.6f}  "
                f"relative param diff {rec['rel_param_diff']:.1e}")
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        if self.tty and epoch == total:
            self.stream.write("\n")
        self.stream.flush()


def run(args) -> int:
    from handgrad.bookkeeping.folder import FolderWriter

    widths = check_arguments(args)
    check_memory(args, widths)
    writer = FolderWriter(args.out if args.out is not None else default_folder(args, widths),
                          overwrite=args.overwrite, unique=args.out is None,
                          what="--out" if args.out is not None else "run folder",
                          hint="--overwrite", replaceable=REPLACEABLE)
    try:
        with writer:  # claims the folder, makes the temporary: a bad destination stops here
            verdict = _train_into(args, widths, writer.path)
    except KeyboardInterrupt as exc:
        done = f"{writer.target} was written whole" if writer.committed else "nothing written"
        raise KeyboardInterrupt(f"{str(exc) or 'interrupted'}; {done}") from None
    shown = os.path.relpath(writer.target) if writer.target.is_relative_to(Path.cwd()) else \
        writer.target
    print(f"wrote {shown}/")
    if verdict:  # written whole all the same: the record shows how it went wrong
        from handgrad.compare.cli.process import EXIT_FAILED, say
        say(f"handgrad train: {verdict}; the run folder {shown}/ was written all the same, "
            "to look at (exit 1)")
        return EXIT_FAILED
    return 0


def _train_into(args, widths, out) -> str:
    """Train, summarize and write the run into ``out``; the learning verdict ("" or why the
    run did not learn: see ``train_report.learning_verdict``)."""
    from handgrad.compare.cli.devices import resolve_cli_device
    resolve_cli_device(args.device)

    from handgrad.compare.cli.train_report import learning_verdict, print_summary
    from handgrad.compare.train.runs import write_run_files

    trained = _train(args, widths)
    print_summary(trained.summary)
    record = {"dataset": args.dataset, "dtype": args.dtype, "device": args.device,
              "seed": args.seed, "optimizer": trained.optimizer, "options": trained.options,
              "batch_size": trained.batch, "threads": args.threads,
              "rules": {"epochs": args.epochs, "patience": args.patience,
                        "grad_tol": args.grad_tol,
                        "divergence_factor": args.divergence_factor or DIVERGENCE_FACTOR},
              "summary": trained.summary, "trajectory": trained.result.trajectory,
              "val": trained.result.val}
    write_run_files(out, trained.spec, trained.hand, trained.twin, record)
    _draw(args, trained, out)
    return learning_verdict(trained.summary)


@dataclass
class _Trained:
    """What ``_train`` hands on: the models, the data, the run and its summary."""

    data: object  # compare.datasets.Dataset
    spec: object  # compare.spec.Spec
    hand: object
    twin: object
    result: object  # compare.train.side_by_side.SideBySide
    batch: int
    optimizer: str
    options: dict
    two_d: bool  # 2-D binary data: the boundary is drawn
    snap: int | None  # snapshot_every, for the GIF
    summary: dict


def _train(args, widths) -> _Trained:
    from handgrad import handmade
    from handgrad.compare import datasets
    from handgrad.compare.cli.train_report import check_finite_run, summarize
    from handgrad.compare.spec import build_twins
    from handgrad.compare.train.side_by_side import train_side_by_side

    data = datasets.load(args.dataset, seed=args.seed)
    spec = build_spec(data, widths, args.activation, args.loss)
    name, options = optimizer_options(args)
    hand, twin = build_twins(spec, seed=args.seed, dtype=args.dtype, device=args.device)
    batch = args.batch_size or len(data.X_train)
    batches = handmade.make_batches(len(data.X_train), batch, args.epochs, seed=args.seed)
    two_d = data.n_features == 2 and data.task == "binary"
    steps = args.epochs * math.ceil(len(data.X_train) / batch)  # at most
    snap = None if args.no_gif or not two_d else max(1, math.ceil(steps / GIF_FRAMES))
    print(f"{args.dataset}: {len(data.X_train)} training samples; model {list(spec.sizes)} "
          f"{list(spec.activations)} {spec.loss}; {args.optimizer} {options}; {args.dtype} on "
          f"{args.device}; {args.threads} thread(s)")
    first_loss = float(hand.loss_value(data.X_train, data.y_train))  # both start here
    val = (data.X_val, data.y_val) if args.patience else (None, None)
    result = train_side_by_side(hand, twin, data.X_train, data.y_train, batches,
                                optimizer=name, options=options, X_val=val[0], y_val=val[1],
                                patience=args.patience, grad_tol=args.grad_tol,
                                divergence_factor=args.divergence_factor,
                                snapshot_every=snap, progress=Progress(),
                                threads=args.threads)
    check_finite_run(result, args.lr)
    return _Trained(data=data, spec=spec, hand=hand, twin=twin, result=result, batch=batch,
                    optimizer=name, options=options, two_d=two_d, snap=snap,
                    summary=summarize(spec, hand, twin, data, result, first_loss))


def _draw(args, trained: _Trained, out) -> None:
    """``losses.png``, ``divergence.png`` and, for 2-D binary data, the boundary's PNG/GIF."""
    from handgrad.compare.cli.train_report import predictor
    from handgrad.compare.train import plots

    result, spec, data = trained.result, trained.spec, trained.data
    title = f"{args.dataset}, {args.optimizer}, {args.dtype}"
    plots.plot_losses(result.trajectory, out / "losses.png", val=result.val or None,
                      title=title, loss_name=spec.loss)
    plots.plot_divergence(result.trajectory, out / "divergence.png", title=title)
    if not trained.two_d:
        return
    restored = result.best_epoch is not None and result.best_epoch < result.epochs
    caption = plots.Caption(split="training",
                            step=result.best_step if restored else len(result.trajectory),
                            epoch=result.best_epoch if restored else result.epochs,
                            restored=restored)
    plots.plot_decision_boundary(predictor(spec, trained.hand.params), data.X_train,
                                 data.y_train, out / "boundary.png", title=title,
                                 caption=caption)
    if trained.snap:
        frames = [(f"step {s}{' (initial)' if s == 0 else ''}, training loss {loss:.4g}",
                   predictor(spec, p)) for s, loss, p in result.snapshots]
        plots.animate_decision_boundary(frames, data.X_train, data.y_train,
                                        out / "boundary.gif", title=title, caption=caption)
