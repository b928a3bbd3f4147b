"""Each reference's decision on one entry, and the one status they make together.

* autograd (``autograd_decision``): ``pass`` when the hand gradient is within the relative
  tolerance of ``compare.check.tolerances`` or within its allowance for the reference's
  own rounding (``ROUNDING_FACTOR`` times the measured rounding, plus ``ROUNDING_ULPS``
  units of the gradient's scale, plus entrywise bounds where known); otherwise ``fail``.
  A reference that is itself all rounding (an optimum) makes the entry ``rounding``.
* finite differences (``fd_decision``): ``pass`` within their tolerance, ``fail`` when the
  disagreement is more than ``FD_SURE`` times their own error estimate, otherwise
  ``unsure``; None when every step crossed a kink.
* ``start_autograd`` / ``start_finite_differences``: what each reference's record
  (``compare.check.references``) runs once per check, returning its ``decide(entry, name,
  hand)``.
* ``combine``: the entry's status from the decisions of whichever references ran, in the
  registry's order of authority (the table in docs/verification.md, "Three verdicts"): the
  first reference that decides (``pass``, ``fail`` or ``rounding``) leads; a later one that
  passes what it fails, or fails what it passes, adds its word.

A decision fills the entry's figures (``entry.errors[key]``) and may set its note; only
``combine`` (or, for an entry only autograd judges, the caller) sets its status.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handgrad.compare.check.tolerances import (
    AUTOGRAD,
    FD_SURE,
    FINITE_DIFF,
    ROUNDING_FACTOR,
    TINY,
    Tolerance,
    elem_rel_err,
    norm_rel_err,
    relative_tolerance_applies,
    rounding_ulps,
)

AUTOGRAD_KEY = "autograd"  # the references' keys (compare.check.references)
FINITE_DIFF_KEY = "fd"
DECISIVE = ("pass", "fail", "rounding")  # a decision that can lead the combination


def peak(array) -> float:
    """``max|array|`` without a temporary array: its max and min (0 for an empty array; a
    NaN stays NaN)."""
    return max(float(np.max(array)), -float(np.min(array))) if np.size(array) else 0.0


def largest(arrays) -> float:
    """The largest absolute entry over several arrays (0 for none)."""
    return max(map(peak, arrays), default=0.0)


def record(entry, key: str, **figures) -> None:
    """Store reference ``key``'s ``figures`` on ``entry`` (``entry.errors[key]``)."""
    entry.errors.setdefault(key, {}).update(figures)


@dataclass
class Allowance:
    """What an autograd comparison allows for the reference's own rounding.

    ``floor_abs``: the absolute floor of the relative errors; ``noise``: a sample of the
    reference's rounding (``ROUNDING_FACTOR`` times its largest entry is allowed);
    ``ulps``: an absolute allowance added to that; ``bound``: entrywise rounding bounds
    from the terms' magnitudes; ``relative``: whether the relative tolerance alone may pass
    the entry (``tolerances.relative_tolerance_applies``)."""

    floor_abs: float = 0.0
    noise: np.ndarray | None = None
    ulps: float = 0.0
    bound: np.ndarray | None = None
    relative: bool = True

    def scalar(self) -> float:
        """The allowance that does not depend on the entry."""
        noise = self.noise
        measured = float(np.max(np.abs(noise))) if noise is not None and np.size(noise) else 0.0
        return ROUNDING_FACTOR * measured + self.ulps


# ---------------------------------------------------------------------------------------
# autograd


def autograd_decision(entry, hand, reference, tolerance: Tolerance,
                      allowance: Allowance) -> str:
    """``"pass"``, ``"fail"`` or ``"rounding"`` for ``hand`` against ``reference``.

    Fills ``entry``'s autograd figures (and its note, where the arrays cannot be compared).
    ``"rounding"``: the reference is within its own rounding of zero, and so is the hand
    value."""
    hand = np.asarray(hand, np.float64)
    reference = np.asarray(reference, np.float64)
    if hand.shape != reference.shape:
        entry.note = f"shape {hand.shape} != reference {reference.shape}"
        return "fail"
    with np.errstate(all="ignore"):
        difference = np.abs(np.subtract(hand, reference))  # every measure reads |a - b|
        worst = float(np.max(difference)) if difference.size else 0.0
    if not np.isfinite(worst):  # a NaN/Inf on either side: the careful, slower path
        return _nonfinite_decision(entry, hand, reference, tolerance, allowance.floor_abs)
    with np.errstate(all="ignore"):  # huge/tiny values: inf or 0, never an exception
        errors = _errors(hand, reference, difference, tolerance.floor, allowance.floor_abs)
    norm, elementwise, peak_hand, peak_reference = errors
    record(entry, AUTOGRAD_KEY, rel_err=norm, max_elem_err=elementwise)
    within, at_rounding = _within_rounding(hand, reference, difference, worst, allowance,
                                           peak_hand, peak_reference)
    if at_rounding and within:
        return "rounding"
    relative = allowance.relative and tolerance.passes(norm, elementwise)
    return "pass" if relative or within else "fail"


