"""The judge's policy: how close is close enough, and how far finite differences step.

Every threshold, allowance and step size the judge uses sits in this file, each with its
reason. The rest of ``compare.check`` reads them from here and defines none of its own.

Two measures compare a gradient ``a`` (the hand side) with a reference ``b``:

* normwise relative error ``‖a - b‖ / max(‖b‖, floor · S, tiny)`` (Frobenius norms);
* max elementwise relative error ``max_i |a_i - b_i| / max(|a_i| + |b_i|, floor · S)``
  (CS231n's measure),

where ``S`` is the largest entry of the tensor itself or, when given, of the whole model's
gradient (or deltas). An entry, or a whole tensor, far smaller than that is compared
against ``floor · S`` instead of against itself: its relative error is dominated by
cancellation in the sums that produced it (a bias gradient that sums ±1/m terms to 0
comes out as 0 on one side and 1e-17 on the other). The loss value is compared relative to
``max(|L|, 1)`` (``VALUE_FLOOR``): a loss is a sum of terms of order one
(``logsumexp(z) - z_y``, say), and their cancellation leaves an absolute error, not a
relative one (a float32 cross-entropy of 2e-3 computed from logits near 10 carries ~1e-6
of rounding).

A tensor passes when both measures are within the tolerance of its dtype and reference.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

TINY = np.finfo(np.float64).tiny

EPS = {
    "float64": float(np.finfo(np.float64).eps),
    "float32": float(np.finfo(np.float32).eps),
    "float16": float(np.finfo(np.float16).eps),
}


def lowest_precision(dtypes) -> str | None:
    """The float dtype with the largest eps among ``dtypes`` (names or dtypes), as its name
    (``"float32"``); None when none of them is a float dtype the judge knows."""
    names = [np.dtype(d).name for d in dtypes]
    known = [name for name in names if name in EPS]
    return max(known, key=EPS.__getitem__, default=None)


# ---------------------------------------------------------------------------------------
# The two error measures


def _difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|a - b|``, where equal infinities agree (``inf - inf`` would be NaN)."""
    return np.where(a == b, 0.0, np.abs(a - b))


def norm_rel_err(a: np.ndarray, b: np.ndarray, floor_abs: float = 0.0) -> float:
    """``‖a - b‖ / max(‖b‖, floor_abs, tiny)``; 0 when both are exactly equal.

    Never raises, whatever ``np.errstate`` the caller set: a huge difference over a tiny
    reference is ``inf`` (a failure), and a NaN on either side is NaN (a failure).
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    with np.errstate(all="ignore"):
        finite_b = np.where(np.isfinite(b), b, 0.0)
        denominator = max(np.linalg.norm(finite_b), floor_abs, TINY)
        return float(np.linalg.norm(_difference(a, b)) / denominator)


def elem_rel_err(a: np.ndarray, b: np.ndarray, floor: float, floor_abs: float = 0.0) -> float:
    """``max_i |a_i - b_i| / max(|a_i| + |b_i|, floor · max(‖a‖∞, ‖b‖∞), floor_abs)``."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.size == 0:
        return 0.0
    with np.errstate(all="ignore"):  # as norm_rel_err: inf or NaN, never an exception
        local = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))))
        denominator = np.maximum(np.abs(a) + np.abs(b), max(floor * local, floor_abs, TINY))
        return float(np.max(np.where(a == b, 0.0, _difference(a, b) / denominator)))


# ---------------------------------------------------------------------------------------
# The relative tolerances


@dataclass(frozen=True)
class Tolerance:
    """The bounds a compared tensor must meet, and why they have that size."""

    norm: float  # bound on the normwise relative error
    elem: float  # bound on the max elementwise relative error
    floor: float  # entries below floor * max|.| are compared against that floor
    reason: str

    def passes(self, norm_err: float, elem_err: float) -> bool:
        return norm_err <= self.norm and elem_err <= self.elem  # False for NaN


# Hand vs torch autograd. Both evaluate the same formulas; they differ only in the order
# of floating-point operations (BLAS blocking, fused kernels, exp/log implementations).
AUTOGRAD = {
    "float64": Tolerance(
        norm=1e-10, elem=1e-8, floor=1e-6,
        reason="float64 eps is 2.2e-16 and both sides evaluate the same formulas in another "
               "order; the verify matrix measures at worst 2.1e-15 normwise and 1.7e-13 "
               "elementwise, so 1e-10 and 1e-8 leave >= 1e4x headroom, while a 1e-6 relative "
               "change of any entry above 1e-8 of the largest moves the elementwise error "
               "past 1e-8 (tests/check/test_gradcheck.py changes every entry in turn)"),
    "float32": Tolerance(
        norm=1e-4, elem=1e-3, floor=1e-3,
        reason="float32 eps is 1.2e-7 and the reference is float64: sums over the batch and "
               "the layers accumulate ~10 eps (the verify matrix measures at worst 1.2e-6 "
               "normwise, 3.0e-5 elementwise), so 1e-4 and 1e-3 leave ~20x headroom and "
               "still catch any structural mistake (a lost factor, a sign, a wrong row), "
               "which moves the error to order 1e-1 and beyond"),
    "float16": Tolerance(
        norm=1e-2, elem=1e-1, floor=1e-1,
        reason="float16 eps is 9.8e-4: code that returns float16 carries at least that "
               "much relative rounding per entry, and its sums ~10 eps (1e-2); a structural "
               "mistake (a lost factor, a sign, a wrong row) moves the error to order 1e-1 "
               "normwise and 1 elementwise, beyond these bounds"),
}

