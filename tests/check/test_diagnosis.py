"""Diagnoses through the doors: every bug of the gallery gets its own, correct code gets none.

A diagnosis names the likely slip (compare/check/diagnose.py); these tests assert its key
words on the entry where the slip shows, through ``check_gradients`` and ``check_model``.
The array-level hypotheses are tested one by one in test_diagnosis_arrays.py.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from handgrad import handmade
from handgrad.compare import check_gradients, check_model
from handgrad.compare.check.diagnose import diagnose_layers
from handgrad.compare.teach.bugs import BUGS, Seed003UpdateOrder
from tests.check.test_check_model import ForgotOneOverN

# bug -> {entry: key words its diagnosis must hold}
EXPECTED = {
    "seed000_mean_dw": {"layers.0.weight": [
        "a scalar where a (1, 3) array is needed", "a mean over every entry",
        "samples and features"]},
    "seed003_no_sigmoid_factor": {
        "delta[0]": ["layer 0", "activation derivative f'(Z) is missing", "delta = upstream"],
        "layers.0.weight": ["follows from delta[0]", "f'(Z) is missing"],
        "layers.0.bias": ["follows from delta[0]", "f'(Z) is missing"]},
    "seed003_update_order": {
        "delta[0]": ["layer 0 reads W_1", "after it was updated", "lr ≈ 0.1",
                     "compute every gradient before any update"],
        "layers.0.weight": ["follows from delta[0]", "after it was updated"]},
    "missing_1_over_m": {name: ["hand = 32.00 × autograd", "m = 32", "the 1/m of the mean is "
                                "missing"]
                         for name in ("layers.0.weight", "layers.0.bias", "layers.1.weight",
                                      "layers.1.bias", "delta[1]", "delta[0]")},
    "sign_flip": {name: ["hand = −1.000 × autograd", "a sign flip"]
                  for name in ("delta[0]", "layers.0.weight", "layers.0.bias")},
    "relu_prime_at_0_is_1": {
        "delta[0]": ["layer 0", "differs only where Z = 0", "torch takes relu'(0) = 0",
                     "sample 0, unit 0"],
        "layers.0.bias": ["follows from delta[0]", "relu'(0) = 0"]},
    "softmax_not_fused": {
        "delta[1]": ["layer 1", "softmax", "only the Jacobian's diagonal a(1 − a)",
                     "a * (dA − sum(dA * a))"],
        "layers.1.weight": ["follows from delta[1]", "diagonal"],
        "delta[0]": ["follows from delta[1]"]},
}


def test_every_gallery_bug_has_an_expected_diagnosis():
    assert set(EXPECTED) == set(BUGS)


@pytest.mark.parametrize("name", list(BUGS), ids=list(BUGS))
def test_gallery_bug_gets_its_diagnosis(name):
    model, X, y = BUGS[name].build()
    report = check_gradients(model, X, y)
    assert not report.ok
    text = str(report)
    for entry, words in EXPECTED[name].items():
        diagnosis = report.entry(entry).diagnosis
        assert diagnosis, f"{entry} has no diagnosis\n{text}"
        for word in words:
            assert word in diagnosis, f"{entry}: {word!r} not in {diagnosis!r}"
        assert f"diagnosis, {entry}: {diagnosis}" in text
    assert all(not e.diagnosis for e in report.entries if e.ok)  # passing: no diagnosis


@pytest.mark.parametrize("sizes, activations, loss, m", [
    ([2, 6, 1], ["tanh", "sigmoid"], "bce", 32),
    ([2, 4, 1], ["relu", "identity"], "mse", 6),
    ([4, 5, 3], ["tanh", "softmax"], "nll", 30),
    ([3, 2, 1], ["sigmoid", "sigmoid"], "half_mse", 1),
], ids=["tanh-sigmoid-bce", "relu-mse", "softmax-nll", "seed003-shape"])
def test_correct_code_has_no_diagnosis(sizes, activations, loss, m):
    model = handmade.MLP(sizes, activations, loss, seed=3)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((m, sizes[0]))
    y = (rng.integers(0, sizes[-1], m) if loss == "nll" else
         rng.integers(0, 2, m).astype(float) if loss == "bce" else
         rng.standard_normal((m, sizes[-1])))
    report = check_gradients(model, X, y)
    assert report.ok, report
    assert all(not e.diagnosis for e in report.entries)
    assert "diagnosis" not in str(report)


# --- layer hypotheses beyond the gallery ------------------------------------------------

class DerivativeTwice(handmade.MLP):
    """The hidden delta multiplies by f'(Z) twice."""

    def activation_backward(self, layer, dA, Z, A):
        once = super().activation_backward(layer, dA, Z, A)
        return super().activation_backward(layer, once, Z, A) if layer == 0 else once