def allowance_for(ref, name: str, scale: float, how, bounded: bool) -> Allowance:
    """The rounding allowance of the autograd side ``ref``'s entry ``name``, whose family's
    largest entry is ``scale``; ``how`` is the check's ``core.Judging``."""
    dtype = how.reference_dtype
    return Allowance(floor_abs=AUTOGRAD[dtype].floor * scale,
                     noise=ref.noise.get(name),
                     ulps=rounding_ulps(dtype, scale),
                     bound=ref.bounds.get(name) if bounded else None,
                     relative=relative_tolerance_applies(dtype, bool(ref.noise)))


def start_autograd(ref, how):
    """Per check: ``decide(entry, name, hand)`` against the autograd side ``ref``
    (``core.Side``), each gradient's allowance scaled by the largest of them all."""
    tolerance = AUTOGRAD[how.reference_dtype]
    scale = largest(ref.grads.values())

    def decide(entry, name: str, hand) -> str:
        return autograd_decision(entry, hand, ref.grads[name], tolerance,
                                 allowance_for(ref, name, scale, how, bounded=True))
    return decide


def _within_rounding(hand, reference, difference, worst, allowance, peak_hand,
                     peak_reference) -> tuple[bool, bool]:
    """``(within, at_rounding)``: whether the difference is within the allowance, and
    whether both sides are themselves within it of zero."""
    allow = allowance.scalar()
    if allowance.bound is None:
        within = worst <= allow
        at_rounding = peak_reference <= allow and peak_hand <= 2 * allow
        return within, at_rounding
    bound = np.asarray(allowance.bound, np.float64)
    within = bool(np.all(difference <= bound + allow))
    at_rounding = (within
                   and peak_reference <= allow + float(np.max(bound))
                   and bool(np.all(np.abs(reference) <= bound + allow))
                   and bool(np.all(np.abs(hand) <= 2 * (bound + allow))))
    return within, at_rounding


def _errors(hand, reference, difference, floor: float,
            floor_abs: float) -> tuple[float, float, float, float]:
    """``norm_rel_err``, ``elem_rel_err`` (``compare.check.tolerances``), ``max|hand|``
    and ``max|reference|`` of finite arrays with ``difference = |hand - reference|``, in a
    few passes over the arrays (the large weights of a big model make this the judge's own
    main cost)."""
    if not difference.size:
        return 0.0, 0.0, 0.0, 0.0
    peak_hand = peak(hand)
    peak_reference = peak(reference)
    reference_norm = np.linalg.norm(reference.ravel())
    norm = float(np.linalg.norm(difference.ravel()) / max(reference_norm, floor_abs, TINY))
    denominator = np.abs(hand, out=np.empty_like(hand))  # an array also for 0-d, for out=
    denominator += np.abs(reference)
    smallest = max(floor * max(peak_hand, peak_reference), floor_abs, TINY)
    np.maximum(denominator, smallest, out=denominator)
    elementwise = float(np.max(np.divide(difference, denominator, out=denominator)))
    return norm, elementwise, peak_hand, peak_reference


def _nonfinite_decision(entry, hand, reference, tolerance, floor_abs: float) -> str:
    """``autograd_decision`` where either side holds a NaN or an infinity."""
    if not np.all(np.isfinite(hand)):  # a NaN/Inf gradient is useless even if torch agrees
        same = np.array_equal(hand, reference, equal_nan=True)
        entry.note = "non-finite values" + (" (the reference has the same)" if same else "")
        return "fail"
    record(entry, AUTOGRAD_KEY, rel_err=norm_rel_err(hand, reference, floor_abs),
           max_elem_err=elem_rel_err(hand, reference, tolerance.floor, floor_abs))
    entry.note = "the reference has non-finite values"
    return "fail"


# ---------------------------------------------------------------------------------------
# finite differences


