"""The total derivative and the symmetry of equal hidden units (docs/derivations/backprop.md).

Witnesses: the sum over paths written out as a loop, and torch autograd; for the symmetry,
the same model with the two units made different (the control, which must diverge).
"""

import numpy as np
import pytest
import torch

from handgrad import handmade


def test_fan_out_gradients_add():
    """dL/dX of ``Z = X @ W.T + b`` is the sum, over the units X feeds, of each path's part."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 3))  # (m, in)
    W = rng.standard_normal((5, 3))  # (out, in): every input feeds 5 units
    dZ = rng.standard_normal((4, 5))  # a random upstream gradient, never all ones
    _, cache = handmade.dense_forward(X, W, np.zeros(5))
    dX, _, _ = handmade.dense_backward(dZ, cache)

    paths = np.zeros_like(X)
    for unit in range(5):  # path through unit l: dL/dZ_l * dZ_l/dX = dZ[:, l] W[l, :]
        paths += dZ[:, unit, None] * W[unit, None, :]

    X_t = torch.tensor(X, requires_grad=True)
    (torch.tensor(dZ) * (X_t @ torch.tensor(W).T)).sum().backward()
    # tolerance: 5 products summed in float64 in different orders, ~1e-15 relative
    np.testing.assert_allclose(dX, paths, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(dX, X_t.grad.numpy(), rtol=1e-13, atol=1e-14)


def hidden_rows_after_steps(same: bool, steps: int = 25) -> np.ndarray:
    """Seed 003's 3-2-1 sigmoid net, trained ``steps`` SGD steps; returns W1 (2, 3)."""
    model = handmade.MLP([3, 2, 1], ["sigmoid", "sigmoid"], "half_mse", seed=0)
    if same:  # unit 1 a copy of unit 0, incoming and outgoing
        model.params["layers.0.weight"][1] = model.params["layers.0.weight"][0]
        model.params["layers.0.bias"][1] = model.params["layers.0.bias"][0]
        model.params["layers.1.weight"][0, 1] = model.params["layers.1.weight"][0, 0]
    X = np.random.default_rng(1).standard_normal((8, 3))
    y = np.random.default_rng(2).uniform(size=8)
    for _ in range(steps):
        _, grads = model.loss_and_grads(X, y)
        handmade.sgd_step(model.params, grads, lr=0.5)
    return model.params["layers.0.weight"]


@pytest.mark.parametrize("same", [True, False], ids=["copies-stay-copies", "control-differs"])
def test_identical_hidden_units_stay_identical(same):
    W1 = hidden_rows_after_steps(same)
    gap = np.abs(W1[0] - W1[1]).max()
    if same:
        # tolerance: the two rows go through the same float64 operations; allow for a BLAS
        # that sums the two columns in different orders (a few ulps of values of order 1)
        assert gap < 1e-13
    else:
        assert gap > 1e-2  # two random units stay far apart
