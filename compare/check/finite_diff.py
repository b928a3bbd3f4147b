"""Central finite differences in float64, with their own error estimate and kink detection.

For a parameter tensor θ and a unit perturbation e (one coordinate, or a random unit
direction v as JAX's check_grads does for large models)::

    D(h) = (L(θ + h e) - L(θ - h e)) / (2 h)     =  dL/dθ · e  +  c h²  +  rounding ~ eps|L|/h

Each tensor gets its own step ``h = FD_STEP · max(1, rms(θ))``. The difference is taken
twice, at h and 2h: ``|D(h) - D(2h)|`` measures the truncation (3 c h²) and the rounding
together, and ``4 eps |L| / h`` bounds the rounding alone; their sum is the estimate of
D(h)'s own error that ``compare.check.core`` weighs a disagreement against (a difference far
beyond it is a failure; one within it says nothing).

The arrays are perturbed in place and restored (a float32 model: a float64 copy of it, so
it is checked against float64 differences). A step that crosses a non-smooth point (an
activation's ``kink``: relu's 0, softplus's threshold; a loss's ``kinks``: the perceptron's
``s z = 0``, bce's clamps; a user's ``kinks=``) gives a quotient that is not a derivative:
such steps are counted and left out of the comparison.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from handmade.activations import get_activation
from handmade.losses import get_loss, prepare_labels

FD_STEP = 1e-5  # minimizes truncation h²|L'''|/6 plus roundoff eps|L|/h in float64
MAX_COORDS = 1000  # models up to this many parameters get every coordinate checked
N_DIRECTIONS = 8  # random directions per parameter tensor for larger models


@dataclass
class FDResult:
    """Per parameter: the estimate and what the hand gradient predicts, kinks removed."""

    method: str  # "coords" or "directions"
    fd: np.ndarray  # D(h) along each kept perturbation
    predicted: np.ndarray  # the same derivatives from the gradient under test
    kinks: int  # perturbations dropped because they crossed a kink
    error: float = 0.0  # estimate of ‖D(h) - true‖ over the kept perturbations
    step: float = FD_STEP


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
    """Which side of every non-smooth point the batch sits on, or None if none can be told.

    Reads ``model.preactivations(X)``, ``model.activations`` and ``model.loss`` (as
    ``handmade.MLP`` has): ``Z_l > kink`` for each layer whose activation declares one, and
    the output loss's ``kinks(out, y)``. Every point is declared once, with its function.
    """
    if not (hasattr(model, "preactivations") and hasattr(model, "activations")):
        return None
    zs = model.preactivations(X)
    parts = [z > get_activation(name).kink for z, name in zip(zs, model.activations)
             if get_activation(name).kink is not None]
    loss = get_loss(model.loss) if isinstance(getattr(model, "loss", None), str) else None
    if loss is not None and loss.kinks is not None:
        out = get_activation(model.activations[-1]).forward(zs[-1])
        labels = prepare_labels(loss, out, y)
        parts.append(loss.kinks(out, labels))
    return np.concatenate([np.ravel(p) for p in parts]) if parts else None


def signature_of(kinks, *args) -> np.ndarray | None:
    """The sign pattern of a user's ``kinks(*args)`` (an array or a list of arrays)."""
    if kinks is None:
        return None
    out = kinks(*args)
    parts = out if isinstance(out, (list, tuple)) else [out]
    return np.concatenate([np.ravel(np.asarray(p) > 0) for p in parts])


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

    ``arrays[k]`` is written in place (``θ ± h e``, ``θ ± 2h e``) and restored bit for bit
    after each key, so code that reads those very arrays (or views of them) sees the
    perturbation. ``grads[k]`` (same shape) predicts the change: ``Σ g · (θ₊ − θ₋) / 2h``
    against ``D(h)``; the perturbation actually stored is used, so rounding of ``θ ± h e``
    in the array's dtype does not count as an error. ``signature()``, when given, says
    which side of every kink the point sits on; steps whose ends differ are left out.
    """
    method = choose_method(method, sum(np.size(a) for a in arrays.values()))
    rng = np.random.default_rng(seed)
    size_of_loss = abs(float(loss_fn()))
    results = {}
    for key, theta in arrays.items():
        base = theta.copy()
        h = step * max(1.0, float(np.sqrt(np.mean(np.square(base, dtype=np.float64))))
                       if base.size else 1.0)
        dirs = (_unit_vectors(theta.shape) if method == "coords"
                else _random_directions(theta.shape, n_directions, rng))
        g = np.asarray(grads[key], dtype=np.float64)
        fd, fd2, predicted, kinks = [], [], [], 0
        try:
            for e in dirs:
                ends = []
                for t in (h, -h, 2 * h, -2 * h):
                    theta[...] = base + t * e
                    ends.append((float(loss_fn()), signature() if signature else None,
                                 np.asarray(theta, np.float64).copy()))
                sigs = [end[1] for end in ends]
                if sigs[0] is not None and not all(np.array_equal(sigs[0], sg) for sg in sigs):
                    kinks += 1
                    continue
                (plus, _, at_plus), (minus, _, at_minus) = ends[0], ends[1]
                fd.append((plus - minus) / (2.0 * h))
                fd2.append((ends[2][0] - ends[3][0]) / (4.0 * h))
                predicted.append(float(np.sum(g * (at_plus - at_minus))) / (2.0 * h))
        finally:
            theta[...] = base
        fd, fd2 = np.array(fd), np.array(fd2)
        eps = float(np.finfo(theta.dtype).eps)  # the loss is computed in the arrays' dtype
        error = float(np.linalg.norm(fd - fd2)) + np.sqrt(fd.size) * 4 * eps * size_of_loss / h
        results[key] = FDResult(method, fd, np.array(predicted), kinks, error, h)
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
