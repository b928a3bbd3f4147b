"""Every failure explained: a diagnosis in every door and without torch, the batch size
named, an output mismatch said first, the user's exceptions named, a float loss taken,
and a forward that writes into the caller's batch refused by check_gradients too.

Each expected message is written out here; the planted slips (a forgotten 1/m, a 3 where
forward has a 2, an exception) are the witnesses.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch  # noqa: F401 (torch_fn's tensors)

from handgrad.compare.check.gradcheck import check_gradients
from handgrad.compare.check.layer import check_layer
from handgrad.compare.check.model import check_model
from handgrad.compare.check.user_calls import ObjectCallError
from handgrad.handmade.mlp import MLP

M = 5
X = np.random.default_rng(0).standard_normal((M, 4))
Y = np.random.default_rng(1).standard_normal((M, 4))


def mean_forward(x):
    return np.mean(x**2, axis=0), x


def mean_backward_without_1_over_m(dout, x):  # the 1/m of the mean forgotten
    return 2 * x * dout


def torch_mean(x):
    return (x**2).mean(0)


TORCH = [pytest.param(True, id="torch"), pytest.param(False, id="fd-only")]


@pytest.mark.parametrize("with_torch", TORCH)
def test_check_layer_names_the_batch_size_in_its_diagnosis(with_torch):
    report = check_layer(mean_forward, mean_backward_without_1_over_m, {"x": X},
                         torch_mean if with_torch else None)
    reference = "autograd" if with_torch else "finite differences"
    assert report.entry("x").diagnosis == (
        f"hand = 5.000 × {reference} with m = 5: the 1/m of the mean is missing (the "
        "gradient of the sum)")


def _model(slip: float):
    params = {"W": np.random.default_rng(2).standard_normal((4, 4))}

    def loss_and_grads(X_, y_):
        residual = X_ @ params["W"] - y_
        loss = 0.5 * np.sum(residual**2) / len(X_)
        return loss, {"W": slip * X_.T @ residual / len(X_)}

    def torch_loss(p, X_t, y_t):
        return 0.5 * ((X_t @ p["W"] - y_t) ** 2).sum() / len(X_t)
    return params, loss_and_grads, torch_loss


@pytest.mark.parametrize("with_torch", TORCH)
def test_check_model_diagnoses_with_and_without_torch(with_torch):
    params, loss_and_grads, torch_loss = _model(slip=M)  # the gradient of the sum
    report = check_model(params, loss_and_grads, X, Y, torch_loss if with_torch else None)
    assert report.verdict == "fail"
    assert "with m = 5: the 1/m of the mean is missing" in report.entry("W").diagnosis


def test_finite_differences_along_directions_still_name_a_factor():
    report = check_layer(mean_forward, mean_backward_without_1_over_m, {"x": X}, None,
                         fd="directions")
    assert report.entry("x").diagnosis.startswith("hand = 5.000 × finite differences")


def test_an_output_mismatch_is_said_first_and_alone():
    def forward(x):
        return 2 * x, x

    def backward(dout, x):
        return 2 * dout
    report = check_layer(forward, backward, {"x": X}, lambda x: 3 * x)
    text = str(report)
    assert report.verdict == "fail"
    assert report.entry("output").note.startswith(
        "forward and torch_fn disagree on the output: relative error 3.3e-01")
    assert "gradients were not compared with autograd" in report.entry("output").note
    assert "kinks=" not in text and "gradients that disagree: none" not in text
    assert report.entry("x").ok  # finite differences of the code's own forward agree
    assert text.splitlines()[-1].startswith("what fails: ['output']")


def test_an_output_mismatch_without_finite_differences_compares_no_gradient():
    report = check_layer(lambda x: (2 * x, x), lambda d, x: 2 * d, {"x": X}, lambda x: 3 * x,
                         fd=None)
    assert report.entry("output").note.endswith("gradients were not compared")
    assert report.entry("x").status == "inconclusive"


def test_a_loss_mismatch_in_check_model_is_said_first():
    params, loss_and_grads, _ = _model(slip=1.0)

    def other_loss(p, X_t, y_t):
        return ((X_t @ p["W"] - y_t) ** 2).sum()
    report = check_model(params, loss_and_grads, X, Y, other_loss)
    assert report.entry("loss").note.startswith(
        "loss_and_grads and torch_loss disagree on the loss")
    assert report.entry("W").ok  # finite differences of loss_and_grads agree


def _raises(exc_type, text):
    def broken(*args, **kwargs):
        raise exc_type(text)
    return broken


@pytest.mark.parametrize(("where", "side", "call"), [
    pytest.param("forward", "your forward raised ValueError: boom",
                 "in the call forward(x: float64 (5, 4))", id="forward"),
    pytest.param("backward", "your backward raised ValueError: boom",
                 "in the call backward(dout: float64 (4,)) with a random dout", id="backward"),
    pytest.param("torch_fn", "torch_fn (the torch reference) raised ValueError: boom",
                 "in the call torch_fn(x: float64 (5, 4))", id="torch_fn"),
])
def test_an_exception_in_check_layer_names_its_side_and_call(where, side, call):
    parts = {"forward": mean_forward, "backward": mean_backward_without_1_over_m,
             "torch_fn": torch_mean}
    parts[where] = _raises(ValueError, "boom")
    with pytest.raises(ObjectCallError) as raised:
        check_layer(parts["forward"], parts["backward"], {"x": X}, parts["torch_fn"])
    assert str(raised.value) == f"{side}\n    {call}"
    assert isinstance(raised.value.__cause__, ValueError)


@pytest.mark.parametrize(("where", "side"), [
    pytest.param("loss_and_grads", "your loss_and_grads raised KeyError: 'b'", id="loss"),
    pytest.param("torch_loss", "torch_loss (the torch reference) raised KeyError: 'b'",
                 id="torch_loss"),
])
def test_an_exception_in_check_model_names_its_side_and_call(where, side):
    params, loss_and_grads, torch_loss = _model(slip=1.0)
    parts = {"loss_and_grads": loss_and_grads, "torch_loss": torch_loss}
    parts[where] = _raises(KeyError, "b")
    with pytest.raises(ObjectCallError) as raised:
        check_model(params, parts["loss_and_grads"], X, Y, parts["torch_loss"])
    assert str(raised.value).startswith(side + "\n    in the call ")
    assert isinstance(raised.value.__cause__, KeyError)


@pytest.mark.parametrize("as_float", [pytest.param(float, id="python-float"),
                                      pytest.param(np.asarray, id="0-d-array")])
def test_a_float_loss_is_taken_in_every_door(as_float):
    params, loss_and_grads, torch_loss = _model(slip=1.0)

    def float_loss(X_, y_):
        loss, grads = loss_and_grads(X_, y_)
        return as_float(loss), grads
    assert check_model(params, float_loss, X, Y, torch_loss).ok

    def forward(p, t):
        return as_float(0.5 * np.mean((p - t) ** 2)), (p, t)

    def backward(dout, cache):
        p, t = cache
        return dout * (p - t) / p.size
    report = check_layer(forward, backward, {"p": X, "t": Y},
                         lambda p, t: 0.5 * ((p - t) ** 2).mean(), no_grad=("t",))
    assert report.ok, str(report)

    model = _FloatLoss([4, 3, 2], ["relu", "identity"], "mse", seed=0)
    model.as_float = as_float
    assert check_gradients(model, X, Y[:, :2]).ok


class _FloatLoss(MLP):
    as_float = float

    def loss_and_grads(self, X_, y_):
        loss, grads = super().loss_and_grads(X_, y_)
        return self.as_float(loss), grads


class _CentersItsInput(MLP):
    def loss_and_grads(self, X_, y_):
        X_ -= X_.mean(axis=0)  # writes into the caller's X
        return super().loss_and_grads(X_, y_)


def test_check_gradients_refuses_a_forward_that_writes_into_x():
    model = _CentersItsInput([4, 3, 2], ["relu", "identity"], "mse", seed=0)
    batch = X + 3.0
    with pytest.raises(ValueError, match=r"loss_and_grads changed the data\['X'\] in place"):
        check_gradients(model, batch, Y[:, :2])

