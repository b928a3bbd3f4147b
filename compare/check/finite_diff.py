"""Central differences in float64, with their own error estimate and kink detection.

For a parameter tensor θ and a unit perturbation e (one coordinate, or a random unit
direction v as JAX's check_grads does for large models)::

    D(h) = (L(θ + h e) - L(θ - h e)) / (2 h)     =  dL/dθ · e  +  c h²  +  rounding ~ eps|L|/h

Each tensor gets its own step ``h = FD_STEP · max(1, rms(θ))``. The difference is taken
twice, at h and 2h: ``|D(h) - D(2h)|`` measures the truncation (3 c h²) and the rounding
together, and ``4 eps |L| / h`` bounds the rounding alone; their sum is the estimate of
D(h)'s own error that ``compare.check.decide`` weighs a disagreement against (``settled``:
only where ``D(h)`` disagrees). ``joint_difference``: one ``D(h)`` through all tensors.

The arrays are perturbed in place and restored (a float32 model: a float64 copy of it).
A step across a non-smooth point (an activation's ``kink``: relu's 0, softplus's threshold;
a loss's ``kinks``: the perceptron's ``s z = 0``, bce's clamps; a user's ``kinks=``) gives a
quotient that is not a derivative: such steps are counted and left out of the comparison.

The steps and the counts (``FD_STEP``, ``N_DIRECTIONS``, the joint direction's retries)
are the judge's policy: ``compare.check.tolerances`` holds them, each with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handgrad.compare.check.fd_options import fd_method
from handgrad.compare.check.tolerances import (
    FD_ROUNDING_ULPS,
    FD_STEP,
    JOINT_ALONG,
    KINK_RETRIES,
    N_DIRECTIONS,
    elem_rel_err,
    norm_rel_err,
)
from handgrad.compare.check.wide import float64_copy
from handgrad.handmade.activations import get_activation
from handgrad.handmade.losses import get_loss, prepare_labels


@dataclass
class FDResult:
    """Per parameter: the estimate and what the hand gradient predicts, kinks removed."""

    method: str  # "coords", "directions" or "joint"
    fd: np.ndarray  # D(h) along each kept perturbation
    predicted: np.ndarray  # the same derivatives from the gradient under test
    kinks: int  # perturbations dropped because they crossed a kink
    error: float = 0.0  # estimate of ‖D(h) - true‖ over the kept perturbations
    step: float = FD_STEP


def loss_of(model, X, y) -> float:
    """The model's loss value: ``loss_value`` if it has one, else ``loss_and_grads``'s."""
    if hasattr(model, "loss_value"):
        return float(model.loss_value(X, y))
    return float(model.loss_and_grads(X, y)[0])


def kink_signature(model, X, y, zs=None) -> np.ndarray | None:
    """Which side of every non-smooth point the batch sits on, or None if none can be told.

    Reads ``model.preactivations(X)`` (or ``zs``, the same), ``activations`` and ``loss`` (as
    ``handmade.MLP`` has): ``Z_l > kink`` where an activation declares one, ``kinks(out, y)``
    (the names of the activations and the loss, looked up in handmade's registries).
    """
    if not (hasattr(model, "preactivations") and hasattr(model, "activations")):
        return None
    zs = model.preactivations(X) if zs is None else zs
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


def _step(theta, step: float) -> float:
    """A tensor's own step: ``step · max(1, rms(θ))``."""
    flat = np.asarray(theta, dtype=np.float64).ravel()
    if not flat.size:
        return step
    rms = float(np.sqrt(np.dot(flat, flat) / flat.size))
    return step * max(1.0, rms)


@dataclass(frozen=True)
class Differencing:
    """How to difference: ``method`` (``"auto"``, ``"coords"``, ``"directions"``), the
    relative ``step``, ``n_directions`` random directions per tensor, the ``seed`` that
    draws them, and ``eps``: the unit roundoff of the loss when it comes back in a lower
    precision than the arrays (code that returns float32 for float64 inputs)."""

    method: str = "auto"
    step: float = FD_STEP
    n_directions: int = N_DIRECTIONS
    seed: int = 0
    eps: float = 0.0


def perturb_in_place(loss_fn, arrays: dict, grads: dict, *, signature=None, settled=None,
                     **options) -> dict:
    """Central differences of ``loss_fn()`` while each array of ``arrays`` is perturbed in place.

    ``options``: the fields of ``Differencing`` (``method``, ``step``, ``n_directions``,
    ``seed``, ``eps``).

    ``arrays[k]`` is written in place (``θ ± h e``, ``θ ± 2h e``) and restored bit for bit
    after each key, so code that reads those very arrays (or views of them) sees the
    perturbation. ``grads[k]`` (same shape) predicts the change: ``Σ g · (θ₊ − θ₋) / 2h``
    against ``D(h)``; the perturbation actually stored is used, so rounding of ``θ ± h e``
    in the array's dtype does not count as an error. ``signature()``, when given, says
    which side of every kink the point sits on (it is called right after ``loss_fn()``, at
    the same point); steps whose ends differ are left out.

    ``settled(results) -> keys`` (see ``settled_within``) names the tensors whose ``D(h)``
    already agrees within the caller's tolerance: only the others get the 2h step, which
    serves to weigh a disagreement (until none changes side; a tensor with every step
    across a kink has nothing to weigh); a settled tensor's ``error`` is the rounding alone.
    """
    how = Differencing(**options)
    method = fd_method(how.method, sum(np.size(a) for a in arrays.values()))
    rng = np.random.default_rng(how.seed)
    runs = {}
    for key, theta in arrays.items():  # random directions drawn now, in key order
        directions = _directions(theta.shape, method, how.n_directions, rng)
        runs[key] = _Run([theta], [grads[key]], [_step(theta, how.step)], directions, method)
        runs[key].eps = max(runs[key].eps, how.eps)
        runs[key].measure(loss_fn, signature, full=settled is None)
    results = {key: run.result() for key, run in runs.items()}
    while settled is not None:  # the 2h step where D(h) disagrees
        todo = [key for key in runs
                if not runs[key].full and results[key].fd.size
                and key not in settled(results)]
        if not todo:
            break
        for key in todo:
            runs[key].measure(loss_fn, signature, full=True)
            results[key] = runs[key].result()
    return results


def _directions(shape, method: str, n_directions: int, rng):
    """One array's perturbations as a function yielding lists of one unit array: every
    coordinate (``"coords"``), or ``n_directions`` random directions drawn now."""
    if method == "coords":
        return lambda: ([e] for e in _unit_vectors(shape))
    drawn = _random_directions(shape, n_directions, rng)
    return lambda: ([e] for e in drawn)


def _joint_direction(random, gradient, along: float) -> float:
    """Turn the centred uniform draw ``random`` (flat, in place) into a unit direction
    ``±r/|r| + along g/|g|`` (then normalized) that agrees with ``gradient``; return
    ``g · v``, what a float64 step's change predicts per unit of step."""
    r_dot_r = float(random @ random)
    r_dot_g = float(random @ gradient)
    g_dot_g = float(gradient @ gradient)
    if np.isfinite(g_dot_g) and g_dot_g > 0 and np.isfinite(r_dot_g):
        scale = float(np.copysign(np.sqrt(g_dot_g / r_dot_r) / along, r_dot_g))
        random *= scale
        random += gradient
        # |v|² and v·g from the dot products already taken: no cancelling
        r_dot_r = scale * scale * r_dot_r + 2 * scale * r_dot_g + g_dot_g
        r_dot_g = scale * r_dot_g + g_dot_g
    random *= 1.0 / np.sqrt(r_dot_r)
    return r_dot_g / np.sqrt(r_dot_r)


def joint_difference(loss_fn, arrays: dict, grads: dict, *, step=FD_STEP, seed=0,
                     signature=None, along=JOINT_ALONG) -> FDResult:
    """``D(h)`` along one unit direction through all of ``arrays``: two evaluations of the
    loss. Array ``k`` moves by ``h_k v_k``, ``v_k`` a random direction turned to agree with
    ``grads[k]`` plus ``along`` times the gradient's own: no term of ``D`` is negative, and
    ``D`` cannot cancel to rounding. A step across a kink (``signature``) is retried
    shorter (``KINK_RETRIES``); no 2h step (a disagreement is for per-tensor differences
    to weigh)."""
    rng = np.random.default_rng(seed)
    keys = [k for k, a in arrays.items() if np.size(a)]
    directions = []  # one unit direction per array
    predicted = []  # g·v per array: what a float64 step's change predicts
    for key in keys:  # uniform draws (3x cheaper than normal ones), scaled in place
        direction = rng.random(np.shape(arrays[key]))
        gradient = np.asarray(grads[key], dtype=np.float64).ravel()
        flat = direction.reshape(-1)
        flat -= 0.5
        predicted.append(_joint_direction(flat, gradient, along))
        directions.append(direction)
    if not all(np.asarray(arrays[k]).dtype == np.float64 for k in keys):
        predicted = None  # a float32 step rounds: measure the change as stored
    for shorter in KINK_RETRIES:
        steps = [_step(arrays[k], step) / shorter for k in keys]
        run = _Run([arrays[k] for k in keys], [grads[k] for k in keys], steps,
                   lambda: [directions], "joint", predicted)
        run.measure(loss_fn, signature, full=False)
        if not run.kinks:
            break
    return run.result()


class _Run:
    """Central differences moving one or more arrays at once, array ``t`` by ``s h_t e_t``
    (``s`` = ±1, and ±2 when ``full``; ``e_t`` of unit norm): ``D`` is the derivative along
    ``(h_t e_t)_t / ‖(h_t)_t‖``, for one array ``(L(θ + h e) − L(θ − h e)) / 2h``.

    ``dots`` (per array, ``g_t · e_t``), when given, predicts the change of a float64 step
    without measuring it."""

    def __init__(self, thetas, grads, steps, directions, method, dots=None):
        self.thetas = thetas
        self.steps = steps
        self.directions = directions
        self.method = method
        self.change = None
        if dots is not None:
            self.change = 2 * sum(h * d for h, d in zip(steps, dots))
        self.bases = [theta.copy() for theta in thetas]
        self.grads = [np.asarray(g, dtype=np.float64) for g in grads]
        if len(steps) == 1:
            self.h = steps[0]
        else:
            self.h = float(np.sqrt(sum(h * h for h in steps)))
        self.eps = max(float(np.finfo(t.dtype).eps) for t in thetas)  # the loss's dtype
        self.full = False
        self.loss_size = 0.0
        # measure() fills these:
        self.fd = []  # D(h) per kept perturbation
        self.fd_double = []  # D(2h), when full
        self.predicted = []
        self.kinks = 0

    def _at(self, sign, units, loss_fn, signature):
        """``(L, signature)`` at ``θ_t + sign h_t e_t`` (signature None when not asked)."""
        for theta, base, h, unit in zip(self.thetas, self.bases, self.steps, units):
            all_float64 = theta.dtype == base.dtype == unit.dtype == np.float64
            if isinstance(theta, np.ndarray) and all_float64:  # in place, bit for bit
                np.add(np.multiply(unit, sign * h, out=theta), base, out=theta)
            else:
                theta[...] = base + (sign * h) * unit
        loss = float(loss_fn())
        if np.isfinite(loss):
            self.loss_size = max(self.loss_size, abs(loss))
        return loss, (signature() if signature else None)

    def _stored_change(self, plus) -> float:
        """``Σ_t g_t · (θ₊ − θ₋)_t`` with the perturbations as stored."""
        return sum(float(np.dot(g.ravel(), (p - t).ravel()))
                   for g, p, t in zip(self.grads, plus, self.thetas))

    def measure(self, loss_fn, signature, *, full: bool):
        self.full = full
        self.fd = []
        self.fd_double = []
        self.predicted = []
        self.kinks = 0
        try:
            for units in self.directions():
                self._measure_one(units, loss_fn, signature)
        finally:
            for theta, base in zip(self.thetas, self.bases):
                theta[...] = base

    def _measure_one(self, units, loss_fn, signature) -> None:
        """One perturbation: ``D(h)`` (and ``D(2h)`` when full), or one more kink."""
        ends = [self._at(1, units, loss_fn, signature)]
        plus = None
        if self.change is None:  # θ₊ − θ₋ as stored
            plus = [np.asarray(t, np.float64).copy() for t in self.thetas]
        ends.append(self._at(-1, units, loss_fn, signature))
        change = self.change if plus is None else self._stored_change(plus)
        if self.full:
            ends += [self._at(sign, units, loss_fn, signature) for sign in (2, -2)]
        signatures = [end[1] for end in ends]
        first = signatures[0]
        if first is not None and not all(np.array_equal(first, s) for s in signatures):
            self.kinks += 1
            return
        self.fd.append((ends[0][0] - ends[1][0]) / (2.0 * self.h))
        if self.full:
            self.fd_double.append((ends[2][0] - ends[3][0]) / (4.0 * self.h))
        self.predicted.append(change / (2.0 * self.h))

    def result(self) -> FDResult:
        fd = np.array(self.fd)
        error = np.sqrt(fd.size) * FD_ROUNDING_ULPS * self.eps * self.loss_size / self.h
        if self.full:  # truncation and rounding, measured
            error += float(np.linalg.norm(fd - np.array(self.fd_double)))
        return FDResult(self.method, fd, np.array(self.predicted), self.kinks, float(error),
                        self.h)


def settled_within(tolerance):
    """``settled`` for ``perturb_in_place``: the tensors that ``tolerance`` passes at
    ``D(h)``, by the rule of ``compare.check.decide.fd_decision`` (normwise and max
    elementwise relative error within ``tolerance``, floored at ``tolerance.floor`` times
    the largest difference of all)."""
    def settled(results: dict[str, FDResult]) -> set[str]:
        largest = max((float(np.max(np.abs(r.fd))) for r in results.values() if r.fd.size),
                      default=0.0)
        floor = tolerance.floor * largest
        return {key for key, r in results.items()
                if r.fd.size and np.all(np.isfinite(r.predicted))
                and tolerance.passes(norm_rel_err(r.predicted, r.fd, floor),
                                     elem_rel_err(r.predicted, r.fd, tolerance.floor, floor))}
    return settled


def finite_differences(model, X, y, grads: dict, *, settled=None, reuse_last_forward=False,
                       **options):
    """Finite-difference check of a model's ``grads`` (keyed like ``model.params``), float64.

    A float64 model is perturbed in place (so adapters whose loss reads views of ``params``
    see the perturbation); a float32 one through a float64 deep copy. ``options``: the
    fields of ``Differencing``; its ``method``: ``"coords"`` (every coordinate),
    ``"directions"`` (``n_directions`` random unit directions per tensor), ``"auto"``
    (coords up to ``MAX_COORDS`` parameters), each ``{key: FDResult}`` for the keys of
    ``grads`` (``settled``: see ``perturb_in_place``); or ``"joint"``: one ``FDResult``
    from ``joint_difference``. ``reuse_last_forward``: the caller knows that the model's
    loss leaves in ``model.intermediates`` the very ``Z_l`` that ``preactivations(X)``
    would compute again (``fd_plan.reads_its_last_forward``), so the kink signature reads
    them instead of running a second forward.
    """
    how = Differencing(**options)
    in_place = all(np.asarray(p).dtype == np.float64 and isinstance(p, np.ndarray)
                   for p in model.params.values())
    target = model if in_place else float64_copy(model)
    X = np.asarray(X, dtype=np.float64)
    arrays = {k: p for k, p in target.params.items() if k in grads}
    reuse = reuse_last_forward  # the signature then costs no second forward

    def signature():  # called by perturb_in_place right after loss_fn, at the same point
        zs = [layer.Z for layer in target.intermediates] if reuse else None
        return kink_signature(target, X, y, zs)
    def loss_fn():
        return loss_of(target, X, y)
    if how.method == "joint":
        return joint_difference(loss_fn, arrays, grads, step=how.step, seed=how.seed,
                                signature=signature)
    return perturb_in_place(loss_fn, arrays, grads, signature=signature, settled=settled,
                            **vars(how))
