"""Optimizers written by hand, update for update the formulas of ``torch.optim``.

Each optimizer holds a reference to a ``params`` dict (``MLP.params``) and updates it in
place from a ``grads`` dict with the same keys and shapes; state (momentum buffers, Adam's
moments) is kept per key in the parameters' dtype.

SGD (``torch.optim.SGD``), with g the gradient, b the momentum buffer, t the step::

    g = g + weight_decay * θ                       (L2 penalty folded into the gradient)
    b = g                            at t = 1       (momentum != 0)
    b = momentum * b + (1 - dampening) * g   later
    g = g + momentum * b   if nesterov,  else  g = b
    θ = θ - lr * g

Adam (``torch.optim.Adam``, ``amsgrad=False``)::

    g = g + weight_decay * θ
    m = m + (1 - β1) (g - m)                       (torch's lerp: β1 m + (1 - β1) g)
    v = β2 v + (1 - β2) g²
    θ = θ - lr / (1 - β1^t) * m / (sqrt(v) / sqrt(1 - β2^t) + eps)

Note where eps sits: after the bias-corrected square root, as torch places it.
Plain gradient descent, mini-batch SGD and per-sample SGD are all ``SGD``; they differ only
in the batches they are fed (all m samples, b of them, or one).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

Params = dict[str, np.ndarray]


def sgd_step(params: Params, grads: Params, lr: float) -> None:
    """In place: ``params[k] -= lr * grads[k]`` for every key; the dtype is kept."""
    _check_keys(params, grads)
    for key, p in params.items():
        p -= lr * grads[key]


def _check_keys(params: Params, grads: Params) -> None:
    differing = set(params) ^ set(grads)
    if differing:
        raise ValueError(f"params and grads must have the same keys; differing: "
                         f"{sorted(differing)}")
    for key, p in params.items():  # shapes only (no pass over the values): cheap per step
        if np.shape(grads[key]) != p.shape:
            raise ValueError(f"grads[{key!r}] must have the shape of params[{key!r}], "
                             f"{p.shape}, got {np.shape(grads[key])}")


def _check_params(params) -> None:
    """``params`` must be a non-empty dict of floating-point arrays (``MLP.params``)."""
    if not isinstance(params, dict) or not params:
        raise ValueError(f"params must be a non-empty dict of parameter arrays (a model's "
                         f"params), got {type(params).__name__} of length "
                         f"{len(params) if hasattr(params, '__len__') else '?'}")
    for key, p in params.items():
        if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
            raise TypeError(f"params[{key!r}] must be a floating-point ndarray (updated in "
                            f"place), got {getattr(p, 'dtype', type(p).__name__)}")


def _check_positive(**values) -> None:
    for name, value in values.items():
        if not (isinstance(value, numbers.Real) and not isinstance(value, bool)
                and math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


class SGD:
    """``SGD(params, lr, momentum=0, dampening=0, nesterov=False, weight_decay=0)``.

    ``step(grads)`` takes a dict with the keys, shapes and dtypes of ``params`` and updates
    ``params`` in place; the momentum buffers are kept per key, in the parameters' dtype.
    """

    def __init__(self, params: Params, lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        _check_params(params)
        _check_positive(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("nesterov needs momentum > 0 and dampening = 0 (as torch.optim.SGD)")
        self.params, self.lr, self.momentum = params, lr, momentum
        self.dampening, self.nesterov, self.weight_decay = dampening, nesterov, weight_decay
        self.buffers: Params = {}  # momentum buffers b

    def step(self, grads: Params) -> None:
        """One update of every parameter, in place."""
        _check_keys(self.params, grads)
        for key, theta in self.params.items():
            g = grads[key]
            if self.weight_decay:
                g = g + self.weight_decay * theta
            if self.momentum:
                if key not in self.buffers:
                    self.buffers[key] = np.array(g, dtype=theta.dtype)  # b_1 = g_1
                else:
                    b = self.buffers[key]
                    b *= self.momentum
                    b += (1.0 - self.dampening) * g
                b = self.buffers[key]
                g = g + self.momentum * b if self.nesterov else b
            theta -= self.lr * g  # θ = θ - lr * g


class Adam:
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)``.

    ``step(grads)`` as ``SGD.step``; the moments ``m`` and ``v`` are kept per key, shaped
    and typed like the parameters, and ``t`` counts the steps.
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        _check_params(params)
        _check_positive(lr=lr, eps=eps, weight_decay=weight_decay)
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2
                and all(isinstance(b, numbers.Real) and 0 <= b < 1 for b in betas)):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        beta1, beta2 = betas
        self.params, self.lr, self.betas = params, lr, (beta1, beta2)
        self.eps, self.weight_decay = eps, weight_decay
        self.t = 0
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}

    def step(self, grads: Params) -> None:
        """One update of every parameter, in place."""
        _check_keys(self.params, grads)
        beta1, beta2 = self.betas
        self.t += 1
        step_size = self.lr / (1.0 - beta1**self.t)
        sqrt_bc2 = math.sqrt(1.0 - beta2**self.t)
        for key, theta in self.params.items():
            g = grads[key]
            if self.weight_decay:
                g = g + self.weight_decay * theta
            m, v = self.m[key], self.v[key]
            m += (1.0 - beta1) * (g - m)  # first moment, lerp form
            v *= beta2
            v += (1.0 - beta2) * g * g  # second moment
            theta -= step_size * m / (np.sqrt(v) / sqrt_bc2 + self.eps)


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def make_optimizer(name: str, params: Params, **options):
    """``SGD`` or ``Adam`` by name (``"sgd"``, ``"adam"``), with torch.optim's options."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[name](params, **options)