def fd_decision(entry, result, tolerance: Tolerance, floor_abs: float) -> str | None:
    """``"pass"``, ``"fail"``, ``"unsure"`` or None (no step survived the kinks)."""
    record(entry, FINITE_DIFF_KEY, kinks=result.kinks)
    if not result.fd.size:
        return None
    predicted = np.asarray(result.predicted, np.float64)
    differences = np.asarray(result.fd, np.float64)
    norm = norm_rel_err(predicted, differences, floor_abs)
    elementwise = elem_rel_err(predicted, differences, tolerance.floor, floor_abs)
    record(entry, FINITE_DIFF_KEY, rel_err=norm, max_elem_err=elementwise, error=result.error)
    if not np.all(np.isfinite(predicted)):
        return "fail"
    if tolerance.passes(norm, elementwise):
        return "pass"
    if np.linalg.norm(predicted - differences) > FD_SURE * result.error:
        return "fail"
    return "unsure"


def start_finite_differences(fd: dict, how):
    """Per check: ``decide(entry, name, hand)`` against the finite differences ``fd`` (name
    -> ``FDResult``; None for a name not differenced), their floor scaled by the largest
    difference quotient of them all."""
    tolerance = FINITE_DIFF[how.dtype]
    floor = tolerance.floor * largest(r.fd for r in fd.values()) if fd else 0.0

    def decide(entry, name: str, hand) -> str | None:
        if name not in fd:
            return None
        return fd_decision(entry, fd[name], tolerance, floor)
    return decide


# ---------------------------------------------------------------------------------------
# the references together


def combine(entry, votes, contract: str | None = None, ref_deviates: str = "") -> str | None:
    """One status from ``votes``: ``(reference, decision)`` pairs in the registry's order
    of authority (a reference that did not run: decision None). Returns the leading
    decision (None when no reference decides).

    * no reference decides: inconclusive, with the first reason a reference gives;
    * the leader says ``rounding``: pass, "zero to rounding on both sides";
    * the leader fails the entry: fail, unless a later reference passes it and the leader
      is known to depart from the loss's derivative here (``ref_deviates``): pass with a
      note; a later reference that passes it is named in the note either way;
    * the leader passes it and a later reference fails it: the references disagree: where
      the door's ``contract`` names the leader, a pass with a note; otherwise inconclusive.
    """
    place = next((index for index, (_, decision) in enumerate(votes)
                  if decision in DECISIVE), None)
    if place is None:
        reasons = (_undecided(reference, entry, decision) for reference, decision in votes)
        entry.inconclusive(next((r for r in reasons if r), "no reference decides"))
        return None
    reference, decision = votes[place]
    later = votes[place + 1:]
    if decision == "rounding":
        entry.note = "zero to rounding on both sides"
    elif decision == "fail":
        _leader_fails(entry, reference, later, ref_deviates)
    else:
        dissent = next((other for other, said in later if said == "fail"), None)
        if dissent is not None:
            _references_disagree(entry, reference, dissent, contract)
    return decision


def _leader_fails(entry, leader, later, ref_deviates: str) -> None:
    """The leading reference fails the entry: what a later one that passes it adds."""
    entry.fail()
    witness = next((other for other, said in later if said == "pass"), None)
    if witness is None:
        return
    if ref_deviates:
        entry.status = "pass"
        confirms = witness.vote.confirms or f"{witness.words} confirms the hand gradient"
        entry.note = f"references disagree: {ref_deviates}; {confirms}"
    else:
        agrees = witness.vote.agrees or f"{witness.words} agrees with the hand gradient"
        questioned = leader.vote.questioned or leader.words
        entry.note = f"{agrees}: does {questioned} compute the same loss?"


def _references_disagree(entry, leader, dissent, contract: str | None) -> None:
    """Hand and the leading reference agree; a later one, sure of itself, does not."""
    why = f"references disagree: hand and {leader.short} agree, {_differs(dissent, entry)}"
    if contract == leader.key:
        entry.note = f"{why}; {leader.vote.contract or leader.short + ' decides'}"
    else:
        doubt = leader.vote.doubt or f"a loss that differs from {leader.short}'s?"
        entry.inconclusive(f"{why}: a non-smooth point (declare it with kinks=)? {doubt}")


def _differs(reference, entry) -> str:
    """How far ``reference`` is from the hand value, in words."""
    if reference.vote.differs is not None:
        return reference.vote.differs(entry)
    value = reference.figure(entry, reference.relative_error)
    return f"{reference.words} differs by {value:.1e}"


def _undecided(reference, entry, decision: str | None) -> str:
    """Why ``reference`` cannot decide (empty: it gives no reason)."""
    if reference.vote.undecided is None:
        return ""
    return reference.vote.undecided(entry, decision)
