"""How close is close enough: the error measures and the tolerances, each with its reason.

Two measures compare a gradient ``a`` (handmade) with a reference ``b``:

* normwise relative error ``‖a - b‖ / max(‖b‖, floor · S, tiny)`` (Frobenius norms);
* max elementwise relative error ``max_i |a_i - b_i| / max(|a_i| + |b_i|, floor · S)``
  (CS231n's measure),

where ``S`` is the largest entry of the tensor itself or, when given, of the whole model's
gradient (or deltas). An entry, or a whole tensor, far smaller than that is compared
against ``floor · S`` instead of against itself: its relative error is dominated by
cancellation in the sums that produced it (a bias gradient that sums ±1/m terms to 0
comes out as 0 on one side and 1e-17 on the other). The loss value is compared relative to
``max(|L|, 1)``: a loss is a sum of terms of order one (``logsumexp(z) - z_y``, say), and
their cancellation leaves an absolute error, not a relative one (a float32 cross-entropy
of 2e-3 computed from logits near 10 carries ~1e-6 of rounding).

A tensor passes when both measures are within the tolerance of its dtype and reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TINY = np.finfo(np.float64).tiny


@dataclass(frozen=True)
class Tolerance:
    """The bounds a compared tensor must meet, and why they have that size."""

    norm: float  # bound on the normwise relative error
    elem: float  # bound on the max elementwise relative error
    floor: float  # entries below floor * max|.| are compared against that floor
    reason: str
    atol: float = 0.0  # differences below this are not counted at all (float32 only)

    def passes(self, norm_err: float, elem_err: float) -> bool:
        return norm_err <= self.norm and elem_err <= self.elem  # False for NaN


def _excess(a: np.ndarray, b: np.ndarray, atol: float) -> np.ndarray:
    """``|a - b|`` less ``atol``, never below 0 (NaN stays NaN)."""
    d = np.where(a == b, 0.0, np.abs(a - b))  # equal infinities agree (inf - inf is NaN)
    return np.where(d > atol, d - atol, np.where(np.isnan(d), d, 0.0)) if atol else d


def norm_rel_err(a: np.ndarray, b: np.ndarray, floor_abs: float = 0.0,
                 atol: float = 0.0) -> float:
    """``‖(|a - b| - atol)₊‖ / max(‖b‖, floor_abs, tiny)``; 0 when both are exactly equal.

    Never raises, whatever ``np.errstate`` the caller set: a huge difference over a tiny
    reference is ``inf`` (a failure), and a NaN on either side is NaN (a failure).
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    with np.errstate(all="ignore"):
        finite_b = np.where(np.isfinite(b), b, 0.0)
        return float(np.linalg.norm(_excess(a, b, atol)) /
                     max(np.linalg.norm(finite_b), floor_abs, TINY))


def elem_rel_err(a: np.ndarray, b: np.ndarray, floor: float, floor_abs: float = 0.0,
                 atol: float = 0.0) -> float:
    """``max_i (|a_i - b_i| - atol)₊ / max(|a_i| + |b_i|, floor · max(‖a‖∞, ‖b‖∞), floor_abs)``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.size == 0:
        return 0.0
    with np.errstate(all="ignore"):  # as norm_rel_err: inf or NaN, never an exception
        local = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))))
        denom = np.maximum(np.abs(a) + np.abs(b), max(floor * local, floor_abs, TINY))
        return float(np.max(np.where(a == b, 0.0, _excess(a, b, atol) / denom)))


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
        norm=1e-4, elem=1e-3, floor=1e-3, atol=1e-5,
        reason="float32 eps is 1.2e-7 and the reference is float64: sums over the batch and "
               "the layers accumulate ~10 eps (the verify matrix measures at worst 1.2e-6 "
               "normwise, 3.0e-5 elementwise), so 1e-4 and 1e-3 leave ~20x headroom and "
               "still catch any structural mistake (a lost factor, a sign, a wrong row), "
               "which moves the error to order 1e-1 and beyond. atol 1e-5 (torch.testing's "
               "float32 default): some float32 errors are absolute, not relative: softmax "
               "minus onehot at p = 1 - 3e-5 cancels to ~6e-8 absolute on both twins alike, "
               "a 2e-3 relative error of that small entry (found by the property tests); "
               "gradients whose entries all lie below 1e-5 are thus barely checked in "
               "float32: check them in float64"),
}

# Hand vs central finite differences of the handmade loss, always evaluated in float64.
# Truncation error ~ h^2 |L'''| / 6 and roundoff ~ eps |L| / h with h = 1e-5 give an
# absolute error near 1e-11 on gradients of order 1e-2 ... 1.
FINITE_DIFF = {
    "float64": Tolerance(
        norm=1e-6, elem=1e-4, floor=1e-4,
        reason="central differences with h = 1e-5 in float64 carry ~1e-11 absolute error "
               "(h^2 truncation plus eps/h roundoff); the verify matrix measures at worst "
               "1.1e-8 normwise (first layer of a sigmoid net, whose gradient is small) and "
               "3.5e-7 elementwise, so 1e-6 and 1e-4 leave ~100x headroom"),
    "float32": Tolerance(
        norm=1e-4, elem=1e-3, floor=1e-3, atol=1e-5,
        reason="the handmade gradient is float32 (error ~1e-6 relative) while the finite "
               "differences are float64; the float32 autograd tolerance applies"),
}
