"""Parameter updates written by hand.

``sgd_step`` is plain gradient descent, ``theta <- theta - lr * dL/dtheta``, applied in
place to every entry of a ``params`` dict (shapes as in ``MLP.params``).
"""

from __future__ import annotations

import numpy as np


def sgd_step(params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float) -> None:
    """In place: ``params[k] -= lr * grads[k]`` for every key; the dtype is kept."""
    missing = set(params) ^ set(grads)
    if missing:
        raise ValueError(f"params and grads must have the same keys; differing: {sorted(missing)}")
    for key, p in params.items():
        p -= lr * grads[key]
