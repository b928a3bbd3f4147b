"""The torch twin as the reference of ``check_gradients``: its numbers and their rounding.

``twin_for(hand, torch_model, device)`` builds (or checks) the twin; ``twin_reference``
runs it, and its rounding, which ``compare.check.core`` turns into an allowance, is
bounded or measured:

* float64, a layered model: ``term_bounds``, from the magnitudes of the summed terms, for
  every weight and bias; nothing to run.
* float64 otherwise (``measure_rounding``): the same batch in reversed order. The loss is a
  sum (or mean) over samples, so the two gradients differ only in the order of the
  floating-point sums; their difference is a sample of the reference's rounding error.
* float32 (a float32 model): a float32 twin on the same parameters and inputs against the
  float64 twin: the rounding that float32 arithmetic costs here, measured, not assumed.
"""

from __future__ import annotations

import copy
import threading

import numpy as np
import torch

from handgrad.compare.check.core import Side
from handgrad.compare.check.tolerances import TERM_BOUND_FACTOR
from handgrad.compare.spec import Spec
from handgrad.compare.transfer import dtype_name, hand_to_torch, to_numpy64
from handgrad.handmade.losses import get_loss, prepare_labels

SPEC_FIELDS = ("sizes", "activations", "loss", "reduction")


_BUILT = threading.local()  # per thread: the last few twins built from a spec, reused
KEEP_TWINS = 4


def twin_for(hand, torch_model, device) -> torch.nn.Module:
    """A float64 twin built from ``hand``'s spec, or ``torch_model`` checked against it.

    A built twin is kept for the next check of the same spec on the same device in the
    same thread (its parameters are overwritten with ``hand``'s before every use, and its
    gradients are zeroed by each ``loss_and_grads``): building one costs an initialization
    of every weight, a tenth of a large model's check."""
    if torch_model is None:
        key = (Spec.of(hand), str(device))
        kept = getattr(_BUILT, "twins", None)
        if kept is None:
            kept = _BUILT.twins = {}
        if key not in kept:
            twin = key[0].torch(dtype="float64", device=device)
            while len(kept) >= KEEP_TWINS:
                kept.pop(next(iter(kept)))
            kept[key] = twin
        return kept[key]
    differ = [f"{name} {getattr(hand, name)!r} vs the twin's {getattr(torch_model, name)!r}"
              for name in SPEC_FIELDS
              if hasattr(hand, name) and hasattr(torch_model, name)
              and list(np.ravel(getattr(hand, name))) != list(np.ravel(getattr(torch_model, name)))]
    if differ:
        raise ValueError("torch_model is not the model's twin: " + "; ".join(differ))
    return torch_model


def run_twin(twin, X, y) -> Side:
    """The twin's loss, gradients and deltas (``delta[l]``) as float64 NumPy."""
    loss, grads = twin.loss_and_grads(X, y)
    return Side(float(loss), {k: to_numpy64(v) for k, v in grads.items()},
                {f"delta[{i}]": to_numpy64(d) for i, d in enumerate(getattr(twin, "deltas", []))})


def reversed_batch(X, y):
    """The batch with its rows in reverse order (and the same labels with them)."""
    return np.asarray(X)[::-1].copy(), np.asarray(y)[::-1].copy()  # copies: fresh strides


def twin_reference(hand, twin, X, y, dtype: str) -> Side:
    """Run ``twin`` on ``hand``'s parameters. A float32 model: ``noise`` holds the rounding
    that float32 costs (a float32 twin against this one); float64: see ``measure_rounding``."""
    hand_to_torch(hand, twin)
    ref = run_twin(twin, X, y)
    if dtype == "float32":
        other = _float32_twin(hand, twin)
        if other is not None:
            hand_to_torch(hand, other)
            low = run_twin(other, X, y)
            ref.noise = {k: low.grads[k] - v for k, v in ref.grads.items()}
            ref.noise |= {k: low.intermediates[k] - v for k, v in ref.intermediates.items()
                          if k in low.intermediates}
    return ref


