"""handmade losses at the extremes: bce at saturated probabilities (torch's clamps), and
cross_entropy and bce_with_logits at huge logits, against written-out values and torch.

The handmade side runs under the ``strict_floating_point`` fixture (tests/conftest.py): no
overflow, no invalid operation, no warning.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from handgrad import handmade
from tests.handmade.loss_cases import (
    ATOL32,
    ATOL64,
    REDUCTIONS,
    RTOL32,
    RTOL64,
    torch_value_and_grad,
)

# --- 1. bce at saturated probabilities -------------------------------------------------------

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
def test_bce_saturated_single_output(p, label, term, dterm, strict_floating_point):
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
def test_bce_saturated_batch_mixed_with_ordinary_outputs(reduction, strict_floating_point):
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


# --- 2. cross_entropy at huge logits --------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS, ids=str)
def test_cross_entropy_is_stable_for_huge_logits(reduction, strict_floating_point):
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


# --- 3. bce_with_logits at huge |z| ------------------------------------------------------------

@pytest.mark.parametrize(
    ("dtype", "big", "rtol", "atol"),
    [
        pytest.param(np.float64, 1e4, RTOL64, ATOL64, id="float64-1e4"),
        pytest.param(np.float32, 80.0, RTOL32, ATOL32, id="float32-80"),
    ],
)
@pytest.mark.parametrize("reduction", REDUCTIONS, ids=str)
def test_bce_with_logits_is_stable_for_huge_logits(dtype, big, rtol, atol, reduction,
                                                   strict_floating_point):
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
