"""handmade losses against torch: values, gradients w.r.t. the output, saturation, errors.

The handmade side is used only through ``handmade.*``; torch (``torch_ref.functional`` and
``torch.nn.functional``, differentiated by autograd) and arithmetic written out here are the
witnesses. float64 is the reference dtype.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import handmade
from tests.strict_numerics import strict_floating_point
from torch_ref.functional import compute_loss

REDUCTIONS = ["mean", "sum"]
M = 16  # samples per batch

# float64 tolerance against torch. Both sides evaluate the same closed forms; the only
# differences are the order of summation (at most ~M ulp = 3.6e-15 relative for the value)
# and a rounding or two per gradient entry. rtol 1e-13 leaves a margin of ~30 and catches any
# wrong scaling (1/M vs 1/(M k), a factor 2 or 1/2). atol 1e-15 covers entries that cancel
# to ~0 (softmax - onehot and sigmoid - y cancel to an absolute ulp(1) = 2.2e-16, over M).
RTOL64 = 1e-13
ATOL64 = 1e-15

# float32 against a float64 torch reference: ~8 float32 eps (1.2e-7) relative, and the same
# absolute size for entries that cancel to ~0.
RTOL32 = 1e-6
ATOL32 = 1e-6


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    """The test's own softmax (not handmade's), to make probabilities for nll."""
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def binary_labels(rng, m: int) -> np.ndarray:
    """0/1 floats, (m,), with both classes present."""
    return rng.permutation(np.arange(m) % 2).astype(np.float64)


def make_case(name: str, seed: int):
    """(out, y) for ``name`` in float64, laid out as the losses docstring says."""
    rng = np.random.default_rng(seed)
    if name == "cross_entropy":  # logits (m, 3), integer classes (m,)
        return rng.normal(0.0, 2.0, size=(M, 3)), rng.integers(0, 3, size=M)
    if name == "nll":  # probabilities (m, 3), integer classes (m,)
        return softmax_rows(rng.normal(0.0, 2.0, size=(M, 3))), rng.integers(0, 3, size=M)
    if name in ("mse", "half_mse"):  # (m, 2) against random floats (m, 2)
        return rng.normal(size=(M, 2)), rng.normal(size=(M, 2))
    if name == "bce":  # probabilities in (0, 1), (m, 1)
        return rng.uniform(0.02, 0.98, size=(M, 1)), binary_labels(rng, M)
    if name in ("bce_with_logits", "perceptron"):  # raw z, (m, 1)
        return rng.normal(0.0, 3.0, size=(M, 1)), binary_labels(rng, M)
    raise AssertionError(f"no test case for loss {name!r}: add one")


def torch_value_and_grad(name: str, out: np.ndarray, y: np.ndarray, reduction: str):
    """torch's loss (via torch_ref.functional.compute_loss) and d loss / d out by autograd."""
    ot = torch.tensor(out, dtype=torch.float64, requires_grad=True)
    loss = compute_loss(name, ot, y, reduction)
    loss.backward()
    return loss.item(), ot.grad.numpy()


# --- 1. every loss, both reductions, against torch ------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS, ids=str)
@pytest.mark.parametrize("name", list(handmade.LOSSES), ids=str)
def test_value_and_grad_match_torch(name, reduction):
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


# --- 3. bce at saturated probabilities -------------------------------------------------------

# torch's binary_cross_entropy_backward clamps the denominator at EPSILON, declared in ATen
# as `constexpr float EPSILON = 1e-12;`: a C++ float, so in float64 the clamp is 1e-12
# rounded to float32, 9.999999960041972e-13, not the double 1e-12 (4e-9 apart, relatively).
TORCH_BCE_EPS = float(np.float32(1e-12))

