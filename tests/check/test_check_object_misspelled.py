"""A gradient stored under a misspelled name must not let a layer pass unchecked.

An nnfs-style layer keeps ``weights``/``biases`` and its backward stores ``dweights`` and,
misspelled, ``dbias``: the d-prefix convention pairs ``weights`` only. Checking ``weights``
and the input and leaving ``biases`` out (a note nobody prints) would pass a wrong bias
gradient: the door stops instead, names the stray array and spells the fix. An array with
no gradient that backward does not shadow (running statistics) is still left out with a
note, and the spelled fix, once given, checks the misspelled gradient (and fails it when it
is wrong: the mean where the sum is meant).
"""

from __future__ import annotations

import numpy as np
import pytest

from handgrad import check_object

RNG = np.random.default_rng(7)
X = RNG.standard_normal((5, 4))


class Dense:
    """nnfs style: forward stores output, backward stores dinputs and the d-gradients."""

    def __init__(self, bias_grad_name="dbiases", reduce=np.sum):
        rng = np.random.default_rng(0)
        self.weights = rng.standard_normal((4, 3))
        self.biases = rng.standard_normal((1, 3))
        self.bias_grad_name = bias_grad_name
        self.reduce = reduce

    def forward(self, inputs):
        self.inputs = inputs
        self.output = inputs @ self.weights + self.biases

    def backward(self, dvalues):
        self.dweights = self.inputs.T @ dvalues
        setattr(self, self.bias_grad_name, self.reduce(dvalues, axis=0, keepdims=True))
        self.dinputs = dvalues @ self.weights.T


def torch_dense(p, x):
    return x @ p["weights"] + p["biases"]


@pytest.mark.parametrize("misspelled", ["dbias", "dBiases", "grad_biases"])
@pytest.mark.parametrize("torch_fn", [None, torch_dense], ids=["fd-only", "torch"])
def test_a_misspelled_gradient_stops_the_check_and_names_it(misspelled, torch_fn):
    with pytest.raises(TypeError) as info:
        check_object(Dense(misspelled, reduce=np.mean), {"x": X}, torch_fn)
    message = str(info.value)
    assert repr(misspelled) in message and "'biases'" in message and "dbiases" in message
    assert f"'biases': {misspelled!r}" in message  # the grads= spelling of the fix


@pytest.mark.parametrize("reduce, verdict", [(np.sum, "pass"), (np.mean, "fail")],
                         ids=["sum-right", "mean-wrong"])
def test_the_spelled_fix_checks_the_misspelled_gradient(reduce, verdict):
    report = check_object(Dense("dbias", reduce=reduce), {"x": X}, torch_dense,
                          params={"weights": "weights", "biases": "biases"},
                          grads={"weights": "dweights", "biases": "dbias"})
    assert report.verdict == verdict
    failing = set(report.failures)
    assert failing == (set() if verdict == "pass" else {"biases"})


class WithRunningMean(Dense):
    """A kept statistic beside the parameters: no gradient, and none misspelled."""

    def __init__(self):
        super().__init__()
        self.running_mean = np.zeros((1, 3))

    def forward(self, inputs):
        super().forward(inputs)
        self.running_mean *= 0.9


def test_a_kept_statistic_is_still_left_out_with_a_note():
    report = check_object(WithRunningMean(), {"x": X}, torch_dense)
    assert report.verdict == "pass"
    assert any("running_mean" in note for note in report.notes)