class LeakyPrimeZeroIsOne(handmade.MLP):
    """``leaky_relu'(0) = 1``, where torch takes the slope 0.01."""

    def activation_backward(self, layer, dA, Z, A):
        if self.activations[layer] == "leaky_relu":
            return np.where(Z >= 0, 1.0, 0.01) * dA
        return super().activation_backward(layer, dA, Z, A)


class LastSampleDropped(handmade.MLP):
    """The loss gradient loop stops one sample short (``range(m - 1)``)."""

    def activation_backward(self, layer, dA, Z, A):
        out = super().activation_backward(layer, dA, Z, A)
        if layer == self.n_layers - 1:
            out = out.copy()
            out[-1] = 0.0
        return out


def _moons_like(m=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, 2)), rng.integers(0, 2, m).astype(float)


def test_derivative_applied_twice():
    X, y = _moons_like()
    report = check_gradients(DerivativeTwice([2, 6, 1], ["tanh", "sigmoid"], "bce"), X, y)
    assert "f'(Z) is applied twice" in report.entry("delta[0]").diagnosis, report


def test_leaky_relu_kink_names_torchs_slope():
    model = LeakyPrimeZeroIsOne([2, 4, 1], ["leaky_relu", "identity"], "mse", seed=2)
    X = np.random.default_rng(0).standard_normal((6, 2))
    X[3] = 0.0
    model.params["layers.0.bias"][1] = 0.0  # sample 3 meets unit 1 exactly at z = 0
    report = check_gradients(model, X, np.arange(6.0))
    words = report.entry("delta[0]").diagnosis
    assert "leaky_relu'(0) = 0.01" in words and "sample 3, unit 1" in words, report


def test_update_order_over_a_batch():
    X, y = _moons_like(m=12)
    model = Seed003UpdateOrder([2, 5, 1], ["sigmoid", "sigmoid"], "half_mse", seed=4)
    model.lr = 0.5
    report = check_gradients(model, X, y[:, None])
    assert "reads W_1 (layers.1.weight) after it was updated (by lr ≈ 0.5)" in (
        report.entry("delta[0]").diagnosis), report


def test_some_samples_only_through_the_door():
    X, y = _moons_like(m=8)
    report = check_gradients(LastSampleDropped([2, 3, 1], ["tanh", "sigmoid"], "bce"), X, y)
    assert report.entry("delta[1]").diagnosis == (
        "wrong on 1 of 8 samples (row 7); right on the others"), report


@pytest.mark.parametrize("model", [object(), "not a model", handmade.MLP([2, 2], ["identity"],
                                                                          "mse")],
                         ids=["no-activations", "a-string", "never-called"])
def test_diagnose_layers_never_raises(model):
    class Report:
        first_bad_layer = 0
        entries = []
    assert diagnose_layers(model, None, None, Report(), {"delta[0]": np.ones((2, 2))}, {}) == {}


# --- a user's own code: a CS231n-style net with the 1/N forgotten -----------------------

def _torch_loss(reg):
    def torch_loss(p, X, y):
        scores = torch.relu(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
        return F.cross_entropy(scores, y) + 0.5 * reg * ((p["W1"] ** 2).sum()
                                                          + (p["W2"] ** 2).sum())
    return torch_loss


@pytest.mark.parametrize("reg, diagnosed", [
    (0.0, ["W1", "b1", "W2", "b2"]),
    (0.05, ["b1", "b2"]),  # the weights' gradients also hold the L2 term: no single slip fits
], ids=["no-regularization", "with-l2"])
def test_check_model_names_the_missing_one_over_n(reg, diagnosed):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((7, 4)), rng.integers(0, 3, 7)
    net = ForgotOneOverN(reg=reg)  # the student's net with dscores /= N left out
    report = check_model(net.params, net.loss, X, y, _torch_loss(reg))
    assert report.failures == ["W1", "b1", "W2", "b2"], report
    for entry in report.entries:
        if entry.name in diagnosed:
            assert entry.diagnosis == ("hand = 7.000 × autograd with m = 7: the 1/m of the "
                                       "mean is missing (the gradient of the sum)"), report
        else:
            assert entry.diagnosis == "", report
