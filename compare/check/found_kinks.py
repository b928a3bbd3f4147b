"""Kinks found, not only declared: a disagreement only at non-differentiable points passes.

At a kink (relu's 0, abs's 0, a leaky relu's 0) any value between the one-sided
derivatives is a valid subgradient: torch takes one, hand code may take another, and
central differences the mean of the two. So where a gradient entry fails (or is
inconclusive) against a reference, ``settle_found_kinks`` looks at the entries that
disagree, one by one, as chainer's ``detect_nondifferentiable`` does: along that one
coordinate it takes the one-sided differences::

    right = 2 D₊(h) − D₊(2h),   D₊(h) = (f(x + h) − f(x)) / h      (Richardson: O(h²))
    left  = 2 D₋(h) − D₋(2h),   D₋(h) = (f(x) − f(x − h)) / h

with their own error estimate ``|D₊(h) − D₊(2h)| + |D₋(h) − D₋(2h)| + 4 eps |f| / h``.
The entry sits on a kink when ``|right − left|`` is more than ``FD_SURE`` times that
estimate. The gradient entry then passes, with a note naming the entries, when every
disagreeing element sits on a kink and the hand value lies in ``[left, right]`` (within
``FD_SURE`` times the estimate): a real slip at an entry that is not a kink, or a value
outside the one-sided interval, keeps its fail. At most ``KINK_PROBES`` elements are
probed (four calls of ``f`` each).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from handgrad.compare.check.core import AT_OPTIMUM
from handgrad.compare.check.tolerances import (
    AUTOGRAD,
    FD_ROUNDING_ULPS,
    FD_STEP,
    FD_SURE,
    FINITE_DIFF,
    KINK_PROBES,
    TINY,
    Tolerance,
)

SHOW = 5  # entries named at most in a note

GRADIENT_KINDS = ("input", "param")


@dataclass(frozen=True)
class OneSided:
    """The one-sided derivatives of ``f`` along one coordinate, and their error estimate."""

    left: float
    right: float
    error: float

    @property
    def kink(self) -> bool:
        """Whether the two sides disagree beyond their own error: a non-differentiable point."""
        return abs(self.right - self.left) > FD_SURE * self.error

    def holds(self, value: float) -> bool:
        """Whether ``value`` lies between the two sides (a valid subgradient)."""
        slack = FD_SURE * self.error
        low = min(self.left, self.right) - slack
        high = max(self.left, self.right) + slack
        return low <= value <= high


def one_sided(loss_fn: Callable[[], float], theta: np.ndarray, index: int, eps: float,
              step: float = FD_STEP) -> OneSided:
    """``OneSided`` of ``loss_fn()`` along ``theta.flat[index]``, written in place and
    restored bit for bit; the step is ``step · max(1, |θ_i|)``."""
    base = theta.flat[index]
    h = step * max(1.0, abs(float(base)))
    values = {}
    try:
        for k in (-2, -1, 0, 1, 2):
            theta.flat[index] = base + k * h
            values[k] = (float(loss_fn()), float(theta.flat[index] - base))
    finally:
        theta.flat[index] = base
    f0 = values[0][0]

    def quotient(k: int) -> float:  # (f(x + s) − f(x)) / s with the step s as stored
        return (values[k][0] - f0) / values[k][1]

    right = 2 * quotient(1) - quotient(2)
    left = 2 * quotient(-1) - quotient(-2)
    size = max(abs(v[0]) for v in values.values())
    error = (abs(quotient(1) - quotient(2)) + abs(quotient(-1) - quotient(-2))
             + FD_ROUNDING_ULPS * eps * size / h)
    return OneSided(left, right, error)


def disagreeing(hand: np.ndarray, reference: np.ndarray, tolerance: Tolerance) -> np.ndarray:
    """Flat indices where ``hand`` and ``reference`` differ beyond ``tolerance.elem``
    relative to ``max(|h| + |r|, floor · max|r|)`` (the elementwise measure of
    ``compare.check.tolerances``)."""
    hand = np.asarray(hand, np.float64).ravel()
    reference = np.asarray(reference, np.float64).ravel()
    scale = float(np.max(np.abs(reference))) if reference.size else 0.0
    denominator = np.maximum(np.abs(hand) + np.abs(reference), tolerance.floor * scale + TINY)
    return np.flatnonzero(np.abs(hand - reference) > tolerance.elem * denominator)


def _references(name: str, hand: np.ndarray, ref, fd: dict | None, dtype: str):
    """``[(reference array, its tolerance)]`` for entry ``name``: autograd's, and finite
    differences' where they went coordinate by coordinate with no step dropped."""
    found = []
    if ref is not None and name in ref.grads:
        found.append((np.asarray(ref.grads[name]), AUTOGRAD[dtype]))
    result = (fd or {}).get(name)
    if (result is not None and result.method == "coords" and result.fd.size == hand.size
            and not result.kinks):
        found.append((result.fd.reshape(hand.shape), FINITE_DIFF[dtype]))
    return found


def settle_found_kinks(report, hand, ref, fd: dict | None, probe, dtype: str) -> None:
    """Pass, with a note, each failing or inconclusive gradient entry whose disagreements
    all sit on kinks found by ``probe(name, flat_index) -> OneSided`` (see the module)."""
    value = next((e for e in report.entries if e.kind not in GRADIENT_KINDS), None)
    if value is not None and value.status == "fail":
        return  # the outputs differ: the gradients were not compared
    for entry in report.entries:
        if (entry.kind not in GRADIENT_KINDS or entry.status == "pass"
                or entry.name not in hand.grads or entry.reason == AT_OPTIMUM):
            continue
        grad = np.asarray(hand.grads[entry.name], np.float64)
        references = _references(entry.name, grad, ref, fd, dtype)
        if not references:
            continue
        where = np.unique(np.concatenate([disagreeing(grad, r, t) for r, t in references]))
        if not where.size or where.size > KINK_PROBES:
            continue
        sides = _kinks_holding(probe, entry.name, grad, where)
        if sides is not None:
            _passed_at_kinks(entry, grad.shape, where, sides)


def _kinks_holding(probe, name: str, grad: np.ndarray, where: np.ndarray):
    """The ``OneSided`` of every element of ``where``, when each is a kink that holds the
    hand value between its sides; None at the first that is not (no more calls)."""
    sides = []
    for i in where:
        side = probe(name, int(i))
        if not (side.kink and side.holds(float(grad.flat[i]))):
            return None
        sides.append(side)
    return sides


def _passed_at_kinks(entry, shape, where: np.ndarray, sides: list[OneSided]) -> None:
    """Mark ``entry`` passed, its note naming the kinks and their one-sided values."""
    named = []
    for i, side in list(zip(where, sides))[:SHOW]:
        position = tuple(int(j) for j in np.unravel_index(int(i), shape))
        named.append(f"{position if len(position) != 1 else position[0]} "
                     f"(left {side.left:.3g}, right {side.right:.3g})")
    more = f", … ({len(where)} in all)" if len(where) > SHOW else ""
    entry.status = "pass"
    entry.reason = ""
    entry.diagnosis = ""
    entry.note = (f"kinks found at {'; '.join(named)}{more}: not differentiable there (the "
                  "one-sided differences disagree); any value between them is a valid "
                  "subgradient, the hand's and the reference's both")
