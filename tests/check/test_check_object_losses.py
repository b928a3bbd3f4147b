"""check_object on loss objects: forward(pred, target) -> a loss; backward -> dpred.

Three ways of writing backward, each recognised from its signature:

* ``backward()``: the gradient of forward's scalar loss (a Python float here);
* ``backward(dout)``: an upstream gradient, for per-sample losses too;
* nnfs's ``backward(dvalues, y_true)`` (dvalues the predictions), storing ``self.dinputs``:
  the gradient of the mean of forward's per-sample losses.

The target takes no gradient: integer labels need no naming, and a float target is taken
as a constant when backward gives one gradient (the report says so). The planted slip:
the sum's gradient where the loss is a mean (the 1/N forgotten).
"""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from handgrad.compare.check.objects import check_object


class MSELoss:
    """L = mean((pred - target)²) over all elements, as nn.MSELoss; returns a float."""

    def forward(self, pred, target):
        self.diff = pred - target
        return float(np.mean(self.diff**2))

    def backward(self):
        return 2 * self.diff / self.diff.size


class MSELossSummed(MSELoss):
    def backward(self):
        return 2 * self.diff  # slip: the gradient of the sum, the 1/N forgotten


class HalfSquaredPerSample:
    """l_i = ½ Σ_j (pred_ij - target_ij)², one loss per sample; backward takes dl (m,)."""

    def forward(self, pred, target):
        self.diff = pred - target
        return 0.5 * (self.diff**2).sum(axis=1)

    def backward(self, dout):
        return dout[:, None] * self.diff


class Loss_CategoricalCrossentropy:
    """nnfs: forward gives per-sample losses; backward(dvalues, y_true) the mean's gradient."""

    def forward(self, y_pred, y_true):
        samples = len(y_pred)
        y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
        correct_confidences = y_pred_clipped[range(samples), y_true]
        return -np.log(correct_confidences)

    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        labels = len(dvalues[0])
        y_true = np.eye(labels)[y_true]
        self.dinputs = -y_true / dvalues
        self.dinputs = self.dinputs / self.normalizer(samples)

    def normalizer(self, samples):
        return samples


class Loss_CategoricalCrossentropySummed(Loss_CategoricalCrossentropy):
    def normalizer(self, samples):
        return 1  # slip: the sum's gradient, though the loss is their mean


def torch_mse(p, pred, target):
    return F.mse_loss(pred, target)


def torch_cce_per_sample(p, y_pred, y_true):
    return -torch.log(y_pred[torch.arange(len(y_true)), y_true])


def probabilities(rng, m, k):
    e = np.exp(rng.standard_normal((m, k)))
    return e / e.sum(axis=1, keepdims=True)  # away from the clip at 1e-7


SIZES = [pytest.param(1, 3, id="m1-k3"), pytest.param(5, 4, id="m5-k4"),
         pytest.param(30, 10, id="m30-k10")]


@pytest.mark.parametrize("m, k", SIZES)
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_a_float_loss_with_a_bare_backward_passes(m, k, with_torch):
    rng = np.random.default_rng(m)
    inputs = {"pred": rng.standard_normal((m, k)), "target": rng.standard_normal((m, k))}
    report = check_object(MSELoss(), inputs, torch_mse if with_torch else None)
    assert report.ok, report
    assert [e.name for e in report.entries if e.kind == "input"] == ["pred"]
    assert any("['target']" in n and "constant" in n for n in report.notes), report.notes


@pytest.mark.parametrize("m, k", SIZES[1:])
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_a_sum_where_the_mean_is_meant_fails_and_is_named(m, k, with_torch):
    rng = np.random.default_rng(8)
    inputs = {"pred": rng.standard_normal((m, k)), "target": rng.standard_normal((m, k))}
    report = check_object(MSELossSummed(), inputs, torch_mse if with_torch else None)
    assert report.failures == ["pred"], report
    if with_torch:  # the factor is the number of elements averaged
        assert re.search(rf"hand = {m * k}\.0* ×", report.entry("pred").diagnosis), report


