"""handmade activations against torch: values, derivatives, kinks, stability, softmax, step.

The handmade side is used only through ``handmade.*``; torch (``torch_ref.functional`` and
``torch.nn.functional``, differentiated by autograd) is the independent witness. float64 is
the reference dtype; float32 is checked against a float64 torch reference.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from handgrad import handmade
from handgrad.torch_ref.functional import ACTIVATIONS as TORCH_ACTIVATIONS

# Activations with a derivative that is elementwise (no softmax) and that exists (no step).
ELEMENTWISE = [name for name in handmade.ACTIVATIONS if name not in ("step", "softmax")]

# The points where the formulas switch branch or lose precision: 0 and its neighbours, the
# softplus threshold 20 and its neighbours, and values where exp(-|z|) is tiny but normal.
SPECIAL_POINTS = [0.0, 1e-8, -1e-8, 1.0, -1.0, 19.9, -19.9, 20.0, -20.0, 20.1, -20.1,
                  30.0, -30.0]

# float64 tolerance against torch. Both sides evaluate the same closed forms in float64, so
# where the result is not tiny they agree to a few ulp (observed <= 2e-15 relative): rtol
# 1e-13 leaves a margin of ~50 while any real mistake (a wrong slope, a wrong branch, a
# missing factor) is off by far more. Where the result is tiny the relative error is not
# meaningful: derivatives written through the output (1 - a*a, a*(1 - a), a + 1) cancel to
# an absolute error of a few ulp(1) = 2.2e-16, times |dA| <= ~4, and torch's gelu uses
# 0.5 (1 + erf) whose tail is only accurate to ulp(1) absolutely; atol 1e-14 covers that
# with a margin of ~10.
RTOL64 = 1e-13
ATOL64 = 1e-14

# float32 against a float64 torch reference on the same (float32) inputs: float32 eps is
# 1.2e-7 and each formula is a handful of roundings, so ~8 eps relative (1e-6) is the size
# of float32 rounding; the absolute part covers float32 cancellation (ulp(1) times |dA|).
RTOL32 = 1e-6
ATOL32 = 1e-6


def torch_value_and_grad(name: str, z: np.ndarray, dA: np.ndarray):
    """torch's f(z) and the VJP dA . df/dz by autograd, both in float64."""
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    at = TORCH_ACTIVATIONS[name](zt)
    at.backward(torch.tensor(dA, dtype=torch.float64))
    return at.detach().numpy(), zt.grad.numpy()


def random_inputs(seed: int):
    """z: special points (a (3, 5) block, with two extra ±5) over 6 random rows; dA random."""
    rng = np.random.default_rng(seed)
    special = np.array(SPECIAL_POINTS + [5.0, -5.0]).reshape(3, 5)
    z = np.concatenate([special, rng.normal(0.0, 4.0, size=(6, 5))])  # (9, 5)
    dA = rng.normal(size=z.shape)  # a random upstream gradient, never all-ones
    return z, dA


# --- 1. value and derivative against torch, float64 ----------------------------------------

@pytest.mark.parametrize("name", ELEMENTWISE, ids=str)
def test_value_matches_torch(name):
    z, dA = random_inputs(seed=1)
    a = handmade.get_activation(name).forward(z)
    a_torch, _ = torch_value_and_grad(name, z, dA)
    assert a.shape == z.shape and a.dtype == np.float64
    np.testing.assert_allclose(a, a_torch, rtol=RTOL64, atol=ATOL64)


@pytest.mark.parametrize("name", ELEMENTWISE, ids=str)
def test_backward_matches_torch_autograd(name):
    z, dA = random_inputs(seed=2)
    act = handmade.get_activation(name)
    dZ = act.backward(dA, z, act.forward(z))
    _, dZ_torch = torch_value_and_grad(name, z, dA)
    assert dZ.shape == z.shape and dZ.dtype == np.float64
    np.testing.assert_allclose(dZ, dZ_torch, rtol=RTOL64, atol=ATOL64)


# --- 2. kinks pinned to torch's convention ------------------------------------------------

