"""float32 code is checked in float64 too: a slip below float32's rounding still fails.

The planted slip in each test is a gradient term the loss does not have, 1e-6 of the
weights (the gradient of a regularizer ``0.5e-6 ||W||²`` that the loss forgot): about 1e-5
of the gradient, below what float32 rounding lets a check in float32 alone resolve, and
1e5 times float64's tolerance. The witness that the slip is invisible in float32 alone is
the float32-only check itself (``_check`` / ``_check_model``), run on the same code.
"""

from __future__ import annotations

import numpy as np
import torch.nn.functional as F

from handgrad import handmade
from handgrad.compare import check_gradients, check_layer, check_model
from handgrad.compare.check import gradcheck
from handgrad.compare.check import model as model_door

SLIP = 1e-6


class ForgotTheRegLoss(handmade.MLP):
    """Adds ``SLIP * W`` to the first weight's gradient, with no matching loss term."""

    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        grads = dict(grads)
        w = self.params["layers.0.weight"]
        grads["layers.0.weight"] = grads["layers.0.weight"] + (SLIP * w).astype(w.dtype)
        return loss, grads


def _data(dtype):
    rng = np.random.default_rng(3)
    return rng.standard_normal((16, 5)).astype(dtype), rng.integers(0, 3, 16)


def test_the_slip_hides_under_float32_rounding_and_fails_in_float64():
    model = ForgotTheRegLoss([5, 7, 3], ["tanh", "identity"], "cross_entropy",
                             dtype=np.float32, seed=1)
    X, y = _data(np.float32)
    alone = gradcheck._run_check(gradcheck.GradientsCheck(model, X, y))  # float32 only
    assert alone.entry("layers.0.weight").status == "pass", alone  # the blind spot
    report = check_gradients(model, X, y)
    entry = report.entry("layers.0.weight")
    assert entry.status == "fail" and "fails in float64 too" in entry.note, report
    assert report.float64.entry("layers.0.weight").status == "fail"
    assert report.entry("layers.1.weight").status == "pass", report


def test_a_correct_float32_model_passes_with_its_float64_check():
    model = handmade.MLP([5, 7, 3], ["tanh", "identity"], "cross_entropy", dtype=np.float32)
    X, y = _data(np.float32)
    report = check_gradients(model, X, y)
    assert report.verdict == "pass" and report.float64.verdict == "pass", report
    assert any("checked in float64 too" in n for n in report.notes)
    assert model.params["layers.0.weight"].dtype == np.float32  # the model is not changed


def _user_net(params, slip=0.0, cast=False):
    def loss_and_grads(X, y):
        W, b = params["W"], params["b"]
        if cast:  # code written for float32 only
            W, b, X = W.astype(np.float32), b.astype(np.float32), X.astype(np.float32)
        s = X @ W + b
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(len(y)), y]).mean()
        d = p.copy()
        d[np.arange(len(y)), y] -= 1
        d /= len(y)
        return loss, {"W": X.T @ d + slip * W, "b": d.sum(0)}
    return loss_and_grads


def _torch_loss(p, X, y):
    return F.cross_entropy(X @ p["W"] + p["b"], y.long())


def _params():
    rng = np.random.default_rng(0)
    return {"W": rng.standard_normal((5, 3)).astype(np.float32),
            "b": rng.standard_normal(3).astype(np.float32)}


def test_check_model_swaps_in_float64_arrays_and_puts_the_originals_back():
    params = _params()
    originals = dict(params)
    X, y = _data(np.float32)
    loss = _user_net(params, slip=SLIP)
    alone = model_door._run_check(model_door.ModelCheck(params, loss, X, y, _torch_loss))
    assert alone.entry("W").status == "pass", alone  # invisible in float32
    report = check_model(params, loss, X, y, _torch_loss)
    assert report.entry("W").status == "fail" and "float64 too" in report.entry("W").note
    assert all(params[k] is originals[k] for k in params)  # the very same arrays
    assert all(v.dtype == np.float32 for v in params.values())


def test_code_that_runs_only_in_float32_says_what_it_cannot_resolve():
    params = _params()
    X, y = _data(np.float32)
    report = check_model(params, _user_net(params, cast=True), X, y, _torch_loss)
    assert report.float64 is None and report.verdict == "pass", report
    assert any("runs only in float32" in n and "cannot be told from rounding" in n
               for n in report.notes), report


def test_check_layer_checks_float32_inputs_in_float64_too():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((6, 4)).astype(np.float32), rng.standard_normal((4, 3))

    def forward(x, w):
        return x @ w, (x, w)

    def backward(dout, cache):
        x, w = cache
        return dout @ w.T, x.T @ dout + SLIP * w  # a term the forward does not have

    report = check_layer(forward, backward, {"x": x, "w": w.astype(np.float32)},
                         lambda x, w: x @ w)
    assert report.entry("w").status == "fail", report
    assert report.entry("x").status == "pass", report
    assert report.float64 is not None
