"""Binary cross-entropy: -log of the label's probability, and the logistic neuron's bowl.

Witnesses: math.log written out, torch autograd's Hessian, and the loss along a descent.
The pages: docs/derivations/logistic_neuron.md, "What the loss rewards" and "The bowl".
"""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from handgrad import handmade
from handgrad.compare.datasets import load


@pytest.mark.parametrize(("a", "y", "expected"), [
    (0.9, 1.0, -math.log(0.9)), (0.5, 1.0, math.log(2.0)), (0.1, 1.0, -math.log(0.1)),
    (0.01, 1.0, -math.log(0.01)), (0.9, 0.0, -math.log(0.1)), (0.1, 0.0, -math.log(0.9)),
], ids=["y1-a0.9", "y1-a0.5", "y1-a0.1", "y1-a0.01", "y0-a0.9", "y0-a0.1"])
def test_bce_is_minus_log_of_the_probability_of_the_label(a, y, expected):
    value = handmade.get_loss("bce").value(np.array([[a]]), np.array([y]), "mean")
    # tolerance: log1p(-a) against log(1 - a), a few ulps
    assert value == pytest.approx(expected, rel=1e-14)


def test_the_pages_numbers_are_these_logs():
    text = (Path(__file__).resolve().parents[2] / "docs" / "derivations"
            / "logistic_neuron.md").read_text()
    for a in (0.9, 0.5, 0.1, 0.01):
        assert f"$a = {a}$" in text, a
        assert f"${-math.log(a):.3f}$" in text, a


def seed000() -> tuple[np.ndarray, np.ndarray]:
    data = load("seed000")
    return data.X_train, data.y_train


def torch_hessian(X: np.ndarray, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Autograd's Hessian of the mean BCE in ``theta = (W, b)``, (n + 1, n + 1)."""
    Xt = torch.tensor(np.hstack([X, np.ones((len(X), 1))]))
    yt = torch.tensor(y, dtype=torch.float64)

    def loss(t):  # the formula itself (torch's BCELoss adds a 1e-12 floor in its backward)
        p = torch.sigmoid(Xt @ t)
        return -(yt * torch.log(p) + (1 - yt) * torch.log(1 - p)).mean()
    return torch.autograd.functional.hessian(loss, torch.tensor(theta)).numpy()


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["start0", "start1", "start2"])
def test_hessian_of_bce_is_the_weighted_outer_product_and_never_negative(seed):
    X, y = seed000()
    # small weights keep |z| < ~3: away from saturation, where autograd's 1 - p loses
    # digits (its relative error grows like 1e-16 / (1 - p))
    theta = 0.2 * np.random.default_rng(seed).standard_normal(X.shape[1] + 1)
    X1 = np.hstack([X, np.ones((len(X), 1))])  # x~ = (x, 1): the bias as one more weight
    a = 1.0 / (1.0 + np.exp(-(X1 @ theta)))
    closed = (X1.T * (a * (1 - a))) @ X1 / len(X)  # (1/m) sum_i a_i(1 - a_i) x~_i^T x~_i
    hessian = torch_hessian(X, y, theta)
    # tolerance: float64 sums of a handful of terms; autograd's path through
    # (p - y) / (p (1 - p)) rounds at ~1e-16 / (1 - p), far below 1e-12 for these p
    np.testing.assert_allclose(closed, hessian, rtol=1e-12, atol=1e-15)
    # never negative: the smallest eigenvalue is 0 up to rounding (rank <= m = 2 < 4)
    assert np.linalg.eigvalsh(hessian).min() > -1e-12 * np.abs(hessian).max()


def test_gradient_descent_goes_down_the_bowl():
    """From several starts, every step of a small-lr descent lowers the loss."""
    X, y = seed000()
    for seed in range(3):
        neuron = handmade.LogisticNeuron(X.shape[1], seed=seed)
        losses = []
        for _ in range(50):
            loss, grads = neuron.loss_and_grads(X, y)
            losses.append(loss)
            handmade.sgd_step(neuron.params, grads, lr=0.05)
        assert all(b < a for a, b in zip(losses, losses[1:], strict=False)), seed