@pytest.mark.parametrize(
    ("name", "torch_fn", "slope_at_zero"),
    [
        pytest.param("relu", F.relu, 0.0, id="relu"),
        pytest.param("leaky_relu", lambda t: F.leaky_relu(t, negative_slope=0.01), 0.01,
                     id="leaky_relu"),
    ],
)
@pytest.mark.parametrize("zero", [0.0, -0.0], ids=["+0", "-0"])
def test_derivative_at_kink_is_torchs(name, torch_fn, slope_at_zero, zero):
    rng = np.random.default_rng(3)
    z = np.full((2, 3), zero)
    dA = rng.normal(size=z.shape)
    act = handmade.get_activation(name)

    # The local derivative itself is the literal torch value: relu'(0) = 0, leaky'(0) = 0.01.
    local = act.derivative(z, act.forward(z))
    np.testing.assert_array_equal(local, np.full(z.shape, slope_at_zero))

    # The backward is that literal times dA: one multiplication on both sides, so exact.
    dZ = act.backward(dA, z, act.forward(z))
    np.testing.assert_array_equal(dZ, slope_at_zero * dA)

    # And torch autograd (called directly, not through torch_ref) agrees, exactly.
    zt = torch.tensor(z, requires_grad=True)
    torch_fn(zt).backward(torch.tensor(dA))
    np.testing.assert_array_equal(dZ, zt.grad.numpy())


# --- 3. numerical stability at large |z| --------------------------------------------------

STABILITY_INPUTS = {
    "float64": np.array([[1e4, -1e4, 1e3, -1e3, 80.0, -80.0, 0.0],
                         [0.0, -80.0, 80.0, -1e3, 1e3, -1e4, 1e4]], dtype=np.float64),
    "float32": np.array([[1e4, -1e4, 80.0, -80.0],
                         [-80.0, 80.0, -1e4, 1e4]], dtype=np.float32),
}


@pytest.mark.parametrize("dtype", list(STABILITY_INPUTS), ids=str)
@pytest.mark.parametrize("name", list(handmade.ACTIVATIONS), ids=str)
def test_large_inputs_are_finite_silent_and_keep_dtype(name, dtype, strict_floating_point):
    z = STABILITY_INPUTS[dtype]
    dA = np.random.default_rng(4).normal(size=z.shape).astype(z.dtype)
    act = handmade.get_activation(name)

    with strict_floating_point():
        a = act.forward(z)
        # step has no derivative (test_step_backward_raises checks that it says so)
        dZ = None if name == "step" else act.backward(dA, z, a)

    assert a.dtype == z.dtype and a.shape == z.shape
    assert np.all(np.isfinite(a))
    if dZ is not None:
        assert dZ.dtype == z.dtype and dZ.shape == z.shape
        assert np.all(np.isfinite(dZ))

    # torch in float64 on the very same (possibly float32-rounded) inputs.
    z64, dA64 = z.astype(np.float64), dA.astype(np.float64)
    if name == "step":
        a_torch = TORCH_ACTIVATIONS[name](torch.tensor(z64)).numpy()
        dZ_torch = None
    else:
        a_torch, dZ_torch = torch_value_and_grad(name, z64, dA64)
    rtol, atol = (RTOL64, ATOL64) if dtype == "float64" else (RTOL32, ATOL32)
    # torch is finite at all these points (a float64 reference); compare wherever it is.
    finite = np.isfinite(a_torch)
    assert finite.all()
    np.testing.assert_allclose(a[finite], a_torch[finite], rtol=rtol, atol=atol)
    if dZ is not None:
        finite = np.isfinite(dZ_torch)
        assert finite.all()
        np.testing.assert_allclose(dZ[finite], dZ_torch[finite], rtol=rtol, atol=atol)


# --- 4. softmax -----------------------------------------------------------------------------

def softmax_inputs(seed: int):
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 3.0, size=(5, 4))
    z[0] = [30.0, -30.0, 0.0, 1e-8]  # one row far from the others' scale
    dA = rng.normal(size=z.shape)
    return z, dA


def test_softmax_rows_sum_to_one():
    z, _ = softmax_inputs(seed=5)
    a = handmade.get_activation("softmax").forward(z)
    assert np.all(a >= 0)
    # k = 4 terms, each within 1 ulp, summed: the sum is within ~4 ulp(1) ~ 1e-15 of 1.
    np.testing.assert_allclose(a.sum(axis=-1), np.ones(z.shape[0]), rtol=0, atol=1e-15)
    np.testing.assert_allclose(a, torch.softmax(torch.tensor(z), dim=-1).numpy(),
                               rtol=RTOL64, atol=ATOL64)  # same reasons as above


def torch_softmax_jacobians(z: np.ndarray) -> np.ndarray:
    """(m, k, k): J[i, p, q] = d softmax(z_i)_p / d z_i,q, by torch's autograd, row by row."""
    return np.stack([
        torch.autograd.functional.jacobian(lambda v: torch.softmax(v, dim=-1),
                                           torch.tensor(row)).numpy()
        for row in z
    ])


def test_softmax_jacobian_keeps_float32():
    a = handmade.get_activation("softmax").forward(np.ones((2, 3), dtype=np.float32))
    J = handmade.softmax_jacobian(a)
    assert J.dtype == np.float32 and J.shape == (2, 3, 3)


