"""Each reference's decision on one entry, and the one status they make together.

* autograd (``autograd_decision``): ``pass`` when the hand gradient is within the relative
  tolerance of ``compare.check.tolerances`` or within its allowance for the reference's
  own rounding (``ROUNDING_FACTOR`` times the measured rounding, plus ``ROUNDING_ULPS``
  units of the gradient's scale, plus entrywise bounds where known); otherwise ``fail``.
  A reference that is itself all rounding (an optimum) makes the entry ``rounding``.
* finite differences (``fd_decision``): ``pass`` within their tolerance, ``fail`` when the
  disagreement is more than ``FD_SURE`` times their own error estimate, otherwise
  ``unsure``; None when every step crossed a kink.
* ``combine``: the entry's status from both decisions (the table in docs/verification.md,
  "Three verdicts").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handgrad.compare.check.report import Entry
from handgrad.compare.check.tolerances import (
    FD_SURE,
    ROUNDING_FACTOR,
    TINY,
    Tolerance,
    elem_rel_err,
    norm_rel_err,
)


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


def autograd_decision(entry: Entry, hand, reference, tolerance: Tolerance,
                      allowance: Allowance) -> str:
    """``"pass"``, ``"fail"`` or ``"rounding"`` for ``hand`` against ``reference``.

    Fills ``entry``'s autograd errors. ``"rounding"``: the reference is within its own
    rounding of zero, and so is the hand value."""
    hand = np.asarray(hand, np.float64)
    reference = np.asarray(reference, np.float64)
    if hand.shape != reference.shape:
        entry.fail(f"shape {hand.shape} != reference {reference.shape}")
        return "fail"
    with np.errstate(all="ignore"):
        difference = np.abs(np.subtract(hand, reference))  # every measure reads |a - b|
        worst = float(np.max(difference)) if difference.size else 0.0
    if not np.isfinite(worst):  # a NaN/Inf on either side: the careful, slower path
        return _nonfinite_decision(entry, hand, reference, tolerance, allowance.floor_abs)
    with np.errstate(all="ignore"):  # huge/tiny values: inf or 0, never an exception
        errors = _errors(hand, reference, difference, tolerance.floor, allowance.floor_abs)
    entry.autograd_rel_err, entry.autograd_max_elem_err, peak_hand, peak_reference = errors
    within, at_rounding = _within_rounding(hand, reference, difference, worst, allowance,
                                           peak_hand, peak_reference)
    if at_rounding and within:
        return "rounding"
    relative = allowance.relative and tolerance.passes(entry.autograd_rel_err,
                                                       entry.autograd_max_elem_err)
    if relative or within:
        return "pass"
    entry.fail()
    return "fail"


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


def _peak(array) -> float:
    """``max|array|`` without a temporary array."""
    return max(float(np.max(array)), -float(np.min(array)))


def _errors(hand, reference, difference, floor: float,
            floor_abs: float) -> tuple[float, float, float, float]:
    """``norm_rel_err``, ``elem_rel_err`` (``compare.check.tolerances``), ``max|hand|``
    and ``max|reference|`` of finite arrays with ``difference = |hand - reference|``, in a
    few passes over the arrays (the large weights of a big model make this the judge's own
    main cost)."""
    if not difference.size:
        return 0.0, 0.0, 0.0, 0.0
    peak_hand = _peak(hand)
    peak_reference = _peak(reference)
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
        entry.fail("non-finite values" + (" (the reference has the same)" if same else ""))
        return "fail"
    entry.autograd_rel_err = norm_rel_err(hand, reference, floor_abs)
    entry.autograd_max_elem_err = elem_rel_err(hand, reference, tolerance.floor, floor_abs)
    entry.fail("the reference has non-finite values")
    return "fail"


# ---------------------------------------------------------------------------------------
# finite differences


def fd_decision(entry: Entry, result, tolerance: Tolerance, floor_abs: float) -> str | None:
    """``"pass"``, ``"fail"``, ``"unsure"`` or None (no step survived the kinks)."""
    entry.fd_kinks = result.kinks
    if not result.fd.size:
        return None
    predicted = np.asarray(result.predicted, np.float64)
    differences = np.asarray(result.fd, np.float64)
    entry.fd_rel_err = norm_rel_err(predicted, differences, floor_abs)
    entry.fd_max_elem_err = elem_rel_err(predicted, differences, tolerance.floor, floor_abs)
    entry.fd_error = result.error
    if not np.all(np.isfinite(predicted)):
        return "fail"
    if tolerance.passes(entry.fd_rel_err, entry.fd_max_elem_err):
        return "pass"
    if np.linalg.norm(predicted - differences) > FD_SURE * result.error:
        return "fail"
    return "unsure"


# ---------------------------------------------------------------------------------------
# both together


def combine(entry: Entry, autograd: str | None, finite: str | None, contract: str | None,
            ref_deviates: str = "") -> None:
    """One status from the two references' decisions (see the module docstring)."""
    if entry.status == "fail":
        _explain_autograd_fail(entry, finite, ref_deviates)
    elif autograd == "rounding":
        entry.note = "zero to rounding on both sides"
    elif autograd == "pass":
        if finite == "fail":
            _references_disagree(entry, contract)
    elif autograd is None:
        _finite_differences_alone(entry, finite)


def _explain_autograd_fail(entry: Entry, finite: str | None, ref_deviates: str) -> None:
    """A fail already set by autograd: what finite differences add to it."""
    if finite != "pass":
        return
    if ref_deviates:
        entry.status = "pass"
        entry.note = (f"references disagree: {ref_deviates}; finite differences of the "
                      "loss confirm the hand gradient")
    else:
        entry.note = ("finite differences agree with the hand gradient: does the torch "
                      "reference compute the same loss?")


def _references_disagree(entry: Entry, contract: str | None) -> None:
    """Hand and autograd agree; finite differences, sure of themselves, do not."""
    why = (f"references disagree: hand and autograd agree, finite differences differ "
           f"by {entry.fd_rel_err:.1e} (their own error estimate {entry.fd_error:.1e})")
    if contract == "autograd":
        entry.note = (why + "; the twin follows torch (its clamps and thresholds), so "
                      "autograd decides")
    else:
        entry.inconclusive(why + ": a non-smooth point (declare it with kinks=)? a loss "
                                 "that differs from torch's?")


def _finite_differences_alone(entry: Entry, finite: str | None) -> None:
    """No torch reference: finite differences decide, or say why they cannot."""
    if finite == "fail":
        entry.fail()
    elif finite == "unsure":
        entry.inconclusive(f"finite differences cannot resolve this gradient: their own "
                           f"error estimate ({entry.fd_error:.1e}) is as large as the "
                           "disagreement; give a torch reference")
    elif finite is None:
        entry.inconclusive("no reference: every finite-difference step crossed a kink")