@pytest.mark.parametrize("m, k", SIZES)
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_per_sample_losses_with_an_upstream_gradient_pass(m, k, with_torch):
    rng = np.random.default_rng(m + 1)
    inputs = {"pred": rng.standard_normal((m, k)), "target": rng.standard_normal((m, k))}
    report = check_object(HalfSquaredPerSample(), inputs,
                          (lambda p, pred, target: 0.5 * ((pred - target)**2).sum(dim=1))
                          if with_torch else None)
    assert report.ok, report


@pytest.mark.parametrize("m, k", SIZES)
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_an_nnfs_loss_passes(m, k, with_torch):
    rng = np.random.default_rng(m + 2)
    inputs = {"y_pred": probabilities(rng, m, k), "y_true": rng.integers(0, k, m)}
    report = check_object(Loss_CategoricalCrossentropy(), inputs,
                          torch_cce_per_sample if with_torch else None)
    assert report.ok, report
    assert [e.name for e in report.entries if e.kind == "input"] == ["y_pred"]


@pytest.mark.parametrize("m, k", SIZES[1:])
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_an_nnfs_loss_summed_where_averaged_fails_and_is_named(m, k, with_torch):
    rng = np.random.default_rng(9)
    inputs = {"y_pred": probabilities(rng, m, k), "y_true": rng.integers(0, k, m)}
    report = check_object(Loss_CategoricalCrossentropySummed(), inputs,
                          torch_cce_per_sample if with_torch else None)
    assert report.failures == ["y_pred"], report


@pytest.mark.parametrize("loss", [pytest.param(lambda d: float(np.sum(d**2)), id="float"),
                                  pytest.param(lambda d: np.sum(d**2), id="numpy-scalar"),
                                  pytest.param(lambda d: np.array(np.sum(d**2)), id="0-d")])
def test_a_scalar_loss_of_any_kind_is_accepted(loss):
    class SumOfSquares:
        def forward(self, pred):
            self.pred = pred
            return loss(pred)

        def backward(self, dout=1.0):
            return 2 * self.pred * dout

    x = np.random.default_rng(10).standard_normal((3, 2))
    report = check_object(SumOfSquares(), {"pred": x}, lambda p, pred: (pred**2).sum())
    assert report.ok, report


class Activation_Softmax:
    def forward(self, inputs):
        exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
        self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)


class Activation_Softmax_Loss_CategoricalCrossentropy:
    """nnfs's softmax and cross-entropy in one: forward(inputs, y_true) returns the mean
    loss and stores the probabilities in self.output; backward(dvalues, y_true) is called
    with those probabilities, as nnfs's training loop calls it."""

    def __init__(self):
        self.activation = Activation_Softmax()
        self.loss = Loss_CategoricalCrossentropy()

    def forward(self, inputs, y_true):
        self.activation.forward(inputs)
        self.output = self.activation.output
        return np.mean(self.loss.forward(self.output, y_true))

    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        self.dinputs = dvalues.copy()
        self.dinputs[range(samples), y_true] -= 1
        self.dinputs = self.dinputs / samples


@pytest.mark.parametrize("m, k", SIZES)
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_nnfs_softmax_and_loss_in_one_is_called_with_its_output(m, k, with_torch):
    rng = np.random.default_rng(m + 3)
    inputs = {"logits": rng.standard_normal((m, k)), "y_true": rng.integers(0, k, m)}
    report = check_object(Activation_Softmax_Loss_CategoricalCrossentropy(), inputs,
                          (lambda p, z, y: F.cross_entropy(z, y)) if with_torch else None)
    assert report.ok, report
    assert any("backward(*inputs)" in n for n in report.notes), report.notes


class MSEWithNoneForTarget(MSELoss):
    def backward(self):
        return 2 * self.diff / self.diff.size, None  # no gradient for the target


def test_a_none_gradient_for_the_target_is_no_gradient():
    rng = np.random.default_rng(12)
    inputs = {"pred": rng.standard_normal((4, 2)), "target": rng.standard_normal((4, 2))}
    report = check_object(MSEWithNoneForTarget(), inputs,
                          lambda p, pred, target: F.mse_loss(pred, target))
    assert report.ok, report
    assert [e.name for e in report.entries if e.kind == "input"] == ["pred"]
