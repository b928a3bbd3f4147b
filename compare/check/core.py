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
    _judge_gradients       each gradient: the decision of every reference that ran
                           (compare.check.references, in the registry's order),
                           combined into one status (compare.check.decide.combine)
    _judge_intermediates   each intermediate (or layer delta) against autograd's,
                           walking back from the loss
    _diagnose              the likely slip of each failing entry (compare.check.diagnose)

and returns a ``GradReport``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from handgrad.compare.check.decide import (
    Allowance,
    allowance_for,
    autograd_decision,
    combine,
    largest,
)
from handgrad.compare.check.diagnose import diagnose
from handgrad.compare.check.references import REFERENCES
from handgrad.compare.check.report import Entry, GradReport
from handgrad.compare.check.tolerances import AUTOGRAD, VALUE_FLOOR, lowest_precision

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


def scalar(value) -> float | np.ndarray:
    """A float, a 0-d or a 1-element array as the float; anything else unchanged."""
    return np.ravel(value)[0] if np.size(value) == 1 else value


def judge(hand: Side, ref: Side | None, fd: dict | None, how: Judging,
          others: dict | None = None) -> GradReport:
    """Compare ``hand`` with ``ref`` (autograd), ``fd`` (finite differences) and ``others``
    (a registered reference's ``source`` -> what it reads), every reference whose source is
    given (``compare.check.references``)."""
    sources = {"autograd": ref, "fd": fd, **(others or {})}
    ran = [r.key for r in REFERENCES if sources.get(r.source) is not None]
    report = GradReport(dtype=how.dtype, device=how.device, references=ran,
                        fd_method=how.fd_method)
    if ref is not None:
        report.entries.append(_judge_value(hand, ref, how))
        if report.entries[0].status == "fail" and how.value_sides:
            return _values_differ(report, hand, {**sources, "autograd": None}, how)
    report.entries += _judge_gradients(hand, sources, how)
    if ref is not None and (hand.intermediates or how.walk_back):
        report.entries += _judge_intermediates(hand, ref, how)
    _diagnose(report, hand, ref, fd, how.n_samples)
    return report


def _values_differ(report: GradReport, hand: Side, sources: dict,
                   how: Judging) -> GradReport:
    """The two sides compute different values: said first, on the value's entry; the
    gradients are judged against finite differences of the hand code alone (or not at
    all), never against the other function's autograd."""
    value = report.entries[0]
    fd = sources["fd"]
    compared = ("gradients were not compared with autograd; finite differences of your "
                "own code judge them below" if fd else "gradients were not compared")
    value.note = (f"{how.value_sides} disagree on the {how.value_name}: relative error "
                  f"{value.autograd_rel_err:.1e} (largest entry {value.autograd_max_elem_err:.1e}"
                  f"); {compared}")
    entries = _judge_gradients(hand, sources, how)
    for entry in entries:
        if entry.status == "pass" and all(d is None for d in entry.decisions.values()):
            entry.inconclusive(f"not compared: {how.value_sides} disagree on the "
                               f"{how.value_name}")
    report.entries += entries
    _diagnose(report, hand, None, fd, how.n_samples)
    return report


def _judge_value(hand: Side, ref: Side, how: Judging) -> Entry:
    """The value against autograd's: a sum of terms of order one, so relative to
    ``max(|v|, VALUE_FLOOR)``."""
    entry = Entry(how.value_name, how.value_name)
    decision = _autograd_alone(entry, scalar(hand.value), scalar(ref.value), how,
                               Allowance(floor_abs=VALUE_FLOOR))
    if decision == "fail":
        entry.note = entry.note or "the values differ: not the same function?"
    return entry


def _autograd_alone(entry: Entry, hand, reference, how: Judging, allowance: Allowance) -> str:
    """An entry only autograd judges (the value, an intermediate): its decision is the
    entry's status (``"rounding"`` passes)."""
    decision = autograd_decision(entry, hand, reference, AUTOGRAD[how.reference_dtype],
                                 allowance)
    if decision == "fail":
        entry.fail()
    return decision


def _judge_gradients(hand: Side, sources: dict, how: Judging) -> list[Entry]:
    """One entry per gradient: each reference that ran decides, in the registry's order,
    and ``decide.combine`` makes one status of their decisions. ``sources``: a reference's
    source name -> what it reads (None: it did not run)."""
    ref = sources["autograd"]
    names = list(ref.grads) if ref is not None else list(hand.grads)
    deciders = {r.key: r.start(sources[r.source], how) for r in REFERENCES
                if sources.get(r.source) is not None}
    entries = []
    at_rounding = []
    for name in names:
        entry = Entry(name, how.kind, how.layer_of(name))
        entries.append(entry)
        if name not in hand.grads:
            entry.fail("missing from grads")
            continue
        for key, decide in deciders.items():
            entry.decisions[key] = decide(entry, name, hand.grads[name])
        votes = [(r, entry.decisions.get(r.key)) for r in REFERENCES]
        if combine(entry, votes, how.contract, how.ref_deviates) == "rounding":
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
        _autograd_alone(entry, got, ref.intermediates[name], how,
                        allowance_for(ref, name, scale, how, bounded=False))
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
