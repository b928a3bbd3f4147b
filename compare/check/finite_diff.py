"""Central differences in float64, with their own error estimate and kink detection.

For a parameter tensor θ and a unit perturbation e (one coordinate, or a random unit
direction v as JAX's check_grads does for large models)::

    D(h) = (L(θ + h e) - L(θ - h e)) / (2 h)     =  dL/dθ · e  +  c h²  +  rounding ~ eps|L|/h

Each tensor gets its own step ``h = FD_STEP · max(1, rms(θ))``. The difference is taken
twice, at h and 2h: ``|D(h) - D(2h)|`` measures the truncation (3 c h²) and the rounding
together, and ``4 eps |L| / h`` bounds the rounding alone; their sum is the estimate of
D(h)'s own error that ``compare.check.core`` weighs a disagreement against (``settled``:
only where ``D(h)`` disagrees). ``joint_difference``: one ``D(h)`` through all tensors.

The arrays are perturbed in place and restored (a float32 model: a float64 copy of it).
A step across a non-smooth point (an activation's ``kink``: relu's 0, softplus's threshold;
a loss's ``kinks``: the perceptron's ``s z = 0``, bce's clamps; a user's ``kinks=``) gives a
quotient that is not a derivative: such steps are counted and left out of the comparison.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from handgrad.compare.check.tolerances import elem_rel_err, norm_rel_err
from handgrad.handmade.activations import get_activation
from handgrad.handmade.losses import get_loss, prepare_labels
from handgrad.handmade.mlp import MLP

FD_STEP = 1e-5  # minimizes truncation h²|L'''|/6 plus roundoff eps|L|/h in float64
MAX_COORDS = 1000  # models up to this many parameters get every coordinate checked
N_DIRECTIONS = 8  # random directions per parameter tensor for larger models


@dataclass
class FDResult:
    """Per parameter: the estimate and what the hand gradient predicts, kinks removed."""

    method: str  # "coords", "directions" or "joint"
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


def kink_signature(model, X, y, zs=None) -> np.ndarray | None:
    """Which side of every non-smooth point the batch sits on, or None if none can be told.

    Reads ``model.preactivations(X)`` (or ``zs``, the same), ``activations`` and ``loss`` (as
    ``handmade.MLP`` has): ``Z_l > kink`` where an activation declares one, ``kinks(out, y)``.
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


def reads_its_last_forward(model) -> bool:
    """Whether ``loss_of(model)`` leaves in ``model.intermediates`` the very ``Z_l`` that
    ``model.preactivations(X)`` would compute again: both are ``handmade.MLP``'s own methods,
    each running ``self.forward(X)`` (then the loss, or the read of ``intermediates``)."""
    return (getattr(type(model), "loss_value", None) is MLP.loss_value
            and getattr(type(model), "preactivations", None) is MLP.preactivations)


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


def _step(theta, step: float) -> float:
    """A tensor's own step: ``step · max(1, rms(θ))``."""
    flat = np.asarray(theta, dtype=np.float64).ravel()
    return step * max(1.0, float(np.sqrt(np.dot(flat, flat) / flat.size)) if flat.size else 1.0)


