"""Kinks found, not only declared: hand code may take any subgradient at a kink.

Where hand and a reference disagree only at entries that sit on a non-differentiable point
(the one-sided differences there disagree beyond their own error), the verdict is pass
with a note naming the entries. A slip at an entry that is not a kink, or a value at a
kink outside the one-sided interval, still fails. The witnesses: torch's own subgradient
choice (leaky_relu'(0) = slope, relu'(0) = 0, abs'(0) = 0) and the one-sided slopes
written out by hand (left = slope · dout, right = dout).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handgrad.compare.check.found_kinks import OneSided, one_sided
from handgrad.compare.check.layer import check_layer
from handgrad.compare.check.model import check_model
from handgrad.compare.check.objects import check_object

SLOPE = 0.01
ZEROS = [(0, 0), (2, 3), (4, 1)]


def _x() -> np.ndarray:
    x = np.random.default_rng(1).standard_normal((5, 4))
    for i, j in ZEROS:
        x[i, j] = 0.0
    return x


def leaky_forward(x):
    return np.where(x > 0, x, SLOPE * x), x


def leaky_backward_one_at_zero(dout, x):  # slope 1 at exactly 0; torch takes SLOPE
    return dout * np.where(x >= 0, 1.0, SLOPE)


def relu_forward(x):
    return np.maximum(x, 0.0), x


def relu_backward_one_at_zero(dout, x):  # 1 at 0; torch takes 0
    return dout * (x >= 0)


def abs_forward(x):
    return np.abs(x), x


def abs_backward_one_at_zero(dout, x):  # 1 at 0; torch takes 0
    return dout * np.where(x >= 0, 1.0, -1.0)


CASES = {
    "leaky-relu": (leaky_forward, leaky_backward_one_at_zero,
                   lambda x: torch.nn.functional.leaky_relu(x, SLOPE)),
    "relu": (relu_forward, relu_backward_one_at_zero, torch.relu),
    "abs": (abs_forward, abs_backward_one_at_zero, torch.abs),
}
TORCH = [pytest.param(True, id="torch"), pytest.param(False, id="fd-only")]


@pytest.mark.parametrize("with_torch", TORCH)
@pytest.mark.parametrize("case", list(CASES))
def test_another_subgradient_at_a_kink_passes_with_a_note(case, with_torch):
    forward, backward, torch_fn = CASES[case]
    report = check_layer(forward, backward, {"x": _x()}, torch_fn if with_torch else None)
    assert report.verdict == "pass", str(report)
    note = report.entry("x").note
    assert note.startswith("kinks found at ") and "valid subgradient" in note
    for position in ZEROS:
        assert str(position) in note
    assert "torch reference compute the same" not in note  # torch is not blamed


def _slip_at(index):
    def backward(dout, x):
        grad = leaky_backward_one_at_zero(dout, x)
        grad[index] *= 2.0  # a real slip
        return grad
    return backward


@pytest.mark.parametrize("with_torch", TORCH)
def test_a_slip_at_an_entry_that_is_not_a_kink_still_fails(with_torch):
    torch_fn = CASES["leaky-relu"][2] if with_torch else None
    report = check_layer(leaky_forward, _slip_at((1, 1)), {"x": _x()}, torch_fn)
    assert report.verdict == "fail", str(report)
    assert "kinks found" not in report.entry("x").note


@pytest.mark.parametrize("with_torch", TORCH)
def test_a_value_at_a_kink_outside_the_one_sided_interval_still_fails(with_torch):
    def backward(dout, x):  # 5 at 0, where left = 0.01 dout and right = dout
        return dout * np.where(x > 0, 1.0, np.where(x < 0, SLOPE, 5.0))
    torch_fn = CASES["leaky-relu"][2] if with_torch else None
    report = check_layer(leaky_forward, backward, {"x": _x()}, torch_fn)
    assert report.verdict == "fail", str(report)


def test_a_declared_kink_and_a_found_one_pass_together():
    forward, backward, torch_fn = CASES["leaky-relu"]
    report = check_layer(forward, backward, {"x": _x()}, torch_fn, kinks=lambda x: x)
    assert report.verdict == "pass", str(report)


def test_a_model_whose_relu_takes_one_at_zero_passes():
    X = np.random.default_rng(2).standard_normal((6, 3))
    params = {"W": np.random.default_rng(3).standard_normal((3, 4))}
    params["W"][:, 0] = 0.0  # every pre-activation of unit 0 at exactly 0: W's column 0
    y = np.random.default_rng(4).standard_normal((6, 4))

    def loss_and_grads(X_, y_):
        Z = X_ @ params["W"]
        A = np.maximum(Z, 0.0)
        loss = 0.5 * np.sum((A - y_) ** 2) / len(X_)
        dZ = (A - y_) / len(X_) * (Z >= 0)  # 1 at 0; torch takes 0
        return loss, {"W": X_.T @ dZ}

    def torch_loss(p, X_t, y_t):
        return 0.5 * ((torch.relu(X_t @ p["W"]) - y_t) ** 2).sum() / len(X_t)
    report = check_model(params, loss_and_grads, X, y, torch_loss)
    assert report.verdict == "pass", str(report)
    assert report.entry("W").note.startswith("kinks found at ")


@pytest.mark.parametrize(("x0", "left", "right"), [
    pytest.param(0.0, SLOPE, 1.0, id="at-the-kink"),
    pytest.param(-0.5, SLOPE, SLOPE, id="left-of-it"),
    pytest.param(0.5, 1.0, 1.0, id="right-of-it"),
])
def test_one_sided_differences_of_a_leaky_relu(x0, left, right):
    theta = np.array([x0])

    def f() -> float:
        return float(leaky_forward(theta)[0][0])
    side = one_sided(f, theta, 0, np.finfo(np.float64).eps)
    # tolerance: each side is a difference quotient of a linear piece, exact but for the
    # rounding of f (about eps / h relative, h = FD_STEP · max(1, |x0|)), far below 1e-8
    assert side.left == pytest.approx(left, rel=1e-8)
    assert side.right == pytest.approx(right, rel=1e-8)
    assert side.kink == (left != right)
    assert theta[0] == x0  # restored


def test_the_interval_holds_values_between_the_sides_only():
    side = OneSided(left=0.01, right=1.0, error=1e-10)
    assert side.holds(0.01) and side.holds(0.5) and side.holds(1.0)
    assert not side.holds(5.0) and not side.holds(-0.5)


class LeakyReLU:
    """A layer object whose backward takes slope 1 at exactly 0 (torch: SLOPE)."""

    def forward(self, x):
        self.x = x
        return np.where(x > 0, x, SLOPE * x)

    def backward(self, dout):
        return dout * np.where(self.x >= 0, 1.0, SLOPE)


@pytest.mark.parametrize("with_torch", TORCH)
def test_a_layer_object_at_a_kink_passes_with_a_note(with_torch):
    def torch_fn(p, x):
        return torch.nn.functional.leaky_relu(x, SLOPE)
    report = check_object(LeakyReLU(), {"x": _x()}, torch_fn if with_torch else None,
                          params={}, grads={})
    assert report.verdict == "pass", str(report)
    assert report.entry("x").note.startswith("kinks found at ")
