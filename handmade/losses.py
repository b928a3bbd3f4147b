"""Losses with torch's names and scalings: value and gradient w.r.t. the model output.

Each record gives ``value(out, y) -> float`` and ``grad(out, y) -> dL/dout`` (same shape
as ``out``), both under a reduction: ``"mean"`` (torch's default) or ``"sum"``.

Shapes: ``out`` is the model output ``(m, k)``. Labels are

* binary (``bce``, ``bce_with_logits``, ``perceptron``): 0/1 (or soft targets in [0, 1]),
  ``(m,)`` or ``(m, 1)``;
* regression (``mse``, ``half_mse``): ``out``'s shape ``(m, k)`` (or ``(m,)`` when k = 1);
* multi-class (``cross_entropy`` on logits, ``nll`` on probabilities): integer class
  indices ``(m,)``. For these the mean is over the m samples; for all others over the
  ``m * k`` elements, exactly as ``nn.CrossEntropyLoss`` and ``nn.MSELoss`` do.

Formulas (N = number of terms averaged, 1 for "sum"):

====================  ==========================================  =============================
name                  value                                       gradient dL/dout
====================  ==========================================  =============================
mse                   Σ (o - y)² / N                              2 (o - y) / N
half_mse              ½ Σ (o - y)² / N                            (o - y) / N
bce                   -Σ [y max(log p, -100)                      (p - y) / N
                      + (1 - y) max(log(1 - p), -100)] / N        / max(p (1 - p), 1e-12)
bce_with_logits       Σ [max(z, 0) - z y + log(1 + e^-|z|)] / N   (sigmoid(z) - y) / N
cross_entropy         Σ_i [logsumexp(z_i) - z_i,y_i] / N          (softmax(z) - onehot(y)) / N
nll                   -Σ_i log p_i,y_i / N                        -onehot(y) / p / N
perceptron            Σ max(0, -s z) / N,  s = 2y - 1             -s [-s z > 0] / N
====================  ==========================================  =============================

``bce`` copies torch's two clamps: each log is clamped at -100 in the value, and the
denominator ``p (1 - p)`` at 1e-12 in the gradient, so saturated outputs (p = 0 or 1)
give the same finite numbers on both sides. ``perceptron`` takes the derivative 0 at the
kink ``s z = 0``, as torch's relu does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from handgrad.handmade.activations import sigmoid, softmax

Array = np.ndarray

LOG_CLAMP = -100.0  # torch's binary_cross_entropy clamps log(p) and log(1 - p) here
# torch's binary_cross_entropy_backward divides by max(p (1 - p), EPSILON) with EPSILON a C++
# float 1e-12, i.e. 1e-12 rounded to float32 (9.99999996e-13), in float64 too.
BCE_GRAD_EPS = float(np.float32(1e-12))
REDUCTIONS = ("mean", "sum")


@dataclass(frozen=True)
class Loss:
    """One loss: elementwise terms and their derivative, and how labels are read.

    ``terms(out, y)`` returns the per-term losses, ``dterms(out, y)`` their derivative
    w.r.t. ``out`` (shape of ``out``); ``per_sample`` says that the mean divides by the
    number of samples m rather than by the number of elements of ``out``. ``kinks(out, y)``,
    for a loss with non-smooth points, returns booleans saying on which side of each the
    outputs sit (finite differences whose two ends differ there are not derivatives).
    """

    name: str
    terms: Callable[[Array, Array], Array]
    dterms: Callable[[Array, Array], Array]
    labels: str  # "binary", "regression" or "classes"
    per_sample: bool = False
    kinks: Callable[[Array, Array], Array] | None = None

    def value(self, out: Array, y: Array, reduction: str = "mean") -> float:
        """The reduced loss, a Python float."""
        out = check_output(self.name, out)
        y = prepare_labels(self, out, y)
        total = float(np.sum(self.terms(out, y)))
        return total / self._count(out, reduction)

    def grad(self, out: Array, y: Array, reduction: str = "mean") -> Array:
        """``dL/dout``, shape and dtype of ``out``."""
        out = check_output(self.name, out)
        y = prepare_labels(self, out, y)
        g = self.dterms(out, y)
        return (g / self._count(out, reduction)).astype(out.dtype, copy=False)

    def _count(self, out: Array, reduction: str) -> int:
        if reduction not in REDUCTIONS:
            raise ValueError(f"unknown reduction {reduction!r}; expected one of {REDUCTIONS}")
        if reduction == "sum":
            return 1
        return out.shape[0] if self.per_sample else out.size


def check_output(name: str, out) -> Array:
    """``out`` as the model output a loss reads: a float array ``(m, k)`` with m >= 1.

    Its values are not checked: a NaN/Inf output gives a NaN/Inf loss, which is how a
    trainer sees divergence.
    """
    out = np.asarray(out)
    if out.dtype.kind != "f":
        raise TypeError(f"{name}: out must be a floating-point array (the model output), "
                        f"got dtype {out.dtype}")
    if out.ndim != 2:
        raise ValueError(f"{name}: out must have shape (m, k) (the model output), "
                         f"got {out.shape}")
    if out.shape[0] == 0:
        raise ValueError(f"{name}: out is an empty batch (0 rows); expected at least one "
                         "sample")
    return out


def prepare_labels(loss: Loss, out: Array, y) -> Array:
    """Labels in the layout the loss reads: ``out``'s shape and dtype, or int classes ``(m,)``.

    ``out`` is a model output already through ``check_output`` (``Loss.value`` and
    ``Loss.grad`` check it once; a model's own output needs no check).
    """
    y = np.asarray(y)
    m, k = out.shape
    if loss.labels == "classes":
        if y.ndim != 1 or y.shape[0] != m:
            raise ValueError(f"{loss.name}: y must be integer class indices of shape "
                             f"({m},), got shape {y.shape}")
        if not np.issubdtype(y.dtype, np.integer):
            raise TypeError(f"{loss.name}: y must hold integer class indices, got dtype {y.dtype}")
        if y.min() < 0 or y.max() >= k:
            raise ValueError(f"{loss.name}: class indices must lie in [0, {k}), "
                             f"got min {y.min()} and max {y.max()}")
        return y
    if y.shape != out.shape and not (k == 1 and y.shape == (m,)):
        shapes = f"{out.shape}" + (f" or ({m},)" if k == 1 else "")
        raise ValueError(f"{loss.name}: y must have shape {shapes}, one row per sample "
                         f"like the output, got shape {y.shape} ({y.size} elements for the "
                         f"output's {out.size})")
    if y.dtype.kind not in "fiub":
        raise TypeError(f"{loss.name}: y must be numeric, got dtype {y.dtype}")
    y = y.reshape(out.shape).astype(out.dtype, copy=False)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{loss.name}: y must be finite; it holds "
                         f"{np.sum(~np.isfinite(y))} NaN/Inf value(s)")
    if loss.labels == "binary" and (np.any(y < 0) or np.any(y > 1)):
        raise ValueError(f"{loss.name}: labels must lie in [0, 1] (0/1 classes, or soft "
                         f"targets as torch allows), got min {y.min()} and max {y.max()}")
    return y


def _mse_terms(o: Array, y: Array) -> Array:
    return (o - y) ** 2


def _mse_dterms(o: Array, y: Array) -> Array:
    return 2.0 * (o - y)  # d(o - y)²/do


def _half_mse_terms(o: Array, y: Array) -> Array:
    return 0.5 * (o - y) ** 2


def _half_mse_dterms(o: Array, y: Array) -> Array:
    return o - y  # the ½ cancels the 2


def _bce_terms(p: Array, y: Array) -> Array:
    with np.errstate(divide="ignore"):  # log(0) = -inf is then clamped, as torch does
        log_p = np.maximum(np.log(p), LOG_CLAMP)
        log_1mp = np.maximum(np.log1p(-p), LOG_CLAMP)
    return -(y * log_p + (1.0 - y) * log_1mp)


def _bce_dterms(p: Array, y: Array) -> Array:
    # d/dp of -[y log p + (1 - y) log(1 - p)], with torch's floor on the denominator
    return (p - y) / np.maximum(p * (1.0 - p), BCE_GRAD_EPS)


def _bce_with_logits_terms(z: Array, y: Array) -> Array:
    # log(1 + e^-z) + (1 - y) z, written so that exp only sees -|z|
    return np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))


def _bce_with_logits_dterms(z: Array, y: Array) -> Array:
    return sigmoid(z) - y


def _cross_entropy_terms(z: Array, y: Array) -> Array:
    zmax = np.max(z, axis=-1, keepdims=True)
    lse = zmax[:, 0] + np.log(np.sum(np.exp(z - zmax), axis=-1))  # logsumexp, (m,)
    return lse - z[np.arange(z.shape[0]), y]


def _onehot(y: Array, like: Array) -> Array:
    hot = np.zeros_like(like)
    hot[np.arange(like.shape[0]), y] = 1.0
    return hot


def _cross_entropy_dterms(z: Array, y: Array) -> Array:
    return softmax(z) - _onehot(y, z)  # d(logsumexp(z) - z_y)/dz


def _nll_terms(p: Array, y: Array) -> Array:
    with np.errstate(divide="ignore"):  # p = 0 on the true class: the loss is +inf, as torch's
        return -np.log(p[np.arange(p.shape[0]), y])


def _nll_dterms(p: Array, y: Array) -> Array:
    g = np.zeros_like(p)
    rows = np.arange(p.shape[0])
    with np.errstate(divide="ignore"):
        g[rows, y] = -1.0 / p[rows, y]  # d(-log p_y)/dp_y; 0 on the other entries
    return g


def _perceptron_terms(z: Array, y: Array) -> Array:
    return np.maximum(0.0, -(2.0 * y - 1.0) * z)  # max(0, -s z), s = 2y - 1


def _perceptron_dterms(z: Array, y: Array) -> Array:
    s = 2.0 * y - 1.0  # labels {0, 1} -> signs {-1, +1}
    return np.where(-s * z > 0, -s, 0.0).astype(z.dtype)


def _bce_kinks(p: Array, y: Array) -> Array:
    # torch's clamps: each log at -100 (p or 1 - p below e^-100) and p (1 - p) at 1e-12
    floor = math.exp(LOG_CLAMP)  # log(q) > -100  <=>  q > e^-100
    return np.stack([p * (1.0 - p) > BCE_GRAD_EPS, p > floor, 1.0 - p > floor])


def _perceptron_kinks(z: Array, y: Array) -> Array:
    return (2.0 * y - 1.0) * z > 0  # max(0, -s z) bends where s z = 0


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in [
        Loss("mse", _mse_terms, _mse_dterms, "regression"),
        Loss("half_mse", _half_mse_terms, _half_mse_dterms, "regression"),
        Loss("bce", _bce_terms, _bce_dterms, "binary", kinks=_bce_kinks),
        Loss("bce_with_logits", _bce_with_logits_terms, _bce_with_logits_dterms, "binary"),
        Loss("cross_entropy", _cross_entropy_terms, _cross_entropy_dterms, "classes",
             per_sample=True),
        Loss("nll", _nll_terms, _nll_dterms, "classes", per_sample=True),
        Loss("perceptron", _perceptron_terms, _perceptron_dterms, "binary",
             kinks=_perceptron_kinks),
    ]
}


def get_loss(name: str) -> Loss:
    """The record for ``name``; a ValueError lists the valid names otherwise."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {name!r}; expected one of {sorted(LOSSES)}") from None
