"""The one core every door of the judge goes through: compare hand numbers with references.

A door (``check_gradients``, ``check_model``, ``check_layer``) computes three things in its
own way and hands them here:

* the hand side: the value (loss or output), the gradients, the named intermediates;
* the autograd side (or None): the same, from torch, with ``noise``: per gradient, the
  difference between two evaluations of the reference that differ only in rounding (the
  batch in another order, or float32 against float64), which measures its rounding level;
* finite differences (or None): per gradient, the difference quotients, what the hand
  gradient predicts along the same perturbations, and their own error estimate.

Each reference decides an entry only where it is sure of itself:

* autograd: ``pass`` when the hand gradient is within the relative tolerance of
  ``compare.check.tolerances`` or within ``ROUNDING_FACTOR`` times the measured rounding of
  the reference (plus ``ROUNDING_ULPS`` units of the gradient's scale); otherwise ``fail``.
  A reference that is itself all rounding (an optimum) marks the entry as at rounding level.
* finite differences: ``pass`` within their tolerance, ``fail`` when the disagreement is
  more than ``FD_SURE`` times their own error estimate, otherwise unsure.

``judge`` combines them into ``pass``, ``fail`` or ``inconclusive`` per entry (see
``_combine``) and returns a ``GradReport``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from handgrad.compare.check.diagnose import diagnose
from handgrad.compare.check.report import Entry, GradReport
from handgrad.compare.check.tolerances import (
    AUTOGRAD,
    FINITE_DIFF,
    TINY,
    elem_rel_err,
    norm_rel_err,
)

ROUNDING_FACTOR = 10.0  # a hand gradient may differ by 10x the reference's own rounding
ROUNDING_ULPS = 64  # ... plus 64 units in the last place of the largest gradient: sums of
#                     up to thousands of terms round to a few ulps of their largest term
FD_SURE = 10.0  # finite differences fail an entry only 10x beyond their own error estimate
EPS = {"float64": float(np.finfo(np.float64).eps), "float32": float(np.finfo(np.float32).eps)}
AT_OPTIMUM = ("the whole gradient is zero to within the reference's own rounding (an "
              "optimum, or a flat part of the loss): nothing to compare; check at a point "
              "away from it")


@dataclass
class Side:
    """One side's numbers: the value (the loss, or a layer's output), the gradients by
    name, and the gradients of named intermediates (or layer deltas) by name. A reference
    side may carry ``noise``: per name, a sample of its own rounding error."""

    value: object
    grads: dict[str, np.ndarray]
    intermediates: dict[str, np.ndarray] = field(default_factory=dict)
    noise: dict[str, np.ndarray] = field(default_factory=dict)
    bounds: dict[str, np.ndarray] = field(default_factory=dict)  # entrywise rounding bounds


def autograd_decision(entry: Entry, a, b, tol, *, floor_abs: float = 0.0, noise=None,
                      ulp_scale: float = 0.0, strict: bool = False, bound=None) -> str:
    """``"pass"``, ``"fail"`` or ``"rounding"`` for hand ``a`` against the reference ``b``.

    Fills ``entry``'s autograd errors. ``noise`` (a sample of the reference's rounding)
    and ``ulp_scale`` (``ROUNDING_ULPS`` ulps of it) give an absolute allowance, to which
    ``bound`` (entrywise rounding bounds from the terms' magnitudes) adds; ``strict``
    drops the relative tolerance (float32 with a measured rounding: the relative bound of
    1e-3 would let a 1e-3 slip through). ``"rounding"``: the reference is within its own
    rounding of zero, and so is the hand value.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        entry.fail(f"shape {a.shape} != reference {b.shape}")
        return "fail"
    with np.errstate(all="ignore"):
        d = np.abs(np.subtract(a, b))  # |a - b|: the one difference every measure reads
        worst = float(np.max(d)) if d.size else 0.0
    if not np.isfinite(worst):  # a NaN/Inf on either side: the careful, slower path
        return _nonfinite_decision(entry, a, b, tol, floor_abs)
    with np.errstate(all="ignore"):  # huge/tiny values: inf or 0, never an exception
        entry.autograd_rel_err, entry.autograd_max_elem_err, peak_a, peak_b = _errors(
            a, b, d, tol.floor, floor_abs)
    noise_max = float(np.max(np.abs(noise))) if noise is not None and np.size(noise) else 0.0
    allow = ROUNDING_FACTOR * noise_max + ulp_scale  # the scalar part of the allowance
    if bound is None:
        within_rounding = worst <= allow
        at_rounding = peak_b <= allow and peak_a <= 2 * allow
    else:
        bound = np.asarray(bound, np.float64)
        within_rounding = bool(np.all(d <= bound + allow))
        at_rounding = (within_rounding and peak_b <= allow + float(np.max(bound))
                       and bool(np.all(np.abs(b) <= bound + allow))
                       and bool(np.all(np.abs(a) <= 2 * (bound + allow))))
    if at_rounding and within_rounding:
        return "rounding"
    relative = (not strict) and tol.passes(entry.autograd_rel_err, entry.autograd_max_elem_err)
    if relative or within_rounding:
        return "pass"
    entry.fail()
    return "fail"


def _errors(a, b, d, floor: float, floor_abs: float) -> tuple[float, float, float, float]:
    """``norm_rel_err``, ``elem_rel_err`` (``compare.check.tolerances``), ``max|a|`` and
    ``max|b|`` of finite ``a``, ``b`` with ``d = |a - b|``, in a few passes over the arrays
    (the large weights of a big model make this the judge's own main cost)."""
    if not d.size:
        return 0.0, 0.0, 0.0, 0.0
    peak_a = max(float(np.max(a)), -float(np.min(a)))
    peak_b = max(float(np.max(b)), -float(np.min(b)))
    norm = float(np.linalg.norm(d.ravel()) / max(np.linalg.norm(b.ravel()), floor_abs, TINY))
    denom = np.abs(a, out=np.empty_like(a))  # an array also for 0-d a, for out= below
    denom += np.abs(b)
    np.maximum(denom, max(floor * max(peak_a, peak_b), floor_abs, TINY), out=denom)
    return norm, float(np.max(np.divide(d, denom, out=denom))), peak_a, peak_b


def _nonfinite_decision(entry, a, b, tol, floor_abs: float) -> str:
    """``autograd_decision`` where ``a`` or ``b`` holds a NaN or an infinity."""
    if not np.all(np.isfinite(a)):  # a NaN/Inf gradient is useless even if torch agrees
        same = np.array_equal(a, b, equal_nan=True)
        entry.fail("non-finite values" + (" (the reference has the same)" if same else ""))
        return "fail"
    entry.autograd_rel_err = norm_rel_err(a, b, floor_abs)
    entry.autograd_max_elem_err = elem_rel_err(a, b, tol.floor, floor_abs)
    entry.fail("the reference has non-finite values")
    return "fail"


def fd_decision(entry: Entry, res, tol, floor_abs: float) -> str | None:
    """``"pass"``, ``"fail"``, ``"unsure"`` or None (no step survived the kinks)."""
    entry.fd_kinks = res.kinks
    if not res.fd.size:
        return None
    a, b = np.asarray(res.predicted, np.float64), np.asarray(res.fd, np.float64)
    entry.fd_rel_err = norm_rel_err(a, b, floor_abs)
    entry.fd_max_elem_err = elem_rel_err(a, b, tol.floor, floor_abs)
    entry.fd_error = res.error
    if not np.all(np.isfinite(a)):
        return "fail"
    if tol.passes(entry.fd_rel_err, entry.fd_max_elem_err):
        return "pass"
    return "fail" if np.linalg.norm(a - b) > FD_SURE * res.error else "unsure"


def largest(arrays) -> float:
    """The largest absolute entry over several arrays (0 for none)."""
    return max((max(float(np.max(a)), -float(np.min(a))) for a in arrays if np.size(a)),
               default=0.0)  # max and min: no |a| temporary (a NaN stays NaN)


def scalar(value) -> float | np.ndarray:
    """A float, a 0-d or a 1-element array as the float; anything else unchanged."""
    return np.ravel(value)[0] if np.size(value) == 1 else value


def judge(hand: Side, ref: Side | None, fd: dict | None, *, dtype: str, device: str,
          kind: str, value_name: str = "loss", layer_of=lambda name: None,
          walk_back: list[str] | None = None, intermediate_kind: str = "intermediate",
          fd_method: str | None = None, autograd_dtype: str | None = None,
          n_samples: int | None = None, contract: str | None = None,
          ref_deviates: str = "") -> GradReport:
    """Compare ``hand`` with ``ref`` (autograd) and ``fd`` (finite differences).

    ``kind`` is the entries' kind for ``hand.grads``; ``walk_back`` the intermediates'
    names in the order walking back from the loss (default: ``hand.intermediates``' order).
    ``n_samples`` (the batch size, when known) lets a diagnosis name a factor m or 1/m.
    ``dtype`` is the hand side's; ``autograd_dtype`` the reference's when it differs (the
    autograd tolerance is float32's when either side computed in float32).
    ``contract="autograd"``: the hand code promises to match torch (handmade's twins,
    clamps and thresholds included), so where hand and autograd agree and finite
    differences do not, autograd decides; otherwise that entry is inconclusive.
    ``ref_deviates`` (words): torch's gradient is known to depart from the loss's derivative
    on this batch (a clamp); where finite differences then confirm the hand gradient
    against autograd, the entry passes with a note.
    """
    references = (["autograd"] if ref is not None else []) + (["fd"] if fd is not None else [])
    report = GradReport(dtype=dtype, device=device, references=references, fd_method=fd_method)
    ref_dtype = "float32" if "float32" in (dtype, autograd_dtype) else "float64"
    tol_ag, tol_fd = AUTOGRAD[ref_dtype], FINITE_DIFF[dtype]
    strict = ref_dtype == "float32" and ref is not None and bool(ref.noise)
    names = list(ref.grads) if ref is not None else list(hand.grads)

    if ref is not None:  # a value is a sum of terms of order one: compare to max(|v|, 1)
        value_entry = Entry(value_name, value_name)
        if autograd_decision(value_entry, scalar(hand.value), scalar(ref.value), tol_ag,
                             floor_abs=1.0) == "fail":
            value_entry.note = value_entry.note or "the values differ: not the same function?"
        report.entries.append(value_entry)

    scale = largest(ref.grads.values()) if ref is not None else 0.0
    floor_fd = tol_fd.floor * largest(r.fd for r in fd.values()) if fd else 0.0
    at_rounding = []
    for name in names:
        entry = Entry(name, kind, layer_of(name))
        report.entries.append(entry)
        if name not in hand.grads:
            entry.fail("missing from grads")
            continue
        ag = None if ref is None else autograd_decision(
            entry, hand.grads[name], ref.grads[name], tol_ag, floor_abs=tol_ag.floor * scale,
            noise=ref.noise.get(name), ulp_scale=ROUNDING_ULPS * EPS[ref_dtype] * scale,
            strict=strict, bound=ref.bounds.get(name))
        fdd = fd_decision(entry, fd[name], tol_fd, floor_fd) if fd and name in fd else None
        _combine(entry, ag, fdd, contract, ref_deviates)
        if ag == "rounding":
            at_rounding.append(entry)
    if at_rounding and len(at_rounding) == len(names):
        for entry in at_rounding:  # nothing anywhere to compare
            entry.inconclusive(AT_OPTIMUM)
    extra = [name for name in hand.grads if name not in names]
    if extra:
        report.entries.append(Entry(", ".join(extra), kind, status="fail",
                                    note="gradients for names the model does not have"))

    if ref is not None and (hand.intermediates or walk_back):
        order = walk_back if walk_back is not None else list(hand.intermediates)
        scale_i = largest(ref.intermediates.values())
        for name in order:
            entry = Entry(name, intermediate_kind, layer_of(name))
            report.entries.append(entry)
            got = hand.intermediates.get(name)
            if got is None:
                entry.fail(f"missing from {intermediate_kind}s")
                continue
            autograd_decision(entry, got, ref.intermediates[name], tol_ag,
                              floor_abs=tol_ag.floor * scale_i, noise=ref.noise.get(name),
                              ulp_scale=ROUNDING_ULPS * EPS[ref_dtype] * scale_i, strict=strict)
    if ref is not None:
        refs = {**ref.grads, **ref.intermediates}
        mine = {**hand.grads, **hand.intermediates}
        for entry in report.entries:
            if entry.status == "fail" and entry.name in refs and entry.name in mine:
                entry.diagnosis = diagnose(mine[entry.name], refs[entry.name],
                                           n_samples=n_samples) or ""
    return report


def _combine(entry: Entry, ag: str | None, fdd: str | None, contract: str | None,
             ref_deviates: str = "") -> None:
    """One status from the two references' decisions (see the module docstring)."""
    if entry.status == "fail":
        if fdd == "pass" and ref_deviates:
            entry.status = "pass"
            entry.note = (f"references disagree: {ref_deviates}; finite differences of the "
                          "loss confirm the hand gradient")
        elif fdd == "pass":
            entry.note = ("finite differences agree with the hand gradient: does the torch "
                          "reference compute the same loss?")
        return
    if ag == "rounding":
        entry.note = "zero to rounding on both sides"
    elif ag == "pass":
        if fdd == "fail":
            why = (f"references disagree: hand and autograd agree, finite differences differ "
                   f"by {entry.fd_rel_err:.1e} (their own error estimate "
                   f"{entry.fd_error:.1e})")
            if contract == "autograd":
                entry.note = why + "; the twin follows torch (its clamps and thresholds), so "\
                                   "autograd decides"
            else:
                entry.inconclusive(why + ": a non-smooth point (declare it with kinks=)? a "
                                         "loss that differs from torch's?")
    elif ag is None:
        if fdd == "fail":
            entry.fail()
        elif fdd == "unsure":
            entry.inconclusive(f"finite differences cannot resolve this gradient: their own "
                               f"error estimate ({entry.fd_error:.1e}) is as large as the "
                               "disagreement; give a torch reference")
        elif fdd is None:
            entry.inconclusive("no reference: every finite-difference step crossed a kink")


REPEAT_NOTE = ("changed between two identical calls (accumulating into the gradient arrays? "
               "state kept from the call before?)")


def mark_repeats(report: GradReport, first: dict, again: dict) -> None:
    """Fail the entries whose gradient a second identical call changed."""
    for entry in report.entries:
        a, b = first.get(entry.name), again.get(entry.name)
        if a is not None and b is not None and np.shape(a) == np.shape(b) and not np.allclose(
                np.asarray(b, np.float64), np.asarray(a, np.float64), rtol=1e-12, atol=0.0,
                equal_nan=True):
            entry.fail(REPEAT_NOTE)
