"""A broken backward, loss or argument is reported (or is a clear error), never a crash.

The models here raise, drop a key, transpose a gradient, double the loss, corrupt a delta,
or fail only off the base point; the verifier must put each in its report.
"""

import numpy as np
import pytest

from handgrad import handmade
from handgrad.compare import assert_gradients_match, check_gradients
from handgrad.compare.check.suite import make_data
from handgrad.torch_ref import TorchMLP


class Raises(handmade.MLP):
    def loss_and_grads(self, X, y):
        raise ZeroDivisionError("backward blew up")


class MissingBias(handmade.MLP):
    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        del grads["layers.1.bias"]
        return loss, grads


class WrongShape(handmade.MLP):
    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        grads["layers.0.weight"] = grads["layers.0.weight"].T  # (in, out) instead of (out, in)
        return loss, grads


class WrongLoss(handmade.MLP):
    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        return 2.0 * loss, grads


class WrongDeltaOnly(handmade.MLP):
    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        self.deltas[1] = -self.deltas[1]  # a bookkeeping bug: the grads are still right
        return loss, grads


@pytest.mark.parametrize("cls, failures, note", [
    (Raises, ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"],
     "ZeroDivisionError"),
    (MissingBias, ["layers.1.bias"], "missing"),
    (WrongShape, ["layers.0.weight"], "shape"),
    (WrongLoss, [], None),
    (WrongDeltaOnly, [], None),
], ids=["raises", "missing-key", "wrong-shape", "wrong-loss-value", "wrong-delta"])
def test_broken_backward_is_reported_not_raised(cls, failures, note):
    model = cls([3, 5, 2], ["tanh", "identity"], "mse")
    X, y = make_data(model, "mse")
    report = check_gradients(model, X, y)
    assert not report.ok
    assert report.failures == failures
    if note is not None:
        assert any(note in e.note for e in report.entries if not e.ok)
    if cls is WrongDeltaOnly:
        assert report.first_bad_layer == 1
    if cls is WrongLoss:
        assert [e.name for e in report.entries if not e.ok] == ["loss"]


def test_assert_gradients_match_raises_with_the_table():
    model = MissingBias([3, 5, 2], ["tanh", "identity"], "mse")
    X, y = make_data(model, "mse")
    with pytest.raises(AssertionError, match="layers.1.bias"):
        assert_gradients_match(model, X, y)
    good = handmade.MLP([3, 5, 2], ["tanh", "identity"], "mse")
    assert assert_gradients_match(good, X, y).ok


def test_user_object_with_only_params_and_loss_and_grads_needs_a_torch_model():
    """Not an MLP: a plain object wrapping a linear model, checked against a given twin."""

    class Plain:
        def __init__(self):
            self.params = {"layers.0.weight": np.array([[0.5, -1.0]]),
                           "layers.0.bias": np.array([0.25])}

        def loss_and_grads(self, X, y):
            W, b = self.params["layers.0.weight"], self.params["layers.0.bias"]
            r = X @ W.T + b - y.reshape(-1, 1)  # (m, 1) residual
            m = X.shape[0]
            return float(np.mean(r**2)), {"layers.0.weight": 2 * r.T @ X / m,
                                          "layers.0.bias": 2 * r.sum(axis=0) / m}

    X, y = np.random.default_rng(0).standard_normal((5, 2)), np.arange(5.0)
    with pytest.raises(TypeError, match="torch_model"):
        check_gradients(Plain(), X, y)
    twin = TorchMLP([2, 1], ["identity"], "mse")
    report = check_gradients(Plain(), X, y, torch_model=twin)
    assert report.ok, report
    assert report.first_bad_layer is None  # no deltas offered: nothing to localize with
    assert not any(e.kind == "delta" for e in report.entries)


def test_loss_failing_at_a_perturbed_point_is_reported():
    class FragileLoss(handmade.MLP):
        def loss_value(self, X, y):  # what finite differences call
            raise FloatingPointError("loss blew up off the base point")

    model = FragileLoss([3, 4, 2], ["tanh", "identity"], "mse")
    X, y = make_data(model, "mse")
    report = check_gradients(model, X, y)
    assert not report.ok and report.failures == []  # the gradients themselves agree
    assert any("FloatingPointError" in e.note for e in report.entries)


def test_loss_as_a_one_element_array_is_accepted():
    class ArrayLoss(handmade.MLP):
        def loss_and_grads(self, X, y):
            loss, grads = super().loss_and_grads(X, y)
            return np.array([loss]), grads

    model = ArrayLoss([3, 4, 2], ["tanh", "identity"], "mse")
    report = check_gradients(model, *make_data(model, "mse"))
    assert report.ok, report


def test_unknown_fd_method_is_a_value_error():
    model = handmade.MLP([3, 4, 2], ["tanh", "identity"], "mse")
    with pytest.raises(ValueError, match="fd must be"):
        check_gradients(model, *make_data(model, "mse"), fd="forward")


def test_the_checker_never_raises_under_strict_floating_point_settings():
    """A saturated logistic neuron (z ~ 1e4): the closed form (A - Y)/m is exact while
    torch's BCELoss backward divides by max(p(1-p), 1e-12) and returns 0 there, so the
    two disagree; the checker must report that, not raise inside its own arithmetic."""
    import warnings

    model = handmade.LogisticNeuron(2)
    model.params["layers.0.weight"][...] = [[1.0, 1.0]]
    model.params["layers.0.bias"][...] = [0.0]
    X = np.array([[1e4, 1e4], [-1e4, -1e4]])  # z = ±2e4: both samples confidently wrong
    with np.errstate(over="raise", divide="raise", invalid="raise"), \
            warnings.catch_warnings():
        warnings.simplefilter("error")
        report = check_gradients(model, X, np.array([0.0, 1.0]), fd=None)
    assert not report.ok and "layers.0.weight" in report.failures
