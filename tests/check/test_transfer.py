"""Copying parameters between the twins, devices, and building twins from one spec.

The witness for a copy is the source itself: a float64 copy must be bit-exact, and a copy
into float32 must equal the source rounded to float32 by NumPy (one IEEE rounding).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handgrad import handmade, torch_ref
from handgrad.compare.spec import Spec, build_twins
from handgrad.compare.transfer import hand_to_torch, torch_to_hand

CUDA = pytest.param("cuda", marks=[pytest.mark.cuda,
                                   pytest.mark.skipif(not torch.cuda.is_available(),
                                                      reason="no CUDA device")])
DEVICES = [pytest.param("cpu", id="cpu"), CUDA]

NP = {"float32": np.float32, "float64": np.float64}
TORCH = {"float32": torch.float32, "float64": torch.float64}

SIZES, ACTS = [4, 6, 3, 2], ["tanh", "relu", "identity"]


def hand_model(dtype="float64", seed=1, sizes=SIZES, acts=ACTS):
    return handmade.MLP(sizes, acts, "mse", seed=seed, dtype=NP[dtype])


def torch_model(dtype="float64", seed=2, device="cpu", sizes=SIZES, acts=ACTS):
    return torch_ref.TorchMLP(sizes, acts, "mse", dtype=TORCH[dtype], device=device, seed=seed)


def state_numpy(model):
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


# --- exact copies, float64 ------------------------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
def test_hand_to_torch_copies_exactly(device):
    hand, twin = hand_model(), torch_model(device=device)
    assert not np.array_equal(state_numpy(twin)["layers.0.weight"],
                              hand.params["layers.0.weight"])  # different to begin with
    hand_to_torch(hand, twin)
    state = twin.state_dict()
    assert list(state) == list(hand.params)
    for key, value in hand.params.items():
        assert state[key].dtype == torch.float64, key
        assert state[key].device.type == device, key
        np.testing.assert_array_equal(state[key].cpu().numpy(), value, err_msg=key)
    # the copy is a copy: changing the source afterwards leaves the twin alone
    before = state_numpy(twin)
    for value in hand.params.values():
        value += 1.0
    for key, value in state_numpy(twin).items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


@pytest.mark.parametrize("device", DEVICES)
def test_torch_to_hand_copies_exactly_in_place(device):
    hand, twin = hand_model(), torch_model(device=device)
    objects = {k: id(v) for k, v in hand.params.items()}
    torch_to_hand(twin, hand)
    expected = state_numpy(twin)
    for key, value in hand.params.items():
        assert id(value) == objects[key], key  # the same arrays, filled in place
        assert value.dtype == np.float64, key
        np.testing.assert_array_equal(value, expected[key], err_msg=key)
    # not aliased to torch's storage: a torch update does not reach the handmade side
    with torch.no_grad():
        for p in twin.parameters():
            p.add_(1.0)
    for key, value in hand.params.items():
        np.testing.assert_array_equal(value, expected[key], err_msg=key)


def test_hand_to_torch_accepts_a_params_dict():
    rng = np.random.default_rng(3)
    twin = torch_model()
    params = {k: rng.normal(size=tuple(v.shape)) for k, v in twin.state_dict().items()}
    hand_to_torch(params, twin)
    for key, value in state_numpy(twin).items():
        np.testing.assert_array_equal(value, params[key], err_msg=key)


@pytest.mark.parametrize("device", DEVICES)
def test_round_trip_torch_hand_torch_is_identity(device):
    hand, twin = hand_model(), torch_model(device=device)
    original = state_numpy(twin)
    torch_to_hand(twin, hand)
    other = torch_model(seed=9, device=device)
    hand_to_torch(hand, other)
    for key, value in state_numpy(other).items():
        np.testing.assert_array_equal(value, original[key], err_msg=key)


# --- each side keeps its dtype ---------------------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("hand_dtype", "torch_dtype"),
                         [("float32", "float64"), ("float64", "float32"),
                          ("float32", "float32")],
                         ids=["hand32-torch64", "hand64-torch32", "hand32-torch32"])
def test_copies_keep_each_sides_dtype(hand_dtype, torch_dtype, device):
    # torch -> hand
    hand, twin = hand_model(hand_dtype), torch_model(torch_dtype, device=device)
    torch_to_hand(twin, hand)
    source = state_numpy(twin)
    for key, value in hand.params.items():
        assert value.dtype == NP[hand_dtype], key
        # one rounding (or none) of the source to the handmade dtype: exact equality
        np.testing.assert_array_equal(value, source[key].astype(NP[hand_dtype]), err_msg=key)

    # hand -> torch
    hand, twin = hand_model(hand_dtype, seed=5), torch_model(torch_dtype, device=device)
    hand_to_torch(hand, twin)
    for key, value in twin.state_dict().items():
        assert value.dtype == TORCH[torch_dtype], key
        assert value.device.type == device, key
        expected = hand.params[key].astype(NP[torch_dtype])
        np.testing.assert_array_equal(value.cpu().numpy(), expected, err_msg=key)
    if hand_dtype != torch_dtype:
        # the values really went through a rounding: float64 draws are not float32 numbers
        wide = hand.params if hand_dtype == "float64" else source  # the float64 source
        assert any(not np.array_equal(v, v.astype(np.float32)) for v in wide.values())


# --- layout mismatches -----------------------------------------------------------------------

MISMATCHES = [
    pytest.param([4, 6, 2], ["tanh", "identity"], ["layers.2.weight", "layers.2.bias"],
                 id="hand-one-layer-short"),
    pytest.param([4, 6, 3, 2, 2], ["tanh", "relu", "identity", "identity"],
                 ["layers.3.weight", "layers.3.bias"], id="hand-one-layer-long"),
    pytest.param([4, 5, 3, 2], ACTS, ["layers.0.weight", "layers.0.bias", "layers.1.weight"],
                 id="hidden-width-differs"),
    pytest.param([5, 6, 3, 2], ACTS, ["layers.0.weight"], id="input-width-differs"),
]


@pytest.mark.parametrize(("sizes", "acts", "keys"), MISMATCHES)
@pytest.mark.parametrize("direction", ["hand_to_torch", "torch_to_hand"])
def test_mismatched_layout_raises_naming_the_key(direction, sizes, acts, keys):
    hand, twin = hand_model(sizes=sizes, acts=acts), torch_model()
    hand_before = {k: v.copy() for k, v in hand.params.items()}
    torch_before = state_numpy(twin)
    with pytest.raises(ValueError) as info:
        if direction == "hand_to_torch":
            hand_to_torch(hand, twin)
        else:
            torch_to_hand(twin, hand)
    message = str(info.value)
    for key in keys:
        assert key in message, (key, message)
    # and nothing was copied before the check failed
    for key, value in hand.params.items():
        np.testing.assert_array_equal(value, hand_before[key], err_msg=key)
    for key, value in state_numpy(twin).items():
        np.testing.assert_array_equal(value, torch_before[key], err_msg=key)


def test_mismatched_key_names_raise():
    twin = torch_model()
    params = {k.replace("weight", "kernel"): v.numpy() for k, v in twin.state_dict().items()}
    with pytest.raises(ValueError) as info:
        hand_to_torch(params, twin)
    assert "layers.0.weight" in str(info.value) and "layers.0.kernel" in str(info.value)


# --- devices ---------------------------------------------------------------------------------

@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_resolve_cuda_without_cuda_raises(device):
    with pytest.raises(ValueError, match="CUDA") as info:
        torch_ref.resolve_device(device)
    assert "cpu" in str(info.value)  # says what to use instead
    with pytest.raises(ValueError, match="CUDA"):
        torch_ref.TorchMLP([2, 1], ["identity"], "mse", device=device)


@pytest.mark.parametrize("device", ["tpu", "gpu", "", 3.5])
def test_resolve_unknown_device_raises(device):
    with pytest.raises(ValueError, match="cpu"):
        torch_ref.resolve_device(device)


@pytest.mark.parametrize("device", DEVICES)
def test_resolve_known_device(device):
    assert torch_ref.resolve_device(device) == torch.device(device)


# --- build_twins and Spec ---------------------------------------------------------------------

SPECS = [
    pytest.param(Spec((3, 1), ("sigmoid",), "bce"), id="3-1-bce"),
    pytest.param(Spec((4, 6, 3), ("tanh", "identity"), "mse"), id="4-6-3-mse"),
    pytest.param(Spec((4, 5, 3), ("relu", "identity"), "cross_entropy", "sum"), id="ce-sum"),
    pytest.param(Spec((2, 5, 4, 2), ("gelu", "elu", "identity"), "half_mse"), id="depth3"),
]


def labels_for(spec, m, rng):
    k = spec.sizes[-1]
    if spec.loss == "cross_entropy":
        return rng.integers(0, k, size=m)
    if spec.loss == "bce":
        return (rng.random((m, k)) < 0.5).astype(np.float64)
    return rng.normal(size=(m, k))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("spec", SPECS)
def test_build_twins_equal_params_and_losses(spec, dtype, device):
    hand, twin = build_twins(spec, seed=4, dtype=dtype, device=device)
    assert hand.dtype == NP[dtype] and twin.dtype == TORCH[dtype]
    assert twin.device.type == device
    # the handmade side is the seeded initialization itself
    fresh = spec.hand(seed=4, dtype=dtype)
    for key, value in state_numpy(twin).items():
        np.testing.assert_array_equal(value, hand.params[key], err_msg=key)
        np.testing.assert_array_equal(hand.params[key], fresh.params[key], err_msg=key)

    rng = np.random.default_rng(6)
    X = rng.normal(size=(8, spec.sizes[0]))
    y = labels_for(spec, 8, rng)
    loss_h, _ = hand.loss_and_grads(X, y)
    loss_t, _ = twin.loss_and_grads(X, y)
    # float64: same formulas, different rounding order, a few ulp (see test_models RTOL64).
    # float32: a loss of a few dozen float32 terms, each through a handful of roundings of
    # eps32 = 1.2e-7 on both sides (measured <= 7.4e-8 relative); 1e-5 leaves a margin
    # > 100, and a real mismatch (other params, other reduction) is off by 1e-2 or more.
    rel = 1e-12 if dtype == "float64" else 1e-5
    assert loss_h == pytest.approx(loss_t, rel=rel, abs=0)
    # both sides reduce as the spec says (a sum is >= 8 times the mean, so the loss check
    # above would also catch one side summing and the other averaging)
    assert twin.reduction == hand.reduction == spec.reduction


def test_build_twins_seed_changes_params():
    spec = Spec((3, 4, 1), ("tanh", "identity"), "mse")
    a, _ = build_twins(spec, seed=1)
    b, _ = build_twins(spec, seed=2)
    assert not np.array_equal(a.params["layers.0.weight"], b.params["layers.0.weight"])


@pytest.mark.parametrize("spec", SPECS)
def test_spec_of_round_trips(spec):
    hand, twin = build_twins(spec)
    assert Spec.of(hand) == spec
    assert Spec.of(twin) == spec
    assert Spec.of(spec.hand(seed=3)) == spec
    assert Spec.of(spec.torch()) == spec
    for side in (Spec.of(hand), Spec.of(twin)):
        assert isinstance(side.sizes, tuple) and isinstance(side.activations, tuple)


def test_spec_of_something_else_raises():
    with pytest.raises(TypeError, match="sizes"):
        Spec.of(object())
