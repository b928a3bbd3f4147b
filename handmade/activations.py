"""Activation functions, each value and derivative kept in ONE record.

Every record maps a pre-activation ``Z`` of shape ``(m, k)`` to ``A = f(Z)`` of the same
shape, and carries the local derivative ``f'(Z)`` so that the backward step reads
"local derivative x upstream gradient"::

    dZ = f'(Z) * dA            # elementwise activations, (m, k)
    dZ = A * (dA - sum(dA * A, axis=-1))   # softmax: the Jacobian-vector product

Names and conventions are torch's: ``leaky_relu`` slope 0.01, ``softplus`` beta 1 and
threshold 20, ``elu`` alpha 1, ``gelu`` the exact erf form, and at a kink the derivative
torch uses (``relu'(0) = 0``, ``leaky_relu'(0) = 0.01``).

Every formula is written so that no intermediate overflows for |z| up to 1e4 in float64
and float32 (only underflow to 0, which is exact in the limit), and so that a float32
input stays float32 (only Python scalars, which NumPy treats as weak, appear as constants).

GELU's ``ndtr`` (SciPy's standard normal CDF) is imported inside the two functions that use
it: importing ``scipy.special`` costs about 0.2 s, which every process that loads these
records would otherwise pay, GELU or not.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray

LEAKY_SLOPE = 0.01  # torch.nn.LeakyReLU default negative_slope
SOFTPLUS_THRESHOLD = 20.0  # torch.nn.Softplus default: above it, softplus(z) = z
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Activation:
    """One activation: its value and its derivative, side by side.

    ``derivative(z, a)`` is the elementwise ``da/dz`` (it may reuse ``a = value(z)``, as
    ``a * (1 - a)`` does for the sigmoid). ``vjp`` replaces it for activations that mix
    the entries of a row (softmax). ``kink`` is the point where the function is not smooth
    (relu's 0; softplus's threshold 20, where torch switches to the identity and the value
    jumps by ~2e-9), or
    None for a smooth function; finite differences that step across it are not trusted.
    """

    name: str
    value: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array] | None = None
    vjp: Callable[[Array, Array, Array], Array] | None = None
    kink: float | None = None

    def forward(self, z: Array) -> Array:
        """``A = f(Z)``, same shape and dtype as ``Z``."""
        return self.value(z)

    def backward(self, dA: Array, z: Array, a: Array) -> Array:
        """``dL/dZ`` from the upstream ``dA = dL/dA``; all three arrays are ``(m, k)``."""
        if self.vjp is not None:
            return self.vjp(dA, z, a)
        if self.derivative is None:
            raise ValueError(f"activation {self.name!r} has no gradient (it is piecewise "
                             "constant); train it with its own rule, e.g. Perceptron.update")
        local = self.derivative(z, a)  # f'(Z), (m, k): ones for identity
        return local * dA  # local derivative x upstream gradient


# --- the formulas -------------------------------------------------------------------

def sigmoid(z: Array) -> Array:
    """``1 / (1 + exp(-z))``, as written: no warning, no NaN, a scalar in gives a scalar.

    The form has no subtraction, so no cancellation (for z = -30 it gives
    1 / (1 + 1.07e13) to full precision); its only hazard is ``exp(-z)`` overflowing to
    ``inf`` for z < -88.7 (float32) or z < -709.8 (float64), where ``1 / (1 + inf) = 0`` is
    the correctly rounded limit. So the overflow is expected and silenced. Textbooks (and
    SciPy's ``expit``) use the sign-split form, in which ``exp`` only ever sees ``-|z|``::

        e = np.exp(-np.abs(z))  # in (0, 1]: cannot overflow
        np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    as accurate, and 1.2-7x slower over a random sign pattern (``benchmarks/sigmoid.py``
    times both against this line and an in-place variant of it; docs/benchmarks.md).
    """
    z = np.asarray(z)
    z = z.astype(np.result_type(z.dtype, np.float32), copy=False)  # int -> float64
    with np.errstate(over="ignore"):  # exp(-z) = inf gives 1 / (1 + inf) = 0: the limit
        return 1.0 / (1.0 + np.exp(-z))


def softplus(z: Array) -> Array:
    """``log(1 + exp(z))``, and ``z`` itself above torch's threshold 20."""
    safe = np.minimum(z, SOFTPLUS_THRESHOLD)  # the other branch is discarded anyway
    return np.where(z > SOFTPLUS_THRESHOLD, z, np.log1p(np.exp(safe)))


def elu(z: Array) -> Array:
    """``z`` for z > 0, ``exp(z) - 1`` otherwise (alpha = 1)."""
    return np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))


