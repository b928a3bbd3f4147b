"""handmade losses against torch: values, gradients w.r.t. the output, errors.

The handmade side is used only through ``handmade.*``; torch (``torch_ref.functional`` and
``torch.nn.functional``, differentiated by autograd) and arithmetic written out here are the
witnesses. float64 is the reference dtype. Saturated probabilities and huge logits are in
test_loss_extremes.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from handgrad import handmade
from tests.handmade.loss_cases import (
    ATOL64,
    REDUCTIONS,
    RTOL64,
    M,
    make_case,
    softmax_rows,
    torch_value_and_grad,
)

# --- 1. every loss, both reductions, against torch ------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS, ids=str)
@pytest.mark.parametrize("name", list(handmade.LOSSES), ids=str)
def test_value_and_grad_match_torch(name, reduction, strict_floating_point):
    out, y = make_case(name, seed=10)
    loss = handmade.get_loss(name)
    with strict_floating_point():
        value = loss.value(out, y, reduction)
        grad = loss.grad(out, y, reduction)
    value_torch, grad_torch = torch_value_and_grad(name, out, y, reduction)
    assert isinstance(value, float)
    assert grad.shape == out.shape and grad.dtype == np.float64
    np.testing.assert_allclose(value, value_torch, rtol=RTOL64, atol=0)
    np.testing.assert_allclose(grad, grad_torch, rtol=RTOL64, atol=ATOL64)


BINARY_LOSSES = [name for name, loss in handmade.LOSSES.items() if loss.labels == "binary"]


def test_binary_losses_are_the_three_of_the_docstring():
    assert sorted(BINARY_LOSSES) == ["bce", "bce_with_logits", "perceptron"]


@pytest.mark.parametrize("reduction", REDUCTIONS, ids=str)
@pytest.mark.parametrize("name", BINARY_LOSSES, ids=str)
def test_binary_labels_flat_or_column_give_the_same_result(name, reduction):
    out, y = make_case(name, seed=11)
    loss = handmade.get_loss(name)
    flat, column = y.reshape(M), y.reshape(M, 1)
    # After the reshape to out's shape the very same arithmetic runs: bitwise equal.
    assert loss.value(out, flat, reduction) == loss.value(out, column, reduction)
    np.testing.assert_array_equal(loss.grad(out, flat, reduction),
                                  loss.grad(out, column, reduction))
    # and both equal torch's, given either layout
    value_torch, grad_torch = torch_value_and_grad(name, out, column, reduction)
    np.testing.assert_allclose(loss.value(out, flat, reduction), value_torch,
                               rtol=RTOL64, atol=0)
    np.testing.assert_allclose(loss.grad(out, flat, reduction), grad_torch,
                               rtol=RTOL64, atol=ATOL64)


# --- 2. half_mse = 0.5 * mse -----------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS, ids=str)
def test_half_mse_is_half_of_mse(reduction):
    out, y = make_case("mse", seed=12)
    mse, half = handmade.get_loss("mse"), handmade.get_loss("half_mse")
    # Scaling by 0.5 (or 2) is exact in binary floating point and commutes with every
    # rounding of the sum and of the division by N, so these are equalities, not approximate.
    assert half.value(out, y, reduction) == 0.5 * mse.value(out, y, reduction)
    np.testing.assert_array_equal(half.grad(out, y, reduction),
                                  0.5 * mse.grad(out, y, reduction))
    # and mse itself, written out: sum (o - y)^2 / N, gradient 2 (o - y) / N
    n = out.size if reduction == "mean" else 1
    np.testing.assert_allclose(mse.value(out, y, reduction), np.sum((out - y) ** 2) / n,
                               rtol=RTOL64)  # same terms, possibly summed in another order
    np.testing.assert_allclose(mse.grad(out, y, reduction), 2.0 * (out - y) / n,
                               rtol=RTOL64, atol=ATOL64)


# --- 3. cross_entropy: fused gradient = softmax backward of the nll gradient = torch ---------

@pytest.mark.parametrize("reduction", REDUCTIONS, ids=str)
def test_cross_entropy_fused_gradient_equals_two_step_path_and_torch(reduction):
    z, y = make_case("cross_entropy", seed=13)
    fused = handmade.get_loss("cross_entropy").grad(z, y, reduction)

    softmax = handmade.get_activation("softmax")
    p = softmax.forward(z)
    two_step = softmax.backward(handmade.get_loss("nll").grad(p, y, reduction), z, p)

    # (softmax - onehot) / N written out with the test's own softmax
    n = z.shape[0] if reduction == "mean" else 1
    onehot = np.eye(3)[y]
    written = (softmax_rows(z) - onehot) / n

    zt = torch.tensor(z, requires_grad=True)
    F.cross_entropy(zt, torch.tensor(y), reduction=reduction).backward()

    # The two-step path divides by p_y and multiplies back: a few roundings on entries of
    # size <= 1/n, and cancellation to ~0 where p is near onehot -> float64 tolerance above.
    np.testing.assert_allclose(two_step, fused, rtol=RTOL64, atol=ATOL64)
    np.testing.assert_allclose(fused, written, rtol=RTOL64, atol=ATOL64)
    np.testing.assert_allclose(fused, zt.grad.numpy(), rtol=RTOL64, atol=ATOL64)


# --- 4. perceptron ---------------------------------------------------------------------------

def test_perceptron_value_small_example_by_hand():
    z = np.array([[2.0], [-1.0], [0.5], [-3.0]])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    # s = 2y - 1 = [-1, -1, 1, 1];  -s z = [2, -1, -0.5, 3];  max(0, .) = [2, 0, 0, 3]
    loss = handmade.get_loss("perceptron")
    assert loss.value(z, y) == (2.0 + 0.0 + 0.0 + 3.0) / 4
    assert loss.value(z, y, "sum") == 2.0 + 0.0 + 0.0 + 3.0


def test_perceptron_value_is_mean_of_hinge_at_zero():
    z, y = make_case("perceptron", seed=14)
    s = 2.0 * y.reshape(-1, 1) - 1.0
    expected = np.mean(np.maximum(0.0, -s * z))
    # same terms, possibly summed in a different order: a few ulp
    np.testing.assert_allclose(handmade.get_loss("perceptron").value(z, y), expected,
                               rtol=RTOL64, atol=0)


@pytest.mark.parametrize("reduction", REDUCTIONS, ids=str)
def test_perceptron_gradient_at_the_kink_is_zero(reduction):
    z = np.array([[0.0], [0.0], [-0.0], [1.0], [-2.0]])
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    # rows 0-2 sit on the kink s z = 0: derivative 0 (relu'(0) = 0). Row 3: s = -1, -s z = 1
    # > 0, d/dz = -s = 1. Row 4: s = 1, -s z = 2 > 0, d/dz = -s = -1.
    n = 5 if reduction == "mean" else 1
    expected = np.array([[0.0], [0.0], [0.0], [1.0], [-1.0]]) / n
    grad = handmade.get_loss("perceptron").grad(z, y, reduction)
    np.testing.assert_array_equal(grad, expected)  # 0, +-1 over 5 or 1: exact either way

    # torch autograd of its relu-based perceptron loss, called directly
    zt = torch.tensor(z, requires_grad=True)
    terms = F.relu(-(2.0 * torch.tensor(y).reshape(-1, 1) - 1.0) * zt)
    (terms.mean() if reduction == "mean" else terms.sum()).backward()
    np.testing.assert_array_equal(grad, zt.grad.numpy())


# --- 5. errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["nope", "MSE", None], ids=["nope", "wrong-case", "None"])
def test_unknown_loss_lists_valid_names(bad):
    with pytest.raises(ValueError) as info:
        handmade.get_loss(bad)
    for valid in ("mse", "cross_entropy", "bce_with_logits"):
        assert valid in str(info.value)


@pytest.mark.parametrize("method", ["value", "grad"])
@pytest.mark.parametrize("name", ["cross_entropy", "nll"], ids=str)
def test_class_losses_reject_float_labels(name, method):
    out, y = make_case(name, seed=15)
    with pytest.raises(TypeError, match="integer"):
        getattr(handmade.get_loss(name), method)(out, y.astype(np.float64))


@pytest.mark.parametrize("bad_label", [3, -1], ids=["too-large", "negative"])
@pytest.mark.parametrize("method", ["value", "grad"])
@pytest.mark.parametrize("name", ["cross_entropy", "nll"], ids=str)
def test_class_index_out_of_range(name, method, bad_label):
    out, y = make_case(name, seed=16)  # k = 3 classes
    y = y.copy()
    y[5] = bad_label
    with pytest.raises(ValueError, match="class indices"):
        getattr(handmade.get_loss(name), method)(out, y)


@pytest.mark.parametrize("method", ["value", "grad"])
@pytest.mark.parametrize("name", list(handmade.LOSSES), ids=str)
def test_label_count_mismatch(name, method):
    out, y = make_case(name, seed=17)
    y_short = y[:-1]  # one label fewer than there are samples
    with pytest.raises(ValueError):
        getattr(handmade.get_loss(name), method)(out, y_short)


@pytest.mark.parametrize("reduction", ["none", "avg", "MEAN"])
@pytest.mark.parametrize("method", ["value", "grad"])
@pytest.mark.parametrize("name", ["mse", "cross_entropy"], ids=str)
def test_unknown_reduction(name, method, reduction):
    out, y = make_case(name, seed=18)
    with pytest.raises(ValueError, match="reduction"):
        getattr(handmade.get_loss(name), method)(out, y, reduction)
