"""The judge: a hand-derived gradient against torch autograd and finite differences.

``check_gradients(hand, X, y)`` compares, for every parameter and every layer delta
``dL/dZ_l``, the handmade numbers with

1. torch autograd on the twin (float64, on ``device``), and
2. central finite differences of the handmade loss (float64; parameters only),

and returns a ``GradReport``: per entry the normwise and the max elementwise relative
error, pass/fail against the tolerances of ``compare.check.tolerances``, the names of the
parameters that disagree, and ``first_bad_layer``, the first layer counting back from the
output whose delta disagrees (its index ``l`` as in ``layers.{l}``), which localizes a bug.

``hand`` is anything with a ``params`` dict and ``loss_and_grads(X, y) -> (loss, grads)``;
``deltas`` (a list of ``(m, out_l)`` arrays) is compared when present. A backward that
raises, or returns missing or misshapen gradients, is reported, not raised.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from compare.check.finite_diff import finite_differences
from compare.check.tolerances import AUTOGRAD, FINITE_DIFF, elem_rel_err, norm_rel_err
from compare.spec import Spec
from compare.transfer import TORCH_DTYPES, dtype_name, hand_to_torch, to_numpy64
from handmade.mlp import check_finite_params


@dataclass
class Entry:
    """One compared quantity: a parameter's gradient, a layer's delta, or the loss value."""

    name: str  # "layers.0.weight", "delta[1]" or "loss"
    kind: str  # "param", "delta" or "loss"
    layer: int | None
    autograd_rel_err: float | None = None  # normwise, hand vs autograd
    autograd_max_elem_err: float | None = None
    fd_rel_err: float | None = None  # normwise, hand vs finite differences (params only)
    fd_max_elem_err: float | None = None
    fd_kinks: int = 0  # finite-difference steps left out because they crossed a kink
    ok: bool = True
    note: str = ""


@dataclass(repr=False)
class GradReport:
    """Everything ``check_gradients`` found; ``str(report)`` is a readable table."""

    dtype: str
    device: str
    entries: list[Entry] = field(default_factory=list)
    fd_method: str | None = None

    @property
    def ok(self) -> bool:
        return all(e.ok for e in self.entries)

    @property
    def failures(self) -> list[str]:
        """Names of the parameters whose gradient disagrees with a reference."""
        return [e.name for e in self.entries if e.kind == "param" and not e.ok]

    @property
    def first_bad_layer(self) -> int | None:
        """Walking back from the output layer, the first layer whose delta disagrees."""
        bad = [e.layer for e in self.entries if e.kind == "delta" and not e.ok]
        return max(bad) if bad else None

    def records(self, config: str = "") -> list[dict]:
        """One JSON-ready dict per entry, with ``config``, ``dtype`` and ``device``."""
        return [{"config": config, "dtype": self.dtype, "device": self.device,
                 "param": e.name, **{k: v for k, v in asdict(e).items() if k != "name"}}
                for e in self.entries]

    def __str__(self) -> str:
        def fmt(x):
            return "-" if x is None else f"{x:.1e}"
        head = (f"gradient check {'PASSED' if self.ok else 'FAILED'} "
                f"(dtype {self.dtype}, device {self.device}, finite differences: "
                f"{self.fd_method or 'off'})")
        lines = [head, f"{'':18}{'autograd rel':>13}{'max elem':>10}{'fd rel':>10}"
                       f"{'max elem':>10}{'kinks':>6}  ok"]
        for e in self.entries:
            lines.append(f"{e.name:18}{fmt(e.autograd_rel_err):>13}"
                         f"{fmt(e.autograd_max_elem_err):>10}{fmt(e.fd_rel_err):>10}"
                         f"{fmt(e.fd_max_elem_err):>10}{e.fd_kinks:>6}  "
                         f"{'ok' if e.ok else 'FAIL'}{'  ' + e.note if e.note else ''}")
        if not self.ok:
            lines.append(f"parameters that disagree: {self.failures or 'none'}; first bad layer "
                         f"counting back from the output: {self.first_bad_layer}")
        return "\n".join(lines)

    __repr__ = __str__


def _compare(entry: Entry, a, b, tol, which: str, floor_abs: float = 0.0) -> None:
    """Fill ``entry``'s errors for ``which`` ("autograd" or "fd") and fail it if needed.

    ``floor_abs``: below it, differences count as absolute (see ``compare.check.tolerances``).
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        entry.ok = False
        entry.note = f"shape {a.shape} != reference {b.shape}"
        return
    if not np.all(np.isfinite(a)):  # a NaN/Inf gradient is useless even if torch agrees
        entry.ok = False
        same = np.array_equal(a, b, equal_nan=True)
        entry.note = "non-finite values" + (" (the reference has the same)" if same else "")
    norm, elem = norm_rel_err(a, b, floor_abs), elem_rel_err(a, b, tol.floor, floor_abs)
    setattr(entry, f"{which}_rel_err", norm)  # the errors as measured, reported as they are
    setattr(entry, f"{which}_max_elem_err", elem)
    if tol.atol:  # pass/fail ignores differences below atol (float32 only)
        norm = norm_rel_err(a, b, floor_abs, tol.atol)
        elem = elem_rel_err(a, b, tol.floor, floor_abs, tol.atol)
    if not tol.passes(norm, elem):
        entry.ok = False