def gelu(z: Array) -> Array:
    """Exact GELU ``z * Phi(z)`` with Phi the standard normal CDF (``0.5 (1 + erf(z/√2))``)."""
    from scipy.special import ndtr  # on first use: see the module's docstring

    return z * ndtr(z)


def softmax(z: Array) -> Array:
    """Row-wise ``exp(z - max) / sum(exp(z - max))`` over the last axis; rows sum to 1."""
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))  # largest exponent is 0
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax_jacobian(a: Array) -> Array:
    """Full Jacobian of each row of softmax: ``J[i] = diag(a_i) - a_i a_iᵀ``, ``(m, k, k)``."""
    return a[:, :, None] * np.eye(a.shape[-1], dtype=a.dtype) - a[:, :, None] * a[:, None, :]


def softmax_vjp(dA: Array, z: Array, a: Array) -> Array:
    """``dZ_i = dA_i J_i = a_i * (dA_i - <dA_i, a_i>)``: the Jacobian product without forming J.

    J is symmetric, so this is also the Jacobian-vector product ``J_i dA_i``. Shapes ``(m, k)``.
    """
    return a * (dA - np.sum(dA * a, axis=-1, keepdims=True))


# --- the derivatives, f'(z) given z and a = f(z), each (m, k) -------------------------

def identity(z: Array) -> Array:
    return z


def _identity_derivative(z: Array, a: Array) -> Array:
    return np.ones_like(z)


def _sigmoid_derivative(z: Array, a: Array) -> Array:
    return a * (1.0 - a)  # s' = s (1 - s), from the output


def _tanh_derivative(z: Array, a: Array) -> Array:
    return 1.0 - a * a  # tanh' = 1 - tanh², from the output


def relu(z: Array) -> Array:
    return np.maximum(z, 0.0)


def _relu_derivative(z: Array, a: Array) -> Array:
    return (z > 0).astype(z.dtype)  # relu'(0) = 0 (torch): 1 only where z > 0


def leaky_relu(z: Array) -> Array:
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def _leaky_relu_derivative(z: Array, a: Array) -> Array:
    # leaky_relu'(0) = slope (torch): the slope applies wherever z is not positive
    return np.where(z > 0, 1.0, LEAKY_SLOPE).astype(z.dtype)


def _softplus_derivative(z: Array, a: Array) -> Array:
    # softplus' = sigmoid(z), and exactly 1 above the threshold (torch's backward)
    return np.where(z > SOFTPLUS_THRESHOLD, 1.0, sigmoid(z)).astype(z.dtype)


def _elu_derivative(z: Array, a: Array) -> Array:
    # elu' = 1 for z > 0, exp(z) = a + 1 otherwise (both give 1 at z = 0)
    return np.where(z > 0, 1.0, a + 1.0).astype(z.dtype)


def silu(z: Array) -> Array:
    return z * sigmoid(z)


def _silu_derivative(z: Array, a: Array) -> Array:
    # silu = z s(z);  silu' = s + z s (1 - s) = s (1 + z (1 - s))
    s = sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


def _gelu_derivative(z: Array, a: Array) -> Array:
    # gelu = z Phi(z);  gelu' = Phi(z) + z phi(z), phi the standard normal density
    from scipy.special import ndtr  # on first use: see the module's docstring

    return ndtr(z) + z * (INV_SQRT_2PI * np.exp(-0.5 * z * z))


def step(z: Array) -> Array:
    return (z > 0).astype(z.dtype)  # Heaviside as the perceptron uses it: 1 where z > 0


ACTIVATIONS: dict[str, Activation] = {
    act.name: act
    for act in [
        Activation("identity", identity, _identity_derivative),
        Activation("sigmoid", sigmoid, _sigmoid_derivative),
        Activation("tanh", np.tanh, _tanh_derivative),
        Activation("relu", relu, _relu_derivative, kink=0.0),
        Activation("leaky_relu", leaky_relu, _leaky_relu_derivative, kink=0.0),
        Activation("softplus", softplus, _softplus_derivative, kink=SOFTPLUS_THRESHOLD),
        Activation("elu", elu, _elu_derivative),
        Activation("silu", silu, _silu_derivative),
        Activation("gelu", gelu, _gelu_derivative),
        Activation("softmax", softmax, vjp=softmax_vjp),
        Activation("step", step, kink=0.0),  # piecewise constant: no gradient
    ]
}


def get_activation(name: str) -> Activation:
    """The record for ``name``; a ValueError lists the valid names otherwise."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {name!r}; expected one of "
                         f"{sorted(ACTIVATIONS)}") from None
