"""Code that returns a lower precision than its inputs is judged at that precision.

A layer or model given float64 inputs that returns float32 (or float16) outputs and
gradients carries that precision's rounding: it passes in every door, with and without a
torch reference, with one report line saying so; the same code with a factor 2 slipped in
still fails. The witness is torch autograd and finite differences in float64.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handgrad.compare.check.layer import check_layer
from handgrad.compare.check.model import check_model
from handgrad.compare.check.objects import check_object

RNG = np.random.default_rng(0)
X = RNG.standard_normal((5, 4))
W = RNG.standard_normal((4, 3))
Y = RNG.standard_normal((5, 3))


def _layer(low, slip: float = 1.0):
    def forward(x, w):
        return (x @ w).astype(low), (x, w)

    def backward(dout, cache):
        x, w = cache
        return (dout @ w.T).astype(low), (slip * (x.T @ dout)).astype(low)
    return forward, backward


def _torch_layer(x, w):
    return x @ w


class Dense:
    """Convention a: forward returns the output, gradients in a dict, in ``low``."""

    def __init__(self, low, slip=1.0):
        self.parameters = {"W": W.copy()}
        self.gradients = {"W": np.zeros_like(W)}
        self.low = low
        self.slip = slip

    def forward(self, x):
        self.x = x
        return (x @ self.parameters["W"]).astype(self.low)

    def backward(self, dout):
        self.gradients["W"] = (self.slip * (self.x.T @ dout)).astype(self.low)
        return (dout @ self.parameters["W"].T).astype(self.low)


def _model(low, slip=1.0):
    params = {"W": W.copy()}

    def loss_and_grads(X_, y_):
        residual = X_ @ params["W"] - y_
        loss = np.asarray(0.5 * np.mean(np.sum(residual**2, axis=1)), low)
        return loss, {"W": (slip * X_.T @ residual / len(X_)).astype(low)}

    def torch_loss(p, X_t, y_t):
        return 0.5 * ((X_t @ p["W"] - y_t) ** 2).sum(1).mean()
    return params, loss_and_grads, torch_loss


def _run(door: str, low, with_torch: bool, slip: float = 1.0):
    if door == "check_layer":
        forward, backward = _layer(low, slip)
        return check_layer(forward, backward, {"x": X, "w": W},
                           _torch_layer if with_torch else None)
    if door == "check_object":
        def torch_fn(p, x):
            return x @ p["W"]
        return check_object(Dense(low, slip), {"x": X}, torch_fn if with_torch else None)
    params, loss_and_grads, torch_loss = _model(low, slip)
    return check_model(params, loss_and_grads, X, Y, torch_loss if with_torch else None)


DOORS = ["check_layer", "check_object", "check_model"]
LOWS = [pytest.param(np.float32, id="float32"), pytest.param(np.float16, id="float16")]
TORCH = [pytest.param(True, id="torch"), pytest.param(False, id="fd-only")]


@pytest.mark.parametrize("with_torch", TORCH)
@pytest.mark.parametrize("low", LOWS)
@pytest.mark.parametrize("door", DOORS)
def test_correct_code_in_a_lower_precision_passes_with_a_note(door, low, with_torch):
    report = _run(door, low, with_torch)
    name = np.dtype(low).name
    assert report.verdict == "pass", str(report)
    assert "for float64 " in str(report) and f"judged at {name} rounding" in str(report)


@pytest.mark.parametrize("with_torch", TORCH)
@pytest.mark.parametrize("low", LOWS)
@pytest.mark.parametrize("door", DOORS)
def test_a_factor_two_still_fails_in_a_lower_precision(door, low, with_torch):
    report = _run(door, low, with_torch, slip=2.0)
    if door == "check_model" and low is np.float16 and not with_torch:
        # the loss itself comes back in float16 (1e-3 relative rounding, ~5e-3 here):
        # differences of it cannot resolve the gradient, and say so; never a pass
        assert report.verdict == "inconclusive", str(report)
        assert "cannot resolve" in report.entry("W").reason
        return
    assert report.verdict == "fail", str(report)
    assert report.failures == ["w" if door == "check_layer" else "W"], str(report)


def test_the_note_names_who_returned_the_lower_precision():
    forward, backward = _layer(np.float32)
    report = check_layer(forward, backward, {"x": X, "w": W}, _torch_layer)
    assert ("forward and backward return float32 for float64 inputs: judged at float32 "
            "rounding") in report.notes


def test_float64_code_gets_no_precision_note():
    def forward(x, w):
        return x @ w, (x, w)

    def backward(dout, cache):
        return dout @ cache[1].T, cache[0].T @ dout
    report = check_layer(forward, backward, {"x": X, "w": W}, lambda x, w: x @ w)
    assert report.ok and not any("judged at" in note for note in report.notes)


def test_torch_reference_is_float64_whatever_the_code_returns():
    seen = []

    def torch_fn(x, w):
        seen.append(x.dtype)
        return x @ w
    forward, backward = _layer(np.float32)
    check_layer(forward, backward, {"x": X, "w": W}, torch_fn)
    assert seen[0] == torch.float64 and torch.float32 in seen  # the reference, its rounding
