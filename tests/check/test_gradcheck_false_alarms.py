"""The verifier does not call a right gradient wrong: a relu kink under finite differences,
a float32 twin's own rounding, float32 cancellation at a saturated softmax.
"""

import numpy as np
import torch

from handgrad import handmade
from handgrad.compare import check_gradients
from handgrad.compare.check.suite import make_data
from handgrad.torch_ref import TorchMLP


def test_given_float32_torch_twin_is_used_with_the_float32_tolerance():
    model = handmade.MLP([3, 4, 2], ["silu", "identity"], "mse")
    X, y = make_data(model, "mse")
    twin = TorchMLP([3, 4, 2], ["silu", "identity"], "mse", dtype=torch.float32, seed=5)
    report = check_gradients(model, X, y, torch_model=twin)
    assert report.ok, report
    # the twin now holds the hand parameters (rounded to float32)
    assert torch.equal(twin.layers[0].weight,
                       torch.as_tensor(model.params["layers.0.weight"], dtype=torch.float32))
    # and its float32 autograd is ~1e-7 away, which the float64 tolerance (1e-10) would reject
    assert max(e.autograd_rel_err for e in report.entries if e.kind == "param") > 1e-10


def _relu_net_on_a_kink():
    """A 2-3-1 relu net whose unit 0 sits exactly at z = 0 for sample 0."""
    model = handmade.MLP([2, 3, 1], ["relu", "identity"], "mse", seed=3)
    X = np.array([[0.5, -1.0], [1.0, 2.0], [-1.5, 0.5], [2.0, 1.0]])
    W = model.params["layers.0.weight"]
    model.params["layers.0.bias"][0] = -(X[0] @ W[0])  # Z[0, 0] = 0 up to rounding
    return model, X, np.array([1.0, -2.0, 0.5, 3.0])


def test_finite_difference_step_across_a_kink_is_reported_as_kink_not_failure():
    model, X, y = _relu_net_on_a_kink()
    report = check_gradients(model, X, y)
    assert report.ok, report  # at z = 0 hand and torch both take relu'(0) = 0
    kinked = {e.name: e.fd_kinks for e in report.entries if e.kind == "param"}
    assert kinked["layers.0.bias"] >= 1 and kinked["layers.0.weight"] >= 1


def test_the_kinked_coordinate_would_fail_a_naive_finite_difference():
    """Why kinks must be detected: there the central difference is not the derivative."""
    model, X, y = _relu_net_on_a_kink()
    _, grads = model.loss_and_grads(X, y)
    h, b = 1e-5, model.params["layers.0.bias"]
    b[0] += h
    plus = model.loss_value(X, y)
    b[0] -= 2 * h
    minus = model.loss_value(X, y)
    b[0] += h
    naive = (plus - minus) / (2 * h)
    assert abs(naive - grads["layers.0.bias"][0]) > 1e-3 * abs(naive)  # far off a smooth fit


def test_float32_saturated_softmax_is_not_a_false_alarm():
    """Found by the property tests: p = 1 - 3e-5 makes p - 1 cancel in float32 (on both twins
    alike), a 1e-3 relative error of a tiny entry; float32's atol (1e-5) absorbs it, and the
    report still shows the error as measured."""
    model = handmade.MLP([2, 2], ["identity"], "cross_entropy", seed=12, dtype=np.float32)
    X, y = np.array([[0.20843048, 9.59270979]]), np.array([0])
    report = check_gradients(model, X, y, fd=None)
    assert report.ok, report
    assert max(e.autograd_rel_err for e in report.entries if e.kind == "param") > 1e-4