# (p, y, expected term, expected d term / dp), with torch's clamps written out:
#   term = -[y max(log p, -100) + (1 - y) max(log(1 - p), -100)]
#   d/dp = (p - y) / max(p (1 - p), EPSILON)
SATURATED = [
    pytest.param(0.0, 0.0, -(0.0 * -100.0 + 1.0 * math.log(1.0)),
                 (0.0 - 0.0) / TORCH_BCE_EPS, id="p0-y0"),
    pytest.param(0.0, 1.0, -(1.0 * -100.0 + 0.0 * math.log(1.0)),
                 (0.0 - 1.0) / TORCH_BCE_EPS, id="p0-y1"),
    pytest.param(1.0, 0.0, -(0.0 * math.log(1.0) + 1.0 * -100.0),
                 (1.0 - 0.0) / TORCH_BCE_EPS, id="p1-y0"),
    pytest.param(1.0, 1.0, -(1.0 * math.log(1.0) + 0.0 * -100.0),
                 (1.0 - 1.0) / TORCH_BCE_EPS, id="p1-y1"),
]


def test_torch_bce_clamp_constant_is_the_float32_epsilon():
    """The witness for TORCH_BCE_EPS: torch's own float64 gradient at p = 0, y = 1."""
    p = torch.zeros(1, 1, dtype=torch.float64, requires_grad=True)
    F.binary_cross_entropy(p, torch.ones(1, 1, dtype=torch.float64)).backward()
    assert p.grad.item() == -1.0 / TORCH_BCE_EPS


@pytest.mark.parametrize(("p", "label", "term", "dterm"), SATURATED)
def test_bce_saturated_single_output(p, label, term, dterm):
    out, y = np.array([[p]]), np.array([label])
    loss = handmade.get_loss("bce")
    with strict_floating_point():
        value, grad = loss.value(out, y), loss.grad(out, y)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    # m = 1: the written-out term and its derivative, one or two roundings each.
    np.testing.assert_allclose(value, term, rtol=1e-15, atol=0)
    np.testing.assert_allclose(grad, [[dterm]], rtol=1e-15, atol=0)

    ot = torch.tensor(out, requires_grad=True)
    loss_torch = F.binary_cross_entropy(ot, torch.tensor(y.reshape(1, 1)))
    loss_torch.backward()
    # torch's clamps are the same arithmetic: one or two roundings apart at most.
    np.testing.assert_allclose(value, loss_torch.item(), rtol=1e-15, atol=0)
    np.testing.assert_allclose(grad, ot.grad.numpy(), rtol=1e-15, atol=0)


@pytest.mark.parametrize("reduction", REDUCTIONS, ids=str)
def test_bce_saturated_batch_mixed_with_ordinary_outputs(reduction):
    # the four saturated combinations, one p so small that p (1 - p) is clamped although
    # p > 0, then two ordinary probabilities
    out = np.array([[0.0], [0.0], [1.0], [1.0], [1e-13], [0.25], [0.5]])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0])
    n = out.size if reduction == "mean" else 1
    expected_value = (0.0 + 100.0 + 100.0 + 0.0 - math.log(1e-13) - math.log(0.25)
                      - math.log(0.5)) / n
    expected_grad = np.array([[0.0], [-1.0 / TORCH_BCE_EPS], [1.0 / TORCH_BCE_EPS], [0.0],
                              [(1e-13 - 1.0) / TORCH_BCE_EPS],
                              [(0.25 - 1.0) / (0.25 * 0.75)],
                              [(0.5 - 0.0) / (0.5 * 0.5)]]) / n
    loss = handmade.get_loss("bce")
    with strict_floating_point():
        value, grad = loss.value(out, y, reduction), loss.grad(out, y, reduction)
    # a few roundings per entry, summed over 7 terms: the float64 tolerance above
    np.testing.assert_allclose(value, expected_value, rtol=RTOL64, atol=0)
    np.testing.assert_allclose(grad, expected_grad, rtol=RTOL64, atol=0)

    value_torch, grad_torch = torch_value_and_grad("bce", out, y, reduction)
    np.testing.assert_allclose(value, value_torch, rtol=RTOL64, atol=0)
    np.testing.assert_allclose(grad, grad_torch, rtol=RTOL64, atol=0)


