"""The perceptron: predict is step(z), update is the classic rule, the boundary moves nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handgrad import handmade, torch_ref
from handgrad.compare.transfer import hand_to_torch
from tests.handmade.model_helpers import neuron_data


def set_params(neuron, W, b):
    neuron.params["layers.0.weight"][...] = W
    neuron.params["layers.0.bias"][...] = b


def test_perceptron_predict_is_step_of_z():
    neuron = handmade.Perceptron(2)
    set_params(neuron, [[1.0, -1.0]], [0.5])
    X = np.array([[0.0, 0.0], [1.0, 3.0], [2.0, 2.5], [3.0, 1.0], [-1.0, 0.0]])
    # z = x0 - x1 + 0.5 = 0.5, -1.5, 0 (exactly: on the boundary), 2.5, -0.5
    np.testing.assert_array_equal(neuron.predict(X), [[1.0], [0.0], [0.0], [1.0], [0.0]])
    assert neuron.predict(X).shape == (5, 1)


def test_perceptron_update_is_the_classic_rule_and_minus_lr_grads():
    n, m, lr = 3, 10, 0.25
    X, y = neuron_data(n, m, seed=23)
    neuron = handmade.Perceptron(n, seed=6)
    W0 = neuron.params["layers.0.weight"].copy()
    b0 = neuron.params["layers.0.bias"].copy()
    z = (X @ W0.T + b0)[:, 0]
    assert np.all(z != 0)  # no sample on the boundary here (that case is tested apart)
    wrong = (z > 0).astype(float) != y
    assert wrong.any() and not wrong.all()  # some samples move the weights, some do not

    _, grads = neuron.loss_and_grads(X, y)
    loss_before = neuron.update(X, y, lr)

    # written out: the classic rule w += lr (y - step(z)) x, averaged over the m samples
    err = y - (z > 0).astype(float)  # (m,), +-1 on misclassified samples, else 0
    expected_W = W0 + lr * (err @ X) / m
    expected_b = b0 + lr * err.sum() / m
    # float64: a sum of m products rounded once each: rtol 1e-13 (see the reasons of
    # model_helpers.RTOL64)
    np.testing.assert_allclose(neuron.params["layers.0.weight"], expected_W, rtol=1e-13,
                               atol=1e-15)
    np.testing.assert_allclose(neuron.params["layers.0.bias"], expected_b, rtol=1e-13,
                               atol=1e-15)
    # and it is params -= lr * grads, entry by entry (the same two roundings: exact)
    np.testing.assert_array_equal(neuron.params["layers.0.weight"],
                                  W0 - lr * grads["layers.0.weight"])
    np.testing.assert_array_equal(neuron.params["layers.0.bias"],
                                  b0 - lr * grads["layers.0.bias"])
    # the returned loss is the one before the step: mean(max(0, -s z)), s = 2y - 1
    assert loss_before == pytest.approx(np.mean(np.maximum(0.0, -(2 * y - 1) * z)),
                                        rel=1e-13, abs=0)


@pytest.mark.parametrize("label", [0.0, 1.0], ids=["y=0", "y=1"])
def test_perceptron_sample_on_the_boundary_does_not_move_weights(label):
    neuron = handmade.Perceptron(2)
    set_params(neuron, [[1.0, -1.0]], [0.0])
    # one sample exactly on the boundary (z = 2 - 2 + 0 = 0) and one misclassified sample
    X = np.array([[2.0, 2.0], [1.0, 3.0]])  # z = 0, z = -2
    y = np.array([label, 1.0])  # the second sample is class 1 but z < 0: misclassified
    lr, m = 0.5, 2

    _, grads = neuron.loss_and_grads(X, y)
    neuron.update(X, y, lr)
    # only the misclassified sample (s = +1) contributes: w += lr * x / m, b += lr / m
    np.testing.assert_array_equal(neuron.params["layers.0.weight"],
                                  [[1.0 + lr * 1.0 / m, -1.0 + lr * 3.0 / m]])
    np.testing.assert_array_equal(neuron.params["layers.0.bias"], [lr / m])
    # torch's convention agrees: relu'(0) = 0 in max(0, -s z)
    twin = torch_ref.TorchNeuron(2, "identity", "perceptron", dtype=torch.float64)
    hand_to_torch({"layers.0.weight": np.array([[1.0, -1.0]]), "layers.0.bias": np.zeros(1)},
                  twin)
    _, grads_t = twin.loss_and_grads(X, y)
    for key in grads_t:
        np.testing.assert_array_equal(grads[key], grads_t[key].numpy(), err_msg=key)

    # and the boundary sample alone moves nothing at all
    alone = handmade.Perceptron(2)
    set_params(alone, [[1.0, -1.0]], [0.0])
    alone.update(X[:1], y[:1], lr)
    np.testing.assert_array_equal(alone.params["layers.0.weight"], [[1.0, -1.0]])
    np.testing.assert_array_equal(alone.params["layers.0.bias"], [0.0])
