"""A dense (fully connected) layer as a pure forward/backward pair, exactly ``nn.Linear``.

Forward::

    Z = X @ W.T + b        X (m, in), W (out, in), b (out,), Z (m, out)

Backward, given the upstream ``dZ = dL/dZ`` of shape ``(m, out)``::

    dW = dZ.T @ X          (out, in)   dZ_ij = dL/dZ_ij, dZ_ij/dW_jk = X_ik
    db = sum_i dZ_i        (out,)      dZ_ij/db_j = 1
    dX = dZ @ W            (m, in)     dZ_ij/dX_ik = W_jk

The loss's reduction (1/m for a mean) is already inside ``dZ``, so no averaging here.

``dense_backward`` runs these lines as written, and an ``MLP`` trains through them by
default. Given arrays to write into (``out``: ``MLP(..., inplace_grads=True)`` opts in), it
hands the same two products to ``dense_grads_into``, a speed trick named as one: same bits.
"""

from __future__ import annotations

import math

import numpy as np

Array = np.ndarray


def dense_forward(X: Array, W: Array, b: Array) -> tuple[Array, tuple[Array, Array]]:
    """``Z = X @ W.T + b``; the cache keeps what the backward needs: ``(X, W)``."""
    Z = X @ W.T + b  # (m, out)
    return Z, (X, W)


def dense_backward(dZ: Array, cache: tuple[Array, Array], need_dX: bool = True,
                   out: tuple[Array, Array] | None = None) -> tuple[Array | None, Array, Array]:
    """``(dX, dW, db)`` from the upstream ``dZ`` (m, out) and the forward's cache.

    ``need_dX=False`` skips ``dX`` (returns None): the first layer's input is the data,
    whose gradient nobody needs, and it would cost as much as ``dW``. ``out=(dW, db)``
    writes the gradients into those arrays (see ``dense_grads_into``) instead of new ones.
    """
    X, W = forward_cache(cache)  # forward was: Z = X @ W.T + b
    if out is None:
        dW = dZ.T @ X  # (out, in): sum over samples i of the outer product dZ_i X_i^T
        db = dZ.sum(axis=0)  # (out,)
    else:
        dW, db = dense_grads_into(dZ, X, out)
    dX = dZ @ W if need_dX else None  # (m, in): the upstream gradient for the layer below
    return dX, dW, db


def dense_grads_into(dZ: Array, X: Array, out: tuple[Array, Array]) -> tuple[Array, Array]:
    """A speed trick: ``dW`` and ``db`` written into the kept arrays ``out = (dW, db)``.

    Plain form (``dense_backward``'s own lines)::

        dW = dZ.T @ X          (out, in)
        db = dZ.sum(axis=0)    (out,)

    Writing straight into the kept arrays (as torch keeps ``.grad``) saves making a new
    ``dW``, and one sample takes ``outer_product_into``; ``benchmarks/inplace_grads.py``
    times whole training steps with and without it. Returns ``out``.
    """
    dW, db = out
    if dZ.shape[0] == 1:
        outer_product_into(dZ[0], X[0], dW)
    else:
        np.matmul(dZ.T, X, out=dW)
    np.sum(dZ, axis=0, out=db)
    return dW, db


def outer_product_into(dz: Array, x: Array, out: Array) -> Array:
    """A speed trick for one sample: the outer product ``dz x^T`` written into ``out``.

    Plain form: ``dW = dZ.T @ X`` with ``dZ = dz[None, :]`` (1, out) and ``X = x[None, :]``
    (1, in), i.e. ``dW_jk = dz_j x_k``. Each entry is one product, one rounding, so every
    way of writing it gives the same bits; einsum writes it 3-6x faster than BLAS's rank-1
    matmul and ~1.6x faster than the broadcast ``dz[:, None] * x``
    (``benchmarks/outer_product.py``). Returns ``out``, shape ``(out, in)``.
    """
    return np.einsum("j,k->jk", dz, x, out=out)


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


def forward_cache(cache) -> tuple[Array, Array]:
    """``cache`` as the ``(X, W)`` pair ``dense_forward`` returned (``dense_backward`` reads it).

    RuntimeError for None or an empty cache (backward called before forward), TypeError
    for anything else that is not such a pair.
    """
    if cache is None or (isinstance(cache, (tuple, list)) and len(cache) == 0):
        raise RuntimeError(f"backward called before forward: dense_backward needs the cache "
                           f"(X, W) that dense_forward returned, got {cache!r}")
    if not (isinstance(cache, (tuple, list)) and len(cache) == 2):
        raise TypeError(f"cache must be the (X, W) pair that dense_forward returned, got "
                        f"{type(cache).__name__} {cache!r:.60}")
    return cache[0], cache[1]
