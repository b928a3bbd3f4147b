"""The single neurons (logistic, linear, perceptron) against torch and written-out formulas.

The witnesses are torch autograd on the torch_ref twin (and ``torch.nn.functional`` called
directly), and the closed forms written out with NumPy in the test; seed 000's textbook data.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from handgrad import handmade, torch_ref
from handgrad.compare.transfer import hand_to_torch
from tests.handmade.model_helpers import ATOL64, RTOL64, assert_close64, neuron_data

NEURONS = [
    pytest.param(handmade.LogisticNeuron, "sigmoid", "bce", id="logistic"),
    pytest.param(handmade.LinearNeuron, "identity", "mse", id="linear"),
    pytest.param(handmade.Perceptron, "identity", "perceptron", id="perceptron"),
]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("label_shape", ["(m,)", "(m,1)"])
@pytest.mark.parametrize(("cls", "activation", "loss"), NEURONS)
def test_neuron_closed_form_matches_torch(cls, activation, loss, label_shape, reduction):
    n, m = 4, 12
    X, y = neuron_data(n, m, seed=20)
    labels = y if label_shape == "(m,)" else y[:, None]
    neuron = cls(n, seed=3, reduction=reduction)
    twin = torch_ref.TorchNeuron(n, activation, loss, dtype=torch.float64, reduction=reduction)
    hand_to_torch(neuron, twin)

    loss_h, grads_h = neuron.loss_and_grads(X, labels)
    loss_t, grads_t = twin.loss_and_grads(X, y[:, None])

    assert neuron.params["layers.0.weight"].shape == (1, n)
    assert loss_h == pytest.approx(loss_t, rel=RTOL64, abs=ATOL64)
    assert list(grads_h) == list(grads_t)
    for key in grads_t:
        assert_close64(grads_h[key], grads_t[key], key)
    assert_close64(neuron.deltas[0], twin.deltas[0], "deltas[0]")
    assert np.abs(grads_h["layers.0.weight"]).max() > 1e-3  # not two zero gradients


@pytest.mark.parametrize(("cls", "activation", "loss"), NEURONS)
def test_neuron_accepts_both_label_layouts(cls, activation, loss):
    X, y = neuron_data(3, 10, seed=21)
    neuron = cls(3, seed=1)
    loss_flat, grads_flat = neuron.loss_and_grads(X, y)
    loss_col, grads_col = neuron.loss_and_grads(X, y.reshape(-1, 1))
    assert loss_flat == loss_col  # the same numbers in the same order: exactly equal
    for key in grads_flat:
        np.testing.assert_array_equal(grads_flat[key], grads_col[key], err_msg=key)


def test_logistic_neuron_gradient_written_out():
    n, m = 5, 11
    X, y = neuron_data(n, m, seed=22)
    neuron = handmade.LogisticNeuron(n, seed=4)
    W, b = neuron.params["layers.0.weight"], neuron.params["layers.0.bias"]
    Y = y.reshape(m, 1)
    A = 1.0 / (1.0 + np.exp(-(X @ W.T + b)))  # (m, 1)
    expected_dW = (A - Y).T @ X / m  # (1, n)
    expected_db = np.array([np.mean(A - Y)])  # (1,)
    expected_loss = -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))

    value, grads = neuron.loss_and_grads(X, y)
    assert value == pytest.approx(expected_loss, rel=RTOL64, abs=ATOL64)
    assert_close64(grads["layers.0.weight"], expected_dW, "dW")
    assert_close64(grads["layers.0.bias"], expected_db, "db")
    assert_close64(neuron.predict_proba(X), A, "predict_proba")


def test_seed000_textbook_data_logistic_gradient_matches_autograd():
    # seed 000: X = [[1,2],[3,4],[5,6]] in the textbook column layout is 3 features x 2
    # samples; batch-first X is its transpose, (2 samples, 3 features). Labels [0, 1].
    textbook = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    X = textbook.T
    assert X.shape == (2, 3)
    np.testing.assert_array_equal(X, [[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]])
    y = np.array([0.0, 1.0])
    neuron = handmade.LogisticNeuron(3, seed=0)
    twin = torch_ref.TorchNeuron(3, "sigmoid", "bce", dtype=torch.float64)
    hand_to_torch(neuron, twin)

    value, grads = neuron.loss_and_grads(X, y)
    value_t, grads_t = twin.loss_and_grads(X, y)
    assert value == pytest.approx(value_t, rel=RTOL64, abs=ATOL64)
    for key in grads_t:
        assert_close64(grads[key], grads_t[key], key)
    # and directly with autograd on torch tensors, no torch_ref in between
    W = torch.tensor(neuron.params["layers.0.weight"], requires_grad=True)
    b = torch.tensor(neuron.params["layers.0.bias"], requires_grad=True)
    p = torch.sigmoid(torch.tensor(X) @ W.T + b)
    F.binary_cross_entropy(p, torch.tensor(y).reshape(2, 1)).backward()
    assert_close64(grads["layers.0.weight"], W.grad, "dW")
    assert_close64(grads["layers.0.bias"], b.grad, "db")
