"""The one core every door of the judge goes through: compare hand numbers with references.

A door (``check_gradients``, ``check_model``, ``check_layer``) computes three things in its
own way and hands them here:

* the hand side: the value (loss or output), the gradients, the named intermediates;
* the autograd side (or None): the same, from torch in float64;
* finite differences (or None): per gradient, the difference quotients along a set of
  perturbations and what the hand gradient predicts along them (``compare.check.fd``).

``judge`` turns them into a ``GradReport`` with the tolerances of ``compare.check.tolerances``.
Floors: a gradient is compared relative to the largest entry of all gradients of its kind
(cancellation leaves absolute, not relative, errors), a value relative to ``max(|v|, 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from compare.check.diagnose import diagnose
from compare.check.report import Entry, GradReport
from compare.check.tolerances import AUTOGRAD, FINITE_DIFF, elem_rel_err, norm_rel_err


@dataclass
class Side:
    """One side's numbers: the value (the loss, or a layer's output), the gradients by
    name, and the gradients of named intermediates (or layer deltas) by name."""

    value: object
    grads: dict[str, np.ndarray]
    intermediates: dict[str, np.ndarray] = field(default_factory=dict)


def compare_entry(entry: Entry, a, b, tol, which: str, floor_abs: float = 0.0) -> None:
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


def largest(arrays) -> float:
    """The largest absolute entry over several arrays (0 for none)."""
    return max((float(np.max(np.abs(a))) for a in arrays if np.size(a)), default=0.0)


def scalar(value) -> float | np.ndarray:
    """A float, a 0-d or a 1-element array as the float; anything else unchanged."""
    return np.ravel(value)[0] if np.size(value) == 1 else value


def judge(hand: Side, ref: Side | None, fd: dict | None, *, dtype: str, device: str,
          kind: str, value_name: str = "loss", layer_of=lambda name: None,
          walk_back: list[str] | None = None, intermediate_kind: str = "intermediate",
          fd_method: str | None = None, autograd_dtype: str | None = None,
          n_samples: int | None = None) -> GradReport:
    """Compare ``hand`` with ``ref`` (autograd) and ``fd`` (finite differences).

    ``kind`` is the entries' kind for ``hand.grads``; ``walk_back`` the intermediates'
    names in the order walking back from the loss (default: ``hand.intermediates``' order).
    ``n_samples`` (the batch size, when known) lets a diagnosis name a factor m or 1/m.
    ``dtype`` is the hand side's; ``autograd_dtype`` the reference's when it differs (the
    autograd tolerance is float32's when either side computed in float32).
    """
    references = (["autograd"] if ref is not None else []) + (["fd"] if fd is not None else [])
    report = GradReport(dtype=dtype, device=device, references=references, fd_method=fd_method)
    tol_ag = AUTOGRAD["float32" if "float32" in (dtype, autograd_dtype) else "float64"]
    tol_fd = FINITE_DIFF[dtype]
    names = list(ref.grads) if ref is not None else list(hand.grads)

    value_entry = Entry(value_name, value_name)
    if ref is not None:  # a value is a sum of terms of order one: compare to max(|v|, 1)
        compare_entry(value_entry, scalar(hand.value), scalar(ref.value), tol_ag, "autograd",
                      floor_abs=1.0)
        report.entries.append(value_entry)

    floor_ag = tol_ag.floor * largest(ref.grads.values()) if ref is not None else 0.0
    floor_fd = tol_fd.floor * largest(r.fd for r in fd.values()) if fd else 0.0
    for name in names:
        entry = Entry(name, kind, layer_of(name))
        if name not in hand.grads:
            entry.ok, entry.note = False, "missing from grads"
        elif ref is not None:
            compare_entry(entry, hand.grads[name], ref.grads[name], tol_ag, "autograd",
                          floor_ag)
        if fd is not None and name in fd:
            res = fd[name]
            entry.fd_kinks = res.kinks
            if res.fd.size:
                compare_entry(entry, res.predicted, res.fd, tol_fd, "fd", floor_fd)
        report.entries.append(entry)
    extra = [name for name in hand.grads if name not in names]
    if extra:
        report.entries.append(Entry(", ".join(extra), kind, ok=False,
                                    note="gradients for names the model does not have"))

    if ref is not None and (hand.intermediates or walk_back):
        order = walk_back if walk_back is not None else list(hand.intermediates)
        floor_i = tol_ag.floor * largest(ref.intermediates.values())
        for name in order:
            entry = Entry(name, intermediate_kind, layer_of(name))
            got = hand.intermediates.get(name)
            if got is None:
                entry.ok, entry.note = False, f"missing from {intermediate_kind}s"
            else:
                compare_entry(entry, got, ref.intermediates[name], tol_ag, "autograd", floor_i)
            report.entries.append(entry)
    if ref is not None:
        refs = {**ref.grads, **ref.intermediates}
        mine = {**hand.grads, **hand.intermediates}
        for entry in report.entries:
            if not entry.ok and entry.name in refs and entry.name in mine:
                entry.diagnosis = diagnose(mine[entry.name], refs[entry.name],
                                           n_samples=n_samples) or ""
    return report
