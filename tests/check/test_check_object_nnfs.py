"""check_object, convention b: forward stores self.output, backward stores self.dinputs.

Layers written as "Neural Networks from Scratch" writes them: the parameters are array
attributes (``weights``, ``biases``) and their gradients the ``d``-prefixed attributes that
``backward`` sets (``dweights``, ``dbiases``). The planted slip: the bias gradient averaged
over the batch while the weight gradient is summed.
"""

import numpy as np
import pytest
import torch

from handgrad.compare.check.objects import check_object


class Layer_Dense:
    def __init__(self, n_inputs, n_neurons, rng):
        self.weights = 0.1 * rng.standard_normal((n_inputs, n_neurons))
        self.biases = 0.1 * rng.standard_normal((1, n_neurons))

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = self.bias_gradient(dvalues)
        self.dinputs = np.dot(dvalues, self.weights.T)

    def bias_gradient(self, dvalues):
        return np.sum(dvalues, axis=0, keepdims=True)


class Layer_Dense_MeanBias(Layer_Dense):
    def bias_gradient(self, dvalues):
        return np.mean(dvalues, axis=0, keepdims=True)  # slip: averaged, dweights is summed


class Activation_ReLU:
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs <= 0] = 0


def torch_dense(p, x):
    return x @ p["weights"] + p["biases"]


SCALES = [pytest.param(1, 2, 3, id="m1-n2-k3"), pytest.param(6, 4, 3, id="m6-n4-k3"),
          pytest.param(40, 12, 10, id="m40-n12-k10")]


@pytest.mark.parametrize("m, n, k", SCALES)
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_a_dense_layer_passes(m, n, k, with_torch):
    rng = np.random.default_rng(m + n + k)
    layer = Layer_Dense(n, k, rng)
    report = check_object(layer, {"x": rng.standard_normal((m, n))},
                          torch_dense if with_torch else None)
    assert report.ok, report
    assert [(e.name, e.kind) for e in report.entries if e.kind != "output"] == [
        ("x", "input"), ("weights", "param"), ("biases", "param")]


@pytest.mark.parametrize("m", [3, 25])
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_a_relu_without_parameters_passes(m, with_torch):
    rng = np.random.default_rng(m)
    report = check_object(Activation_ReLU(), {"x": rng.standard_normal((m, 4))},
                          (lambda p, x: torch.relu(x)) if with_torch else None,
                          kinks=lambda p, x: x)
    assert report.ok, report
    assert [e.name for e in report.entries if e.kind != "output"] == ["x"]


@pytest.mark.parametrize("m, n, k", SCALES[1:])
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_a_bias_gradient_averaged_fails_and_is_named(m, n, k, with_torch):
    rng = np.random.default_rng(2)
    layer = Layer_Dense_MeanBias(n, k, rng)
    report = check_object(layer, {"x": rng.standard_normal((m, n))},
                          torch_dense if with_torch else None)
    assert report.failures == ["biases"], report



class Layer_Dense_Misspelled(Layer_Dense):
    def backward(self, dvalues):
        super().backward(dvalues)
        self.dbaises = self.dbiases  # slip: the gradient stored under another name
        del self.dbiases


def test_a_gradient_under_a_misspelled_name_stops_the_check():
    """Leaving biases out with a note would pass a wrong bias gradient unseen: the stray
    array is named, with the params=/grads= spelling that checks it (a kept statistic
    with no stray array beside it is still left out with a note: see
    test_check_object_misspelled.py)."""
    rng = np.random.default_rng(13)
    with pytest.raises(TypeError, match=r"backward left \['dbaises'\] beside the parameters "
                                        r"\['biases'\]"):
        check_object(Layer_Dense_Misspelled(3, 2, rng), {"x": rng.standard_normal((4, 3))})