def perturb_in_place(loss_fn, arrays: dict, grads: dict, *, method="auto", step=FD_STEP,
                     n_directions=N_DIRECTIONS, seed=0, signature=None, settled=None) -> dict:
    """Central differences of ``loss_fn()`` while each array of ``arrays`` is perturbed in place.

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
    method = choose_method(method, sum(np.size(a) for a in arrays.values()))
    rng, runs = np.random.default_rng(seed), {}
    for key, theta in arrays.items():  # random directions drawn now, in key order
        drawn = None if method == "coords" else _random_directions(theta.shape, n_directions, rng)
        def dirs(d=drawn, shape=theta.shape):  # one array's directions, as lists of one
            return ([e] for e in (_unit_vectors(shape) if d is None else d))
        runs[key] = _Run([theta], [grads[key]], [_step(theta, step)], dirs, method)
        runs[key].measure(loss_fn, signature, full=settled is None)
    results = {key: run.result() for key, run in runs.items()}
    while settled is not None:  # the 2h step where D(h) disagrees
        todo = [k for k in runs if not runs[k].full and results[k].fd.size
                and k not in settled(results)]
        if not todo:
            break
        for key in todo:
            runs[key].measure(loss_fn, signature, full=True)
            results[key] = runs[key].result()
    return results


def joint_difference(loss_fn, arrays: dict, grads: dict, *, step=FD_STEP, seed=0,
                     signature=None, along=0.5) -> FDResult:
    """``D(h)`` along one unit direction through all of ``arrays``: two evaluations of the
    loss. Array ``k`` moves by ``h_k v_k``, ``v_k`` a random direction turned to agree with
    ``grads[k]`` plus ``along`` times the gradient's own: no term of ``D`` is negative, and
    ``D`` cannot cancel to rounding. A step across a kink (``signature``) is retried 16 and
    256 times shorter; no 2h step (a disagreement is for per-tensor differences to weigh)."""
    rng, keys = np.random.default_rng(seed), [k for k, a in arrays.items() if np.size(a)]
    vs, dots = [], []  # unit directions, and g·v (what a float64 step's change predicts)
    for k in keys:  # uniform draws (3x cheaper than normal ones), scaled in place
        v, g = rng.random(np.shape(arrays[k])), np.asarray(grads[k], dtype=np.float64).ravel()
        flat = v.reshape(-1)
        flat -= 0.5
        rr, rg, gg = float(flat @ flat), float(flat @ g), float(g @ g)
        if np.isfinite(gg) and gg > 0 and np.isfinite(rg):  # ±r/|r| + along g/|g|, times |g|
            a = float(np.copysign(np.sqrt(gg / rr) / along, rg))
            flat *= a
            flat += g
            rr, rg = a * a * rr + 2 * a * rg + gg, a * rg + gg  # |v|², v·g: no cancelling
        flat *= 1.0 / np.sqrt(rr)
        vs, dots = vs + [v], dots + [rg / np.sqrt(rr)]
    dots = dots if all(np.asarray(arrays[k]).dtype == np.float64 for k in keys) else None
    for shorter in (1, 16, 256):
        run = _Run([arrays[k] for k in keys], [grads[k] for k in keys],
                   [_step(arrays[k], step) / shorter for k in keys], lambda: [vs], "joint",
                   dots)
        run.measure(loss_fn, signature, full=False)
        if not run.kinks:
            break
    return run.result()


class _Run:
    """Central differences moving one or more arrays at once, array ``t`` by ``s h_t e_t``
    (``s`` = ±1, and ±2 when ``full``; ``e_t`` of unit norm): ``D`` is the derivative along
    ``(h_t e_t)_t / ‖(h_t)_t‖``, for one array ``(L(θ + h e) − L(θ − h e)) / 2h``."""

    def __init__(self, thetas, grads, hs, directions, method, dots=None):
        self.thetas, self.hs, self.directions, self.method = thetas, hs, directions, method
        self.change = None if dots is None else 2 * sum(h * d for h, d in zip(hs, dots))
        self.bases = [theta.copy() for theta in thetas]
        self.gs = [np.asarray(g, dtype=np.float64) for g in grads]
        self.h = hs[0] if len(hs) == 1 else float(np.sqrt(sum(h * h for h in hs)))
        self.eps = max(float(np.finfo(t.dtype).eps) for t in thetas)  # the loss's dtype
        self.full, self.loss_size = False, 0.0  # measure() fills fd, fd2, predicted, kinks

    def _at(self, s, es, loss_fn, signature):
        """``(L, signature)`` at ``θ_t + s h_t e_t`` (signature None when not asked)."""
        for theta, base, h, e in zip(self.thetas, self.bases, self.hs, es):
            if isinstance(theta, np.ndarray) and theta.dtype == base.dtype == e.dtype == np.float64:
                np.add(np.multiply(e, s * h, out=theta), base, out=theta)  # in place, bit for bit
            else:
                theta[...] = base + (s * h) * e
        loss = float(loss_fn())
        if np.isfinite(loss):
            self.loss_size = max(self.loss_size, abs(loss))
        return loss, (signature() if signature else None)

    def measure(self, loss_fn, signature, *, full: bool):
        self.full, self.fd, self.fd2, self.predicted, self.kinks = full, [], [], [], 0
        try:
            for es in self.directions():
                ends = [self._at(1, es, loss_fn, signature)]
                plus = [np.asarray(t, np.float64).copy() for t in self.thetas
                        if self.change is None]  # θ₊ − θ₋ as stored, unless known from dots
                ends.append(self._at(-1, es, loss_fn, signature))
                change = self.change if self.change is not None else sum(float(np.dot(
                    g.ravel(), (p - t).ravel())) for g, p, t in zip(self.gs, plus, self.thetas))
                if full:
                    ends += [self._at(s, es, loss_fn, signature) for s in (2, -2)]
                sigs = [end[1] for end in ends]
                if sigs[0] is not None and not all(np.array_equal(sigs[0], s) for s in sigs):
                    self.kinks += 1
                    continue
                self.fd.append((ends[0][0] - ends[1][0]) / (2.0 * self.h))
                if full:
                    self.fd2.append((ends[2][0] - ends[3][0]) / (4.0 * self.h))
                self.predicted.append(change / (2.0 * self.h))
        finally:
            for theta, base in zip(self.thetas, self.bases):
                theta[...] = base

    def result(self) -> FDResult:
        fd = np.array(self.fd)
        error = np.sqrt(fd.size) * 4 * self.eps * self.loss_size / self.h  # the rounding
        if self.full:
            error += float(np.linalg.norm(fd - np.array(self.fd2)))  # truncation and rounding
        return FDResult(self.method, fd, np.array(self.predicted), self.kinks, float(error),
                        self.h)


def settled_within(tol):
    """``settled`` for ``perturb_in_place``: the tensors that ``tol`` passes at ``D(h)``, by
    the rule of ``compare.check.core.fd_decision`` (normwise and max elementwise relative
    error within ``tol``, floored at ``tol.floor`` times the largest difference of all)."""
    def settled(results: dict[str, FDResult]) -> set[str]:
        floor = tol.floor * max((float(np.max(np.abs(r.fd))) for r in results.values()
                                 if r.fd.size), default=0.0)
        return {k for k, r in results.items()
                if r.fd.size and np.all(np.isfinite(r.predicted))
                and tol.passes(norm_rel_err(r.predicted, r.fd, floor),
                               elem_rel_err(r.predicted, r.fd, tol.floor, floor))}
    return settled


def finite_differences(model, X, y, grads: dict, *, method="auto", step=FD_STEP,
                       n_directions=N_DIRECTIONS, seed=0, settled=None):
    """Finite-difference check of a model's ``grads`` (keyed like ``model.params``), float64.

    A float64 model is perturbed in place (so adapters whose loss reads views of ``params``
    see the perturbation); a float32 one through a float64 deep copy. ``method``:
    ``"coords"`` (every coordinate), ``"directions"`` (``n_directions`` random unit
    directions per tensor), ``"auto"`` (coords up to ``MAX_COORDS`` parameters), each
    ``{key: FDResult}`` for the keys of ``grads`` (``settled``: see ``perturb_in_place``);
    or ``"joint"``: one ``FDResult`` from ``joint_difference``.
    """
    in_place = all(np.asarray(p).dtype == np.float64 and isinstance(p, np.ndarray)
                   for p in model.params.values())
    target = model if in_place else float64_copy(model)
    X = np.asarray(X, dtype=np.float64)
    arrays = {k: p for k, p in target.params.items() if k in grads}
    reuse = reads_its_last_forward(target)  # the signature then costs no second forward

    def signature():  # called by perturb_in_place right after loss_fn, at the same point
        zs = [layer.Z for layer in target.intermediates] if reuse else None
        return kink_signature(target, X, y, zs)
    if method == "joint":
        return joint_difference(lambda: loss_of(target, X, y), arrays, grads, step=step,
                                seed=seed, signature=signature)
    return perturb_in_place(lambda: loss_of(target, X, y), arrays, grads, method=method,
                            step=step, n_directions=n_directions, seed=seed,
                            signature=signature, settled=settled)
