"""Central finite differences of a handmade loss, in float64, with kink detection.

For a parameter tensor θ and a unit perturbation e (one coordinate, or a random unit
direction v as JAX's check_grads does for large models)::

    dL/dθ · e  ≈  (L(θ + h e) - L(θ - h e)) / (2 h)        error O(h²) + O(eps/h)

The arrays are perturbed in place and restored (a float32 model: a float64 copy of it, so
it is checked against float64 differences). A step that crosses a kink (a relu-like
pre-activation, or the perceptron loss's ``s z``, changing sign between θ - h e and θ + h e) gives a
difference quotient that is not a derivative; such steps are counted as kinks and left
out of the comparison instead of being reported as failures.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from handmade.activations import get_activation

FD_STEP = 1e-5  # minimizes truncation h²|L'''|/6 plus roundoff eps|L|/h in float64
MAX_COORDS = 1000  # models up to this many parameters get every coordinate checked
N_DIRECTIONS = 8  # random directions per parameter tensor for larger models


@dataclass
class FDResult:
    """Per parameter: the estimate and what the hand gradient predicts, kinks removed."""

    method: str  # "coords" or "directions"
    fd: np.ndarray  # finite-difference derivatives along each kept perturbation
    predicted: np.ndarray  # the same derivatives from the gradient under test
    kinks: int  # perturbations dropped because they crossed a kink


def float64_copy(model):
    """A deep copy of ``model`` whose ``params`` are float64 (the loss then runs in float64)."""
    clone = copy.deepcopy(model)
    for key, value in clone.params.items():
        clone.params[key] = np.array(value, dtype=np.float64)
    return clone


def loss_of(model, X, y) -> float:
    """The model's loss value: ``loss_value`` if it has one, else ``loss_and_grads``'s."""
    if hasattr(model, "loss_value"):
        return float(model.loss_value(X, y))
    return float(model.loss_and_grads(X, y)[0])


def kink_signature(model, X, y) -> np.ndarray | None:
    """Which side of every kink the batch sits on, or None if the model cannot tell.

    Reads ``model.preactivations(X)`` and ``model.activations`` (as ``handmade.MLP`` has):
    the sign of each Z_l of a kinked activation, and of ``s * output`` for the perceptron
    loss.
    """
    if not (hasattr(model, "preactivations") and hasattr(model, "activations")):
        return None
    zs = model.preactivations(X)
    parts = [z > 0 for z, name in zip(zs, model.activations)
             if get_activation(name).kink is not None]
    if getattr(model, "loss", None) == "perceptron":
        s = 2.0 * np.asarray(y, np.float64).reshape(zs[-1].shape) - 1.0
        out = get_activation(model.activations[-1]).forward(zs[-1])
        parts.append(s * out > 0)
    return np.concatenate([p.ravel() for p in parts]) if parts else None


def _unit_vectors(shape):
    """Yield the unit arrays e_0, e_1, ... of ``shape``, reusing one buffer."""
    e = np.zeros(shape)
    flat = e.reshape(-1)
    for i in range(flat.size):
        flat[i] = 1.0
        yield e
        flat[i] = 0.0


def _random_directions(shape, n: int, rng) -> np.ndarray:
    """``n`` random unit arrays of ``shape`` (Frobenius norm 1), stacked: ``(n, *shape)``."""
    dirs = rng.standard_normal((n, *shape))
    dirs /= np.linalg.norm(dirs.reshape(n, -1), axis=1).reshape((-1,) + (1,) * len(shape))
    return dirs


def choose_method(method: str, n_values: int) -> str:
    """``"coords"`` or ``"directions"``; ``"auto"`` takes coords up to ``MAX_COORDS`` values."""
    if method == "auto":
        return "coords" if n_values <= MAX_COORDS else "directions"
    if method not in ("coords", "directions"):
        raise ValueError(f"fd must be 'auto', 'coords', 'directions' or None, got {method!r}")
    return method


def perturb_in_place(loss_fn, arrays: dict, grads: dict, *, method="auto", step=FD_STEP,
                     n_directions=N_DIRECTIONS, seed=0, signature=None) -> dict[str, FDResult]:
    """Central differences of ``loss_fn()`` while each array of ``arrays`` is perturbed in place.

    ``arrays[k]`` is written in place (``θ ± h e``) and restored bit for bit after each key,
    so code that reads those very arrays (or views of them) sees the perturbation.
    ``grads[k]`` (same shape) predicts the change: ``Σ g · (θ₊ − θ₋)`` against
    ``L(θ₊) − L(θ₋)``, both divided by ``2h``; the perturbation actually stored is used,
    so rounding of ``θ ± h e`` in the array's dtype does not count as an error.
    ``signature()``, when given, says which side of every kink the point sits on; steps
    whose two ends differ are left out and counted.
    """
    method = choose_method(method, sum(np.size(a) for a in arrays.values()))
    rng = np.random.default_rng(seed)
    results = {}
    for key, theta in arrays.items():
        dirs = (_unit_vectors(theta.shape) if method == "coords"
                else _random_directions(theta.shape, n_directions, rng))
        g = np.asarray(grads[key], dtype=np.float64)
        fd, predicted, kinks = [], [], 0
        base = theta.copy()
        try:
            for e in dirs:
                theta[...] = base + step * e
                plus, sig_plus = float(loss_fn()), signature() if signature else None
                moved = np.asarray(theta, np.float64).copy()
                theta[...] = base - step * e
                minus, sig_minus = float(loss_fn()), signature() if signature else None
                moved -= np.asarray(theta, np.float64)  # θ₊ − θ₋ as stored: ~2 h e
                if sig_plus is not None and not np.array_equal(sig_plus, sig_minus):
                    kinks += 1
                    continue
                fd.append((plus - minus) / (2.0 * step))
                predicted.append(float(np.sum(g * moved)) / (2.0 * step))
        finally:
            theta[...] = base
        results[key] = FDResult(method, np.array(fd), np.array(predicted), kinks)
    return results


def finite_differences(model, X, y, grads: dict, *, method="auto", step=FD_STEP,
                       n_directions=N_DIRECTIONS, seed=0) -> dict[str, FDResult]:
    """Finite-difference check of a model's ``grads`` (keyed like ``model.params``), float64.

    A float64 model is perturbed in place (so adapters whose loss reads views of
    ``params`` see the perturbation); a float32 one through a float64 deep copy, so that it
    is checked against float64 differences. ``method``: ``"coords"`` (every coordinate),
    ``"directions"`` (``n_directions`` random unit directions per tensor), or ``"auto"``
    (coords up to ``MAX_COORDS`` parameters).
    """
    in_place = all(np.asarray(p).dtype == np.float64 and isinstance(p, np.ndarray)
                   for p in model.params.values())
    target = model if in_place else float64_copy(model)
    X = np.asarray(X, dtype=np.float64)
    return perturb_in_place(lambda: loss_of(target, X, y), target.params, grads,
                            method=method, step=step, n_directions=n_directions, seed=seed,
                            signature=lambda: kink_signature(target, X, y))
