"""The one core every door of the judge goes through: compare hand numbers with references.

A door (``check_gradients``, ``check_model``, ``check_layer``) computes three things in its
own way and hands them here:

* the hand side (a ``Side``): the value (loss or output), the gradients, the named
  intermediates;
* the autograd side (a ``Side``, or None): the same, from torch, with ``noise``: per
  gradient, the difference between two evaluations of the reference that differ only in
  rounding (the batch in another order, or float32 against float64), which measures its
  rounding level, and ``bounds``: entrywise rounding bounds where they are known;
* finite differences (a dict, or None): per gradient, the difference quotients, what the
  hand gradient predicts along the same perturbations, and their own error estimate;

and a ``Judging``: how to read them (the dtype, the entries' kind, the door's contract).
``judge`` then runs, top-down:

    _judge_value           the value (loss or output) against autograd's
    _judge_gradients       each gradient: autograd's and finite differences' decisions
                           (compare.check.decide), combined into one status
    _judge_intermediates   each intermediate (or layer delta) against autograd's,
                           walking back from the loss
    _diagnose              the likely slip of each failing entry (compare.check.diagnose)

and returns a ``GradReport``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from handgrad.compare.check.decide import Allowance, autograd_decision, combine, fd_decision
from handgrad.compare.check.diagnose import diagnose
from handgrad.compare.check.report import Entry, GradReport
from handgrad.compare.check.tolerances import (
    AUTOGRAD,
    FINITE_DIFF,
    VALUE_FLOOR,
    lowest_precision,
    relative_tolerance_applies,
    rounding_ulps,
)

AT_OPTIMUM = ("the whole gradient is zero to within the reference's own rounding (an "
              "optimum, or a flat part of the loss): nothing to compare; check at a point "
              "away from it")


@dataclass
class Side:
    """One side's numbers: the value (the loss, or a layer's output), the gradients by
    name, and the gradients of named intermediates (or layer deltas) by name. A reference
    side may carry ``noise``: per name, a sample of its own rounding error, and ``bounds``:
    per name, entrywise bounds of its rounding."""

    value: object
    grads: dict[str, np.ndarray]
    intermediates: dict[str, np.ndarray] = field(default_factory=dict)
    noise: dict[str, np.ndarray] = field(default_factory=dict)
    bounds: dict[str, np.ndarray] = field(default_factory=dict)


def _no_layer(name: str) -> None:
    return None


@dataclass
class Judging:
    """How ``judge`` reads the two sides.

    ``dtype``: the hand side's; ``autograd_dtype``: the reference's when it differs (the
    autograd tolerance is float32's when either side computed in float32). ``kind``: the
    entries' kind for ``hand.grads``; ``walk_back``: the intermediates' names in the order
    walking back from the loss (default: ``hand.intermediates``' order). ``n_samples``
    (the batch size, when known) lets a diagnosis name a factor m or 1/m.
    ``contract="autograd"``: the hand code promises to match torch (handmade's twins,
    clamps and thresholds included), so where hand and autograd agree and finite
    differences do not, autograd decides; otherwise that entry is inconclusive.
    ``ref_deviates`` (words): torch's gradient is known to depart from the loss's
    derivative on this batch (a clamp); where finite differences then confirm the hand
    gradient against autograd, the entry passes with a note. ``value_sides`` (words, e.g.
    ``"forward and torch_fn"``): where the two sides' values differ, the two functions
    differ, so the gradients are not compared with autograd's (finite differences of the
    hand code alone still judge them) and the value's entry says so first.
    """

    dtype: str
    device: str
    kind: str
    value_name: str = "loss"
    layer_of: Callable[[str], int | None] = _no_layer
    walk_back: list[str] | None = None
    intermediate_kind: str = "intermediate"
    fd_method: str | None = None
    autograd_dtype: str | None = None
    n_samples: int | None = None
    contract: str | None = None
    ref_deviates: str = ""
    value_sides: str = ""

    @property
    def reference_dtype(self) -> str:
        """The dtype whose autograd tolerance applies: the lower precision of the two."""
        return lowest_precision([self.dtype, self.autograd_dtype or self.dtype])


def largest(arrays) -> float:
    """The largest absolute entry over several arrays (0 for none)."""
    peaks = (max(float(np.max(a)), -float(np.min(a))) for a in arrays if np.size(a))
    return max(peaks, default=0.0)  # max and min: no |a| temporary (a NaN stays NaN)


def scalar(value) -> float | np.ndarray:
    """A float, a 0-d or a 1-element array as the float; anything else unchanged."""
    return np.ravel(value)[0] if np.size(value) == 1 else value


def judge(hand: Side, ref: Side | None, fd: dict | None, how: Judging) -> GradReport:
    """Compare ``hand`` with ``ref`` (autograd) and ``fd`` (finite differences)."""
    references = (["autograd"] if ref is not None else []) + (["fd"] if fd is not None else [])
    report = GradReport(dtype=how.dtype, device=how.device, references=references,
                        fd_method=how.fd_method)
    if ref is not None:
        report.entries.append(_judge_value(hand, ref, how))
        if report.entries[0].status == "fail" and how.value_sides:
            return _values_differ(report, hand, fd, how)
    report.entries += _judge_gradients(hand, ref, fd, how)
    if ref is not None and (hand.intermediates or how.walk_back):
        report.entries += _judge_intermediates(hand, ref, how)
    _diagnose(report, hand, ref, fd, how.n_samples)
    return report


def _values_differ(report: GradReport, hand: Side, fd: dict | None,
                   how: Judging) -> GradReport:
    """The two sides compute different values: said first, on the value's entry; the
    gradients are judged against finite differences of the hand code alone (or not at
    all), never against the other function's autograd."""
    value = report.entries[0]
    compared = ("gradients were not compared with autograd; finite differences of your "
                "own code judge them below" if fd else "gradients were not compared")
    value.note = (f"{how.value_sides} disagree on the {how.value_name}: relative error "
                  f"{value.autograd_rel_err:.1e} (largest entry {value.autograd_max_elem_err:.1e}"
                  f"); {compared}")
    entries = _judge_gradients(hand, None, fd, how)
    for entry in entries:
        if entry.status == "pass" and entry.fd_rel_err is None:
            entry.inconclusive(f"not compared: {how.value_sides} disagree on the "
                               f"{how.value_name}")
    report.entries += entries
    _diagnose(report, hand, None, fd, how.n_samples)
    return report


def _judge_value(hand: Side, ref: Side, how: Judging) -> Entry:
    """The value against autograd's: a sum of terms of order one, so relative to
    ``max(|v|, VALUE_FLOOR)``."""
    entry = Entry(how.value_name, how.value_name)
    decision = autograd_decision(entry, scalar(hand.value), scalar(ref.value),
                                 AUTOGRAD[how.reference_dtype],
                                 Allowance(floor_abs=VALUE_FLOOR))
    if decision == "fail":
        entry.note = entry.note or "the values differ: not the same function?"
    return entry


def _allowance(ref: Side, name: str, scale: float, how: Judging, bounded: bool) -> Allowance:
    """The rounding allowance of entry ``name``, whose family's largest entry is ``scale``."""
    dtype = how.reference_dtype
    return Allowance(floor_abs=AUTOGRAD[dtype].floor * scale,
                     noise=ref.noise.get(name),
                     ulps=rounding_ulps(dtype, scale),
                     bound=ref.bounds.get(name) if bounded else None,
                     relative=relative_tolerance_applies(dtype, bool(ref.noise)))


def _judge_gradients(hand: Side, ref: Side | None, fd: dict | None,
                     how: Judging) -> list[Entry]:
    """One entry per gradient, each reference's decision combined (``decide.combine``)."""
    names = list(ref.grads) if ref is not None else list(hand.grads)
    scale = largest(ref.grads.values()) if ref is not None else 0.0
    fd_tolerance = FINITE_DIFF[how.dtype]
    fd_floor = fd_tolerance.floor * largest(r.fd for r in fd.values()) if fd else 0.0
    entries = []
    at_rounding = []
    for name in names:
        entry = Entry(name, how.kind, how.layer_of(name))
        entries.append(entry)
        if name not in hand.grads:
            entry.fail("missing from grads")
            continue
        autograd = None
        if ref is not None:
            autograd = autograd_decision(entry, hand.grads[name], ref.grads[name],
                                         AUTOGRAD[how.reference_dtype],
                                         _allowance(ref, name, scale, how, bounded=True))
        finite = None
        if fd and name in fd:
            finite = fd_decision(entry, fd[name], fd_tolerance, fd_floor)
        combine(entry, autograd, finite, how.contract, how.ref_deviates)
        if autograd == "rounding":
            at_rounding.append(entry)
    if at_rounding and len(at_rounding) == len(names):
        for entry in at_rounding:  # nothing anywhere to compare
            entry.inconclusive(AT_OPTIMUM)
    extra = [name for name in hand.grads if name not in names]
    if extra:
        entries.append(Entry(", ".join(extra), how.kind, status="fail",
                             note="gradients for names the model does not have"))
    return entries


def _judge_intermediates(hand: Side, ref: Side, how: Judging) -> list[Entry]:
    """One entry per intermediate (or delta), walking back from the loss."""
    order = how.walk_back if how.walk_back is not None else list(hand.intermediates)
    scale = largest(ref.intermediates.values())
    entries = []
    for name in order:
        entry = Entry(name, how.intermediate_kind, how.layer_of(name))
        entries.append(entry)
        got = hand.intermediates.get(name)
        if got is None:
            entry.fail(f"missing from {how.intermediate_kind}s")
            continue
        autograd_decision(entry, got, ref.intermediates[name], AUTOGRAD[how.reference_dtype],
                          _allowance(ref, name, scale, how, bounded=False))
    return entries


def _diagnose(report: GradReport, hand: Side, ref: Side | None, fd: dict | None,
              n_samples: int | None) -> None:
    """Each failing entry's likely slip, from its two arrays (``diagnose``): against
    autograd's, or, without it, against finite differences (coordinate by coordinate: the
    whole array; along directions: the derivatives along them, where only a constant
    factor can be read)."""
    mine = {**hand.grads, **hand.intermediates}
    for entry in report.entries:
        if entry.status != "fail" or entry.name not in mine:
            continue
        found = None
        if ref is not None and entry.name in {**ref.grads, **ref.intermediates}:
            reference = {**ref.grads, **ref.intermediates}[entry.name]
            found = diagnose(mine[entry.name], reference, n_samples=n_samples)
        elif fd and entry.name in fd:
            found = _diagnose_with_differences(mine[entry.name], fd[entry.name], n_samples)
        entry.diagnosis = found or ""


def _diagnose_with_differences(hand, result, n_samples: int | None) -> str | None:
    """``diagnose`` against finite differences' ``result`` (``FDResult``)."""
    if not result.fd.size:
        return None
    if result.method == "coords" and result.fd.size == np.size(hand) and not result.kinks:
        return diagnose(hand, result.fd.reshape(np.shape(hand)), n_samples=n_samples,
                        reference="finite differences")
    found = diagnose(result.predicted, result.fd, n_samples=n_samples,
                     reference="finite differences")
    return found if found and found.startswith("hand = ") else None  # a factor only