def test_softmax_jacobian_matches_torch():
    z, _ = softmax_inputs(seed=6)
    a = handmade.get_activation("softmax").forward(z)
    J = handmade.softmax_jacobian(a)
    J_torch = torch_softmax_jacobians(z)
    assert J.shape == (5, 4, 4) and J.dtype == np.float64
    # entries are a_p (delta_pq - a_q), a couple of roundings: same float64 reasons as above.
    np.testing.assert_allclose(J, J_torch, rtol=RTOL64, atol=ATOL64)


def test_softmax_backward_is_the_vjp_with_the_jacobian_and_matches_autograd():
    z, dA = softmax_inputs(seed=7)
    act = handmade.get_activation("softmax")
    dZ = act.backward(dA, z, act.forward(z))

    # The VJP written out: dZ_i = dA_i @ J_i, with J from torch's autograd.
    J_torch = torch_softmax_jacobians(z)
    dZ_expected = np.einsum("ip,ipq->iq", dA, J_torch)
    np.testing.assert_allclose(dZ, dZ_expected, rtol=RTOL64, atol=ATOL64)

    # And torch autograd's backward through softmax.
    zt = torch.tensor(z, requires_grad=True)
    torch.softmax(zt, dim=-1).backward(torch.tensor(dA))
    np.testing.assert_allclose(dZ, zt.grad.numpy(), rtol=RTOL64, atol=ATOL64)


def test_softmax_is_shift_invariant():
    z, dA = softmax_inputs(seed=8)
    shift = np.array([[7.0], [-3.5], [100.0], [-250.0], [0.25]])  # one constant per row
    act = handmade.get_activation("softmax")
    a, a_shifted = act.forward(z), act.forward(z + shift)
    # z + c is rounded to ulp(|z| + |c|) <= ulp(300) ~ 6e-14, which moves each exponent by
    # that much: a relative change up to ~1e-13 in a, so rtol 1e-12 (atol for tiny entries).
    np.testing.assert_allclose(a_shifted, a, rtol=1e-12, atol=1e-15)
    dZ = act.backward(dA, z, a)
    dZ_shifted = act.backward(dA, z + shift, a_shifted)
    np.testing.assert_allclose(dZ_shifted, dZ, rtol=1e-12, atol=1e-14)


# --- 5. step -----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_step_forward_is_heaviside_with_zero_at_zero(dtype):
    z = np.array([[-2.0, -1e-30, -0.0, 0.0, 1e-30, 3.0]], dtype=dtype)
    expected = np.array([[0.0, 0.0, 0.0, 0.0, 1.0, 1.0]], dtype=dtype)
    a = handmade.get_activation("step").forward(z)
    assert a.dtype == dtype
    np.testing.assert_array_equal(a, expected)


def test_step_backward_raises():
    rng = np.random.default_rng(9)
    z = rng.normal(size=(3, 2))
    act = handmade.get_activation("step")
    with pytest.raises(ValueError, match="no gradient"):
        act.backward(rng.normal(size=z.shape), z, act.forward(z))


# --- 6. unknown names ----------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["nope", "ReLU", None, ["relu"]],
                         ids=["nope", "wrong-case", "None", "unhashable-list"])
def test_unknown_activation_lists_valid_names(bad):
    with pytest.raises(ValueError) as info:
        handmade.get_activation(bad)
    message = str(info.value)
    for valid in ("relu", "sigmoid", "softmax", "step"):
        assert valid in message


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_identity_derivative_is_ones_of_z_shape_and_dtype(dtype):
    z = np.array([[-2.0, 0.0, 3.5]], dtype=dtype)
    local = handmade.get_activation("identity").derivative(z, z)
    np.testing.assert_array_equal(local, [[1.0, 1.0, 1.0]])  # d z / d z = 1
    assert local.dtype == dtype


@pytest.mark.parametrize(("given", "dtype"), [
    pytest.param(-2.5, np.float64, id="python-float"),
    pytest.param(3, np.float64, id="python-int"),
    pytest.param(np.float32(-2.5), np.float32, id="numpy-float32"),
    pytest.param(np.array(0.75), np.float64, id="0-d-array"),
])
def test_sigmoid_of_a_scalar_is_a_scalar(given, dtype):
    value = handmade.get_activation("sigmoid").forward(given)
    assert np.ndim(value) == 0 and not isinstance(value, np.ndarray)
    assert value.dtype == dtype
    # the closed form in Python floats (math.exp); exp, the sum and the quotient each round
    # once in the value's dtype (exp within 1 ulp): 4 ulp of that dtype at most
    expected = 1.0 / (1.0 + math.exp(-float(given)))
    assert value == pytest.approx(expected, rel=4 * float(np.finfo(dtype).eps))
