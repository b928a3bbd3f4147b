"""A float32 model stays float32: gradients, deltas, predictions and the SGD step.

The inputs are float64 (or int64 classes) on purpose: the model casts them to its own dtype.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from handgrad import handmade
from tests.handmade.model_helpers import random_labels


@pytest.mark.parametrize(
    ("sizes", "activations", "loss"),
    [
        pytest.param([4, 5, 1], ["tanh", "sigmoid"], "bce", id="bce"),
        pytest.param([4, 5, 2], ["relu", "identity"], "mse", id="mse"),
        pytest.param([4, 5, 2], ["softplus", "identity"], "half_mse", id="half_mse"),
        pytest.param([4, 5, 3], ["gelu", "identity"], "cross_entropy", id="cross_entropy"),
        pytest.param([4, 5, 3], ["elu", "softmax"], "nll", id="nll"),
        pytest.param([4, 5, 1], ["silu", "identity"], "bce_with_logits", id="bce_with_logits"),
        pytest.param([4, 5, 1], ["leaky_relu", "identity"], "perceptron", id="perceptron"),
    ],
)
def test_float32_model_stays_float32(sizes, activations, loss):
    rng = np.random.default_rng(12)
    hand = handmade.MLP(sizes, activations, loss, dtype=np.float32)
    X = rng.normal(size=(7, sizes[0]))  # float64 on purpose
    y = random_labels(loss, 7, sizes[-1], rng)  # float64 (or int64 classes) too
    assert X.dtype == np.float64

    value, grads = hand.loss_and_grads(X, y)
    assert math.isfinite(value)
    assert hand.predict(X).dtype == np.float32
    for key, g in grads.items():
        assert g.dtype == np.float32, key
    for layer, d in enumerate(hand.deltas):
        assert d.dtype == np.float32, f"deltas[{layer}]"
    handmade.sgd_step(hand.params, grads, 0.1)
    for key, p in hand.params.items():
        assert p.dtype == np.float32, key


@pytest.mark.parametrize("cls", [handmade.LogisticNeuron, handmade.LinearNeuron,
                                 handmade.Perceptron], ids=lambda c: c.__name__)
def test_float32_neuron_stays_float32(cls):
    rng = np.random.default_rng(13)
    neuron = cls(3, dtype=np.float32)
    X = rng.normal(size=(8, 3))  # float64 on purpose
    y = random_labels("bce", 8, 1, rng)[:, 0]
    _, grads = neuron.loss_and_grads(X, y)
    for key, g in grads.items():
        assert g.dtype == np.float32, key
    assert neuron.deltas[0].dtype == np.float32
    assert neuron.predict(X).dtype == np.float32
    handmade.sgd_step(neuron.params, grads, 0.5)
    if isinstance(neuron, handmade.Perceptron):
        neuron.update(X, y, 0.5)
    for key, p in neuron.params.items():
        assert p.dtype == np.float32, key
