"""Seed 001's lesson: the loops and the vectorized gradient compute the same numbers."""

import numpy as np
import pytest
import torch

from handgrad import handmade
from handgrad.handmade.vectorization import (
    gradient_double_loop,
    gradient_sample_loop,
    gradient_vectorized,
)


@pytest.mark.parametrize("m, n", [(1, 1), (7, 3), (200, 12)], ids=["1x1", "7x3", "200x12"])
def test_loop_and_vectorized_gradients_agree(m, n):
    rng = np.random.default_rng(m * 100 + n)
    X, y = rng.standard_normal((m, n)), (rng.random(m) < 0.5).astype(float)
    w, b = rng.standard_normal(n), 0.3
    # the witness: torch autograd of the mean binary cross-entropy
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(X) @ wt + bt, torch.tensor(y)).backward()
    results = {"double": gradient_double_loop(w.tolist(), b, X.tolist(), y.tolist()),
               "sample": gradient_sample_loop(w, b, X, y),
               "vectorized": gradient_vectorized(w, b, X, y)}
    neuron = handmade.LogisticNeuron(n)
    neuron.params["layers.0.weight"][...] = w
    neuron.params["layers.0.bias"][...] = b
    _, grads = neuron.loss_and_grads(X, y)
    results["LogisticNeuron"] = (grads["layers.0.weight"][0], grads["layers.0.bias"][0])
    for name, (dW, db) in results.items():
        # float64 sums of m terms in different orders: ~m eps relative; 1e-12 is ample
        np.testing.assert_allclose(dW, wt.grad.numpy(), rtol=1e-12, atol=1e-15, err_msg=name)
        assert db == pytest.approx(bt.grad.item(), rel=1e-12, abs=1e-15), name


def test_scalar_sigmoid_of_the_loops_is_safe_at_both_ends():
    from handgrad.handmade.vectorization import _sig

    # exp(800) overflows a Python float: each branch must only ever see exp of -|z|
    assert _sig(800.0) == 1.0 and _sig(-800.0) == 0.0
    assert _sig(0.0) == 0.5