def measure_rounding(twin, X, y, ref: Side) -> None:
    """Fill ``ref.noise`` from a second run of ``twin`` on the batch in reversed order.

    Needed only where ``term_bounds`` leaves a gradient unbounded (``bounded``): the sums
    over the batch are the parameters' gradients, which it bounds, while a delta is computed
    row by row. The reversal moves a delta only through the blocking of the matrix
    products: at most 1.7 ulps of the deltas' largest entry over the verification matrix,
    the judge corpus and the two benchmark nets, which ``ROUNDING_ULPS`` (64) covers."""
    again = run_twin(twin, *reversed_batch(X, y))
    ref.noise = {k: again.grads[k] - v for k, v in ref.grads.items()}
    ref.noise |= {k: again.intermediates[k][::-1] - v for k, v in ref.intermediates.items()
                  if k in again.intermediates}


def bounded(ref: Side) -> bool:
    """Whether every gradient of ``ref`` has its entrywise rounding bound."""
    return all(k in ref.bounds for k in ref.grads)


def _float32_twin(hand, twin):
    """A float32 copy of the twin (from the spec, or a cast copy); None if neither works."""
    try:
        return Spec.of(hand).torch(dtype="float32", device=next(twin.parameters()).device)
    except TypeError:
        try:
            return copy.deepcopy(twin).to(torch.float32)
        except Exception:  # a twin that cannot be copied: no measured float32 rounding
            return None


def term_bounds(hand, ref: Side, dtype: str = "float64") -> dict[str, np.ndarray]:
    """Rounding bounds of the reference's dense-layer gradients, entry by entry.

    ``dW_l = δ_lᵀ A_{l-1}`` and ``db_l = Σ_i δ_l[i]`` are sums of m terms; computed in
    float64 each is within ``γ_m = m eps / (1 - m eps)`` of the exact sum *relative to the
    sum of the terms' magnitudes* ``|δ_l|ᵀ|A_{l-1}|`` (Higham, Accuracy and Stability, §3.1).
    A gradient that cancels to zero (a bias at an optimum, or before a normalization) is
    thus judged against the size of its terms, not against itself. ``TERM_BOUND_FACTOR``
    (twice) γ_m covers the rounding already inside δ.
    Needs ``hand.intermediates`` (``A_prev`` per layer).
    ``dtype``: the precision of the hand computation (a float32 model's sums round at
    float32's eps, whatever the reference's precision).
    """
    try:
        layers = hand.intermediates
    except Exception:  # not a layered handmade-shaped model: no bound
        return {}
    bounds = {}
    eps = float(np.finfo(dtype).eps)
    for i, record in enumerate(layers):
        delta = ref.intermediates.get(f"delta[{i}]")
        if delta is None or np.ndim(record.A_prev) != 2:
            continue
        m = delta.shape[0]
        magnitude = np.abs(delta)
        gamma = TERM_BOUND_FACTOR * m * eps / (1 - m * eps)
        bounds[f"layers.{i}.weight"] = gamma * (magnitude.T @ np.abs(record.A_prev))
        bounds[f"layers.{i}.bias"] = gamma * magnitude.sum(axis=0)
    return bounds


def clamped_rows(hand, X, y) -> np.ndarray | None:
    """The samples where torch's gradient departs from the loss's derivative (bce's clamp
    of p(1 - p) at 1e-12 is active), as a boolean ``(m,)`` mask; None where none is."""
    try:
        loss = get_loss(hand.loss)
        if loss.name != "bce":
            return None
        out = hand.predict(X)
        active = ~loss.kinks(out, prepare_labels(loss, out, y))[0]
        rows = active.reshape(len(out), -1).any(axis=1)
        return rows if rows.any() else None
    except Exception:  # a model without a loss name or a predict: nothing known
        return None


def twin_dtype(twin) -> str:
    """The dtype a twin computes in (any module: read from its first parameter)."""
    return dtype_name(next(twin.parameters()).dtype)