def _model_dtype(hand) -> str:
    params = getattr(hand, "params", None)
    if not isinstance(params, dict) or not params:
        raise TypeError("hand must have a non-empty params dict (name -> ndarray)")
    kinds = {np.asarray(p).dtype for p in params.values()}
    if len(kinds) != 1:
        raise TypeError(f"hand's parameters mix dtypes {sorted(map(str, kinds))}")
    dtype = kinds.pop()
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"hand's parameters must be float32 or float64, got {dtype}")
    check_finite_params(params, what="hand's parameter")  # nothing to check against NaN
    return dtype_name(dtype)


def check_gradients(hand, X, y, *, torch_model=None, device="cpu", fd="auto",
                    fd_seed=0) -> GradReport:
    """Check ``hand``'s ``loss_and_grads`` against autograd and finite differences.

    Args:
        hand: object with ``params`` and ``loss_and_grads(X, y)``; optionally ``deltas``.
        X: inputs ``(m, n_in)``; y: labels as the loss reads them.
        torch_model: the twin to use; its parameters are overwritten with ``hand``'s.
            Without one, a float64 ``TorchMLP`` is built on ``device`` from ``hand``'s
            ``sizes``, ``activations``, ``loss`` and ``reduction``.
        device: where the built twin runs (``"cpu"``, ``"cuda"``, ``"cuda:N"``).
        fd: ``"auto"``, ``"coords"``, ``"directions"`` or ``None`` (no finite differences).
        fd_seed: seeds the random directions.

    Returns:
        a ``GradReport`` (``.ok``, ``.failures``, ``.first_bad_layer``, ``.entries``).
    """
    if fd not in (None, "auto", "coords", "directions"):
        raise ValueError(f"fd must be 'auto', 'coords', 'directions' or None, got {fd!r}")
    dtype = _model_dtype(hand)
    twin = torch_model if torch_model is not None else Spec.of(hand).torch(
        dtype="float64", device=device)
    hand_to_torch(hand, twin)
    report = GradReport(dtype=dtype, device=str(twin.layers[0].weight.device))
    ref_loss, ref_grads = twin.loss_and_grads(X, y)
    ref_grads = {k: to_numpy64(v) for k, v in ref_grads.items()}
    ref_deltas = [to_numpy64(d) for d in twin.deltas]
    # a float32 side on either end sets the float32 tolerance
    tol_ag = AUTOGRAD["float32" if torch.float32 in (twin.dtype, TORCH_DTYPES[dtype])
                      else "float64"]
    tol_fd = FINITE_DIFF[dtype]

    try:
        loss, grads = hand.loss_and_grads(X, y)
        deltas = getattr(hand, "deltas", None)
        if not isinstance(grads, dict):
            raise TypeError(f"grads must be a dict keyed like params, got {type(grads).__name__}")
    except Exception as exc:  # a broken backward is a finding, not a crash
        note = f"loss_and_grads raised {type(exc).__name__}: {exc}"
        report.entries = [Entry(k, "param", _layer_of(k), ok=False, note=note)
                          for k in ref_grads]
        return report

    loss_entry = Entry("loss", "loss", None)
    if np.size(loss) == 1:  # a float, a 0-d or a 1-element array all count as the value
        loss = np.ravel(loss)[0]
    _compare(loss_entry, loss, ref_loss, tol_ag, "autograd", floor_abs=1.0)  # max(|L|, 1)
    report.entries.append(loss_entry)

    usable = {}
    for key, ref in ref_grads.items():
        entry = Entry(key, "param", _layer_of(key))
        if key not in grads:
            entry.ok, entry.note = False, "missing from grads"
        else:
            _compare(entry, grads[key], ref, tol_ag, "autograd",
                     tol_ag.floor * _largest(ref_grads.values()))
            usable[key] = np.shape(grads[key]) == ref.shape
        report.entries.append(entry)
    extra = sorted(set(grads) - set(ref_grads))
    if extra:
        report.entries.append(Entry(", ".join(extra), "param", None, ok=False,
                                    note="gradients for parameters the model does not have"))

    if fd is not None and all(usable.get(k, False) for k in ref_grads):
        try:
            fd_results = finite_differences(hand, X, y, grads, method=fd, seed=fd_seed)
        except Exception as exc:  # the loss failed at a perturbed point: report, go on
            fd_results = {}
            report.entries.append(Entry("finite differences", "loss", None, ok=False,
                                        note=f"raised {type(exc).__name__}: {exc}"))
        for entry in report.entries:
            if entry.kind == "param" and entry.name in fd_results:
                res = fd_results[entry.name]
                report.fd_method = res.method
                entry.fd_kinks = res.kinks
                if res.fd.size:
                    _compare(entry, res.predicted, res.fd, tol_fd, "fd",
                             tol_fd.floor * _largest(r.fd for r in fd_results.values()))

    if deltas is not None:
        for layer, ref in reversed(list(enumerate(ref_deltas))):
            entry = Entry(f"delta[{layer}]", "delta", layer)
            if layer < len(deltas) and deltas[layer] is not None:
                _compare(entry, deltas[layer], ref, tol_ag, "autograd",
                         tol_ag.floor * _largest(ref_deltas))
            else:
                entry.ok, entry.note = False, "missing from deltas"
            report.entries.append(entry)
    return report


def assert_gradients_match(hand, X, y, **kwargs) -> GradReport:
    """``check_gradients`` for a user's own pytest: raises AssertionError with the table."""
    report = check_gradients(hand, X, y, **kwargs)
    if not report.ok:
        raise AssertionError("\n" + str(report))
    return report


def _largest(arrays) -> float:
    """The largest absolute entry over several arrays (0 for none)."""
    return max((float(np.max(np.abs(a))) for a in arrays if np.size(a)), default=0.0)


def _layer_of(key: str) -> int | None:
    parts = key.split(".")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None