# --- 4. cross_entropy: fused gradient = softmax backward of the nll gradient = torch ---------

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


@pytest.mark.parametrize("reduction", REDUCTIONS, ids=str)
def test_cross_entropy_is_stable_for_huge_logits(reduction):
    z = np.array([[1e4, -1e4, 0.0],
                  [-1e4, 1e4, 1e4],
                  [0.0, 0.0, -1e4]])
    y = np.array([1, 0, 2])
    n = 3 if reduction == "mean" else 1
    # logsumexp - z_y per row: row 0: 1e4 - (-1e4); row 1: (1e4 + log 2) - (-1e4);
    # row 2: log 2 - (-1e4)  (every exp(-1e4) underflows to an exact 0 beside 1)
    expected_value = (2e4 + (2e4 + math.log(2.0)) + (1e4 + math.log(2.0))) / n
    # softmax - onehot per row: [1, 0, 0] - e1, [0, .5, .5] - e0, [.5, .5, 0] - e2
    expected_grad = np.array([[1.0, -1.0, 0.0],
                              [-1.0, 0.5, 0.5],
                              [0.5, 0.5, -1.0]]) / n
    loss = handmade.get_loss("cross_entropy")
    with strict_floating_point():
        value, grad = loss.value(z, y, reduction), loss.grad(z, y, reduction)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(value, expected_value, rtol=RTOL64, atol=0)
    np.testing.assert_allclose(grad, expected_grad, rtol=RTOL64, atol=ATOL64)

    value_torch, grad_torch = torch_value_and_grad("cross_entropy", z, y, reduction)
    np.testing.assert_allclose(value, value_torch, rtol=RTOL64, atol=0)
    np.testing.assert_allclose(grad, grad_torch, rtol=RTOL64, atol=ATOL64)


# --- 5. perceptron ---------------------------------------------------------------------------

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


# --- 6. bce_with_logits at huge |z| ------------------------------------------------------------

@pytest.mark.parametrize(
    ("dtype", "big", "rtol", "atol"),
    [
        pytest.param(np.float64, 1e4, RTOL64, ATOL64, id="float64-1e4"),
        pytest.param(np.float32, 80.0, RTOL32, ATOL32, id="float32-80"),
    ],
)
@pytest.mark.parametrize("reduction", REDUCTIONS, ids=str)
def test_bce_with_logits_is_stable_for_huge_logits(dtype, big, rtol, atol, reduction):
    z = np.array([[big], [-big], [big], [-big], [0.0]], dtype=dtype)
    y = np.array([1.0, 1.0, 0.0, 0.0, 1.0], dtype=dtype)
    n = 5 if reduction == "mean" else 1
    # terms max(z, 0) - z y + log(1 + e^-|z|): [0, big, big, 0, log 2] (e^-big ~ 0 beside 1)
    expected_value = (2.0 * big + math.log(2.0)) / n
    # sigmoid(z) - y: [0, -1, 1, 0, -1/2]
    expected_grad = np.array([[0.0], [-1.0], [1.0], [0.0], [-0.5]]) / n
    loss = handmade.get_loss("bce_with_logits")
    with strict_floating_point():
        value, grad = loss.value(z, y, reduction), loss.grad(z, y, reduction)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert grad.dtype == dtype
    np.testing.assert_allclose(value, expected_value, rtol=rtol, atol=0)
    np.testing.assert_allclose(grad, expected_grad, rtol=rtol, atol=atol)

    # torch in float64 on the same values
    value_torch, grad_torch = torch_value_and_grad(
        "bce_with_logits", z.astype(np.float64), y.astype(np.float64), reduction)
    np.testing.assert_allclose(value, value_torch, rtol=rtol, atol=0)
    np.testing.assert_allclose(grad, grad_torch, rtol=rtol, atol=atol)


# --- 7. errors ---------------------------------------------------------------------------------

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