# Hand vs central finite differences of the hand loss, evaluated in float64 where the code
# allows. Truncation error ~ h^2 |L'''| / 6 and roundoff ~ eps |L| / h with h = 1e-5 give
# an absolute error near 1e-11 on gradients of order 1e-2 ... 1.
FINITE_DIFF = {
    "float64": Tolerance(
        norm=1e-6, elem=1e-4, floor=1e-4,
        reason="central differences with h = 1e-5 in float64 carry ~1e-11 absolute error "
               "(h^2 truncation plus eps/h roundoff); the verify matrix measures at worst "
               "1.1e-8 normwise (first layer of a sigmoid net, whose gradient is small) and "
               "3.5e-7 elementwise, so 1e-6 and 1e-4 leave ~100x headroom"),
    "float32": dataclasses.replace(
        AUTOGRAD["float32"],
        reason="the hand gradient is float32 (error ~1e-6 relative) while the finite "
               "differences are float64; the float32 autograd tolerance applies"),
    "float16": dataclasses.replace(
        AUTOGRAD["float16"],
        reason="the code returns float16 (error ~1e-3 relative per entry) and the "
               "differences, taken with float16's step, carry ~1e-2 truncation; the "
               "float16 autograd tolerance applies"),
}

VALUE_FLOOR = 1.0  # a value (loss, output) is compared relative to max(|v|, 1): see above


# ---------------------------------------------------------------------------------------
# Allowances from the reference's own rounding


ROUNDING_FACTOR = 10.0  # a hand gradient may differ by 10x the reference's measured rounding
ROUNDING_ULPS = 64  # ... plus 64 units in the last place of the largest gradient: sums of
#                     up to thousands of terms round to a few ulps of their largest term
TERM_BOUND_FACTOR = 2.0  # twice Higham's γ_m = m eps / (1 - m eps) bounds a sum of m terms:
#                          once for the sum itself, once for the rounding already inside
#                          the terms (the deltas are themselves computed)


def rounding_ulps(dtype: str, scale: float) -> float:
    """``ROUNDING_ULPS`` units in the last place of ``scale`` in ``dtype``."""
    return ROUNDING_ULPS * EPS[dtype] * scale


def relative_tolerance_applies(reference_dtype: str, rounding_measured: bool) -> bool:
    """Whether a gradient may pass on the relative tolerance alone.

    Not where the reference is float32 (or float16) and its rounding was measured:
    float32's relative bound of 1e-3 would let a 1e-3 slip through, while the measured
    rounding (times ``ROUNDING_FACTOR``) is the sharper test there."""
    return not (reference_dtype != "float64" and rounding_measured)


# ---------------------------------------------------------------------------------------
# When finite differences are sure of a disagreement


FD_SURE = 10.0  # finite differences fail an entry only 10x beyond their own error estimate


# ---------------------------------------------------------------------------------------
# Repeated calls: the same call twice must give the same numbers


REPEAT_RTOL = 1e-12  # two identical calls differ by less than this, relative, or the code
#                      keeps state: the same arithmetic on the same numbers gives the same
#                      bits, and 1e-12 leaves room only for a BLAS that changes its blocking

FIRST_CALL_SCREEN = {  # the first call (the batch reversed) may differ from the judged one
    "float64": 1e-10,  # only by the order of the sums over the batch: far below the
    "float32": 1e-4,   # autograd tolerance of each dtype (a screen; autograd decides)
}


# ---------------------------------------------------------------------------------------
# Finite differences: the step and how many perturbations


FD_STEP = 1e-5  # minimizes truncation h²|L'''|/6 plus roundoff eps|L|/h in float64
FD_STEP_FLOAT32 = 5e-3  # float32's optimal central-difference step, eps^(1/3) ~ 4.9e-3
FD_STEP_FLOAT16 = 1e-1  # float16's, eps^(1/3) ~ 9.9e-2


def fd_step(dtype: str) -> float:
    """The relative step of central differences run in ``dtype`` (or of a loss that comes
    back rounded to ``dtype``)."""
    return {"float32": FD_STEP_FLOAT32, "float16": FD_STEP_FLOAT16}.get(dtype, FD_STEP)


FD_ROUNDING_ULPS = 4  # a difference quotient's rounding: at most 4 eps |L| / h (two losses,
#                       each rounded to eps |L|, their difference and the division)

MAX_COORDS = 1000  # models up to this many values get every coordinate differenced
N_DIRECTIONS = 8  # random directions per tensor beyond that
JOINT_WORK = 10**6  # batch x values beyond which fd="auto" goes along one joint direction
JOINT_ALONG = 0.5  # the joint direction: a random one plus half the gradient's own, so that
#                    no term of D is negative and D cannot cancel to rounding
KINK_RETRIES = (1, 16, 256)  # a joint step across a kink is retried 16 and 256 times shorter


# ---------------------------------------------------------------------------------------
# Kinks found: one-sided differences at the entries where hand and a reference disagree


KINK_PROBES = 256  # at most this many disagreeing entries are probed (4 calls each); more
#                    than that is no scattered set of kinks but a gradient that is wrong
