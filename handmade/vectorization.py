"""The logistic neuron's gradient three ways: two loops, one loop, no loop (seed 001).

All three compute, for X (m, n), labels y (m,), weights w (n,) and bias b::

    a_i = sigmoid(w · x_i + b)
    dW_j = (1/m) Σ_i (a_i - y_i) x_ij          db = (1/m) Σ_i (a_i - y_i)

``gradient_double_loop`` walks samples and, inside, weights (scalar Python arithmetic);
``gradient_sample_loop`` walks samples with vector operations over the weights;
``gradient_vectorized`` is the matrix form ``(A - Y)ᵀ X / m`` of ``LogisticNeuron``.
``benchmarks/vectorization.py`` times them at m = 10 000, n = 100.
"""

from __future__ import annotations

import math

import numpy as np

from handgrad.handmade.activations import sigmoid


def _sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def gradient_double_loop(w, b, X, y) -> tuple[np.ndarray, float]:
    """Loop over samples i and, inside, over weights j; returns ``(dW (n,), db)``."""
    m, n = len(X), len(w)
    dW, db = [0.0] * n, 0.0
    for i in range(m):
        z = b
        for j in range(n):
            z += w[j] * X[i][j]
        err = _sig(z) - y[i]  # a_i - y_i
        for j in range(n):
            dW[j] += err * X[i][j]
        db += err
    return np.array(dW) / m, db / m


def gradient_sample_loop(w, b, X, y) -> tuple[np.ndarray, float]:
    """Loop over samples, vector operations over the weights; returns ``(dW (n,), db)``."""
    m = X.shape[0]
    dW, db = np.zeros_like(w), 0.0
    for i in range(m):
        err = _sig(float(X[i] @ w + b)) - y[i]
        dW += err * X[i]
        db += err
    return dW / m, db / m


def gradient_vectorized(w, b, X, y) -> tuple[np.ndarray, float]:
    """No loop: ``dW = (A - Y)ᵀ X / m``, ``db = mean(A - Y)``."""
    err = sigmoid(X @ w + b) - y  # (m,)
    return err @ X / X.shape[0], float(np.mean(err))
