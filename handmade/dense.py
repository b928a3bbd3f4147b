"""A dense (fully connected) layer as a pure forward/backward pair, exactly ``nn.Linear``.

Forward::

    Z = X @ W.T + b        X (m, in), W (out, in), b (out,), Z (m, out)

Backward, given the upstream ``dZ = dL/dZ`` of shape ``(m, out)``::

    dW = dZ.T @ X          (out, in)   dZ_ij = dL/dZ_ij, dZ_ij/dW_jk = X_ik
    db = sum_i dZ_i        (out,)      dZ_ij/db_j = 1
    dX = dZ @ W            (m, in)     dZ_ij/dX_ik = W_jk

The loss's reduction (1/m for a mean) is already inside ``dZ``, so no averaging here.
"""

from __future__ import annotations

import math

import numpy as np

Array = np.ndarray


def dense_forward(X: Array, W: Array, b: Array) -> tuple[Array, tuple[Array, Array]]:
    """``Z = X @ W.T + b``; the cache keeps what the backward needs: ``(X, W)``."""
    Z = X @ W.T + b  # (m, out)
    return Z, (X, W)


def dense_backward(dZ: Array, cache: tuple[Array, Array]) -> tuple[Array, Array, Array]:
    """``(dX, dW, db)`` from the upstream ``dZ`` (m, out) and the forward's cache."""
    X, W = cache  # forward was: Z = X @ W.T + b
    dW = dZ.T @ X  # (out, in): sum over samples of dZ_i (outer) X_i
    db = dZ.sum(axis=0)  # (out,)
    dX = dZ @ W  # (m, in): the upstream gradient for the previous layer's output
    return dX, dW, db


def init_dense(n_in: int, n_out: int, rng: np.random.Generator,
               dtype=np.float64) -> tuple[Array, Array]:
    """nn.Linear's default initialization: W and b uniform on ``[-1/√n_in, 1/√n_in]``.

    (torch's ``kaiming_uniform_(a=√5)`` on the weight works out to this same bound.)
    Returns ``W`` of shape ``(n_out, n_in)`` and ``b`` of shape ``(n_out,)``, in ``dtype``.
    """
    bound = 1.0 / math.sqrt(n_in)
    W = rng.uniform(-bound, bound, size=(n_out, n_in)).astype(dtype)
    b = rng.uniform(-bound, bound, size=(n_out,)).astype(dtype)
    return W, b
