"""handmade.MLP against torch autograd on its torch_ref twin: loss, gradients, deltas.

Also the sum reduction (count times the mean), the reuse of the gradient arrays between
calls, and the repr. float64 is the reference dtype (tolerance: model_helpers.RTOL64).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handgrad import handmade, torch_ref
from handgrad.compare.transfer import hand_to_torch
from tests.handmade.model_helpers import ATOL64, RTOL64, assert_close64, random_labels

MLP_CASES = [
    pytest.param([4, 1], ["sigmoid"], "bce", id="4-1-sigmoid-bce"),
    pytest.param([4, 5, 1], ["tanh", "sigmoid"], "bce", id="4-5-1-tanh-sigmoid-bce"),
    pytest.param([3, 6, 5, 2], ["relu", "leaky_relu", "identity"], "mse",
                 id="3-6-5-2-relu-leaky-mse"),
    pytest.param([5, 7, 2], ["softplus", "identity"], "half_mse", id="5-7-2-softplus-half_mse"),
    pytest.param([3, 5, 4], ["gelu", "identity"], "cross_entropy", id="3-5-4-gelu-ce"),
    pytest.param([3, 4, 4, 3], ["silu", "elu", "softmax"], "nll", id="3-4-4-3-silu-elu-nll"),
    pytest.param([4, 6, 1], ["tanh", "identity"], "bce_with_logits", id="4-6-1-tanh-bcelogits"),
    pytest.param([4, 3, 1], ["relu", "identity"], "perceptron", id="4-3-1-relu-perceptron"),
    pytest.param([2, 3, 4, 5, 2], ["sigmoid", "tanh", "relu", "identity"], "mse",
                 id="depth4-mse"),
]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(("sizes", "activations", "loss"), MLP_CASES)
def test_mlp_loss_grads_and_deltas_match_torch(sizes, activations, loss, reduction):
    m = 9
    rng = np.random.default_rng(sum(sizes) + len(loss))
    hand = handmade.MLP(sizes, activations, loss, seed=5, reduction=reduction)
    twin = torch_ref.TorchMLP(sizes, activations, loss, dtype=torch.float64, reduction=reduction)
    hand_to_torch(hand, twin)
    X = rng.normal(size=(m, sizes[0]))
    y = random_labels(loss, m, sizes[-1], rng)

    loss_h, grads_h = hand.loss_and_grads(X, y)
    loss_t, grads_t = twin.loss_and_grads(X, y)

    assert isinstance(loss_h, float)
    assert loss_h == pytest.approx(loss_t, rel=RTOL64, abs=ATOL64)
    assert list(grads_h) == list(grads_t)
    for key in grads_t:
        assert grads_h[key].dtype == np.float64, key
        assert_close64(grads_h[key], grads_t[key], key)
    assert len(hand.deltas) == len(twin.deltas) == len(sizes) - 1
    for layer, (d_h, d_t) in enumerate(zip(hand.deltas, twin.deltas)):
        assert d_h.shape == (m, sizes[layer + 1])
        assert_close64(d_h, d_t, f"deltas[{layer}]")
    # guard: the comparison is not between two zero gradients
    assert any(np.abs(g).max() > 1e-3 for g in grads_h.values())


@pytest.mark.parametrize(
    ("sizes", "activations", "loss", "per_sample"),
    [
        pytest.param([3, 4, 1], ["tanh", "identity"], "mse", False, id="mse-k1"),
        pytest.param([3, 4, 3], ["tanh", "identity"], "mse", False, id="mse-k3"),
        pytest.param([3, 4, 2], ["relu", "identity"], "half_mse", False, id="half_mse-k2"),
        pytest.param([3, 4, 2], ["tanh", "sigmoid"], "bce", False, id="bce-k2"),
        pytest.param([3, 4, 3], ["tanh", "identity"], "cross_entropy", True, id="ce-k3"),
    ],
)
def test_sum_reduction_is_count_times_mean(sizes, activations, loss, per_sample):
    m, k = 6, sizes[-1]
    rng = np.random.default_rng(11)
    X, y = rng.normal(size=(m, sizes[0])), random_labels(loss, m, k, rng)
    mean = handmade.MLP(sizes, activations, loss, seed=2)
    total = handmade.MLP(sizes, activations, loss, seed=2, reduction="sum")
    loss_mean, grads_mean = mean.loss_and_grads(X, y)
    loss_sum, grads_sum = total.loss_and_grads(X, y)
    # the mean divides by the number of terms: m for a per-sample loss, m * k elementwise
    count = m if per_sample else m * k
    # float64: the two differ by the one division and one multiplication by count, each
    # rounding once (plus the reordering inside the sums): a few ulp, so 1e-13 relative.
    assert loss_sum == pytest.approx(count * loss_mean, rel=1e-13, abs=0)
    for key in grads_sum:
        np.testing.assert_allclose(grads_sum[key], count * grads_mean[key], rtol=1e-13,
                                   atol=1e-15, err_msg=key)
    for d_sum, d_mean in zip(total.deltas, mean.deltas):
        np.testing.assert_allclose(d_sum, count * d_mean, rtol=1e-13, atol=1e-15)


def test_inplace_grads_reuses_the_arrays_between_calls_until_turned_off():
    model = handmade.MLP([3, 4, 2], ["tanh", "identity"], "mse", inplace_grads=True)
    rng = np.random.default_rng(0)
    X1, X2 = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    y = rng.standard_normal((5, 2))
    g1 = model.loss_and_grads(X1, y)[1]
    kept = {k: v.copy() for k, v in g1.items()}
    g2 = model.loss_and_grads(X2, y)[1]
    assert all(g1[k] is g2[k] for k in g1)  # same arrays, overwritten (as torch's .grad)
    assert not np.array_equal(g1["layers.0.weight"], kept["layers.0.weight"])
    model.inplace_grads = False
    g3 = model.loss_and_grads(X1, y)[1]
    g4 = model.loss_and_grads(X2, y)[1]
    assert all(g3[k] is not g4[k] for k in g3)
    np.testing.assert_array_equal(g3["layers.0.weight"], kept["layers.0.weight"])  # same input


def test_repr_names_the_architecture():
    text = repr(handmade.MLP([3, 4, 1], ["tanh", "sigmoid"], "bce", dtype=np.float32))
    assert text == ("MLP(sizes=[3, 4, 1], activations=['tanh', 'sigmoid'], loss='bce', "
                    "dtype=float32)")
