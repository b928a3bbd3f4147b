"""Numerics at the extremes: pre-activations |Z| up to 1e4 (float64) and 80 (float32).

Everything here runs under ``strict_floating_point`` (overflow, division by zero, invalid
operations and any warning raise; underflow to 0 is allowed, it is exact in the limit).

1. The whole verification matrix with its inputs scaled until the largest |Z| of the model
   reaches the target: hand gradients still match torch autograd with the checker's own
   tolerances (``compare.check.tolerances``), and nothing warns.
2. Every layer saturated (each layer's weights scaled so that its own largest |Z| reaches
   the target): here the float64 reference itself loses relative accuracy, and the test
   states by how much (see ``saturation_allowance``).
3. Every loss on outputs at ±target: finite and equal to torch.
4. ``nll`` on probabilities that underflow to 0: +inf on both twins (the unfused path is the
   unstable one; ``cross_entropy`` on logits is the stable one), without a NumPy warning.
5. The logistic neuron at |z| up to the target: its closed form against torch autograd of
   the same loss written on z (``binary_cross_entropy_with_logits``), whose derivative is
   the exact sigma(z) - y.
"""

import math

import numpy as np
import pytest
import torch

from handgrad import handmade
from handgrad.compare.check.gradcheck import check_gradients
from handgrad.compare.check.suite import default_configs, make_data
from handgrad.compare.check.tolerances import AUTOGRAD
from handgrad.compare.spec import Spec
from handgrad.compare.transfer import NUMPY_DTYPES, hand_to_torch, to_numpy64
from handgrad.torch_ref.functional import compute_loss

TARGET = {"float64": 1e4, "float32": 80.0}
# nll reads probabilities: at these logits p_y underflows to 0 and -log 0 = inf on both
# twins (section 4 pins that). The logistic neuron's closed form (A - Y)/m is the exact
# derivative, which torch's clamped BCELoss chain is not once a(1 - a) < 1e-12
# (docs/derivations/logistic_neuron.md); section 5 checks it against autograd of the exact
# loss. Every other config must pass as it is.
CONFIGS = [c for c in default_configs()
           if not c.name.endswith(("-nll", "-nll-sum")) and c.name != "logistic_neuron"]
DTYPES = ["float64", "float32"]


def largest_z(model, X) -> list[float]:
    """max |Z_l| per layer."""
    return [float(np.max(np.abs(Z))) for Z in model.preactivations(X)]


def scale_inputs(model, X, target):
    """X times s, s chosen (three rounds: biases make Z not quite linear in s) so that the
    largest |Z| of any layer is the target."""
    for _ in range(3):
        X = X * (target / max(largest_z(model, X)))
    return X


def ids(configs):
    return [c.name for c in configs]


# --- 1. the matrix with huge inputs ------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cfg", CONFIGS, ids=ids(CONFIGS))
def test_matrix_with_huge_inputs_matches_autograd_silently(cfg, dtype, strict_floating_point):
    model = cfg.build(NUMPY_DTYPES[dtype])
    X, y = make_data(model, cfg.loss)
    X = scale_inputs(model, X, TARGET[dtype])
    reached = max(largest_z(model, X))
    assert 0.9 * TARGET[dtype] <= reached <= 1.1 * TARGET[dtype], reached

    with strict_floating_point():
        report = check_gradients(model, X, y, fd=None)  # autograd is the reference here:
        # central differences of a loss of size 1e4..1e8 are not (h = 1e-5 of the weight)
        loss, grads = model.loss_and_grads(X, y)
    assert report.ok, str(report)
    assert math.isfinite(loss)
    assert all(np.all(np.isfinite(g)) for g in grads.values())


# --- 2. every layer saturated --------------------------------------------------------------

def saturate_every_layer(model, X, target):
    """Scale each layer's W and b, from the first up, until its own max |Z| is the target."""
    for layer in range(model.n_layers):
        s = target / largest_z(model, X)[layer]
        model.params[f"layers.{layer}.weight"] *= s
        model.params[f"layers.{layer}.bias"] *= s


# Largest |f'(z)| of each hidden activation (closed forms: silu' peaks at 1.0998 near
# z = 2.4, gelu' at 1.1289 near z = 1.4; the others are at most 1).
MAX_SLOPE = 1.13


def saturation_allowance(model, X, ref_deltas, eps) -> dict[str, float]:
    """Absolute Frobenius-norm error each gradient may carry from saturated hidden units.

    A saturating derivative is computed from the activation's rounded output: tanh' as
    1 - a², sigmoid' as a (1 - a). Each twin's a is within 1 ulp(1) = eps of the true
    value (NumPy's and torch's tanh/exp are different implementations), so the two
    derivatives may differ by up to 2 (eps + eps) = 4 eps in absolute terms, whatever
    their size: near a = ±1 that is an O(1) relative difference of a tiny number. So in
    hidden layer l, where dZ_l = f'(Z_l) * dA_l, the twins' dZ_l may differ by
    E_l = 4 eps ‖dA_l‖ + MAX_SLOPE ‖W_(l+1)‖₂ E_(l+1) (the second term: what the layer
    above passes down through dA_l = dZ_(l+1) W_(l+1)). The output layer's dZ is the
    loss's fused derivative on both sides (no such term: E_L = 0). Then
    ‖δ dW_l‖ <= E_l ‖A_(l-1)‖ and ‖δ db_l‖ <= E_l √m.
    """
    L = model.n_layers - 1
    m = X.shape[0]
    inputs = [layer.A_prev for layer in model.intermediates]  # A_(l-1) for each layer l
    allowance, E = {}, 0.0
    for layer in range(L, -1, -1):
        if layer < L:
            W_up = model.params[f"layers.{layer + 1}.weight"].astype(np.float64)
            dA = ref_deltas[layer + 1] @ W_up  # dL/dA_l from the reference
            E = 4 * eps * np.linalg.norm(dA) + MAX_SLOPE * np.linalg.norm(W_up, 2) * E
        allowance[f"delta[{layer}]"] = E
        allowance[f"layers.{layer}.weight"] = E * np.linalg.norm(inputs[layer])
        allowance[f"layers.{layer}.bias"] = E * math.sqrt(m)
    return allowance


def compare_saturated(model, X, y, dtype, strict_floating_point):
    """``{name: (error, bound)}`` for every gradient and delta of ``model`` vs its twin.

    The twin has the model's own dtype: in float32 the sigmoid rounds to exactly 1 from
    z ~ 17 on, where float64 still has 1 - 1e-8; bce's clamps then engage on one side only
    (log 0 -> -100 vs -17), and a float64 reference would answer a different question.
    """
    twin = Spec.of(model).torch(dtype=dtype)
    hand_to_torch(model, twin)
    _, ref = twin.loss_and_grads(X, y)
    ref = {k: to_numpy64(v) for k, v in ref.items()}
    ref.update({f"delta[{i}]": to_numpy64(d) for i, d in enumerate(twin.deltas)})
    with strict_floating_point():
        _, grads = model.loss_and_grads(X, y)
    got = dict(grads) | {f"delta[{i}]": d for i, d in enumerate(model.deltas)}
    eps = float(np.finfo(dtype).eps)
    allowance = saturation_allowance(model, X, [ref[f"delta[{i}]"] for i in
                                                range(model.n_layers)], eps)
    tol = AUTOGRAD[dtype].norm  # the checker's normwise bound for this dtype
    out = {}
    for name, r in ref.items():
        err = float(np.linalg.norm(np.asarray(got[name], np.float64) - r))  # absolute
        out[name] = (err, tol * np.linalg.norm(r) + allowance[name])
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cfg", CONFIGS, ids=ids(CONFIGS))
def test_every_layer_saturated_matches_autograd_within_the_saturation_bound(cfg, dtype,
                                                                          strict_floating_point):
    model = cfg.build(NUMPY_DTYPES[dtype])
    X, y = make_data(model, cfg.loss)
    saturate_every_layer(model, X, TARGET[dtype])
    assert min(largest_z(model, X)) >= 0.9 * TARGET[dtype]

    for name, (err, bound) in compare_saturated(model, X, y, dtype, strict_floating_point).items():
        assert err <= bound, (name, err, bound)


def test_the_saturation_bound_still_catches_a_wrong_derivative(strict_floating_point):
    """The allowance is a few eps of the upstream gradient, not a licence: tanh' written as
    1 - a (a plausible slip) is still caught in every layer of a saturated tanh net."""

    class WrongTanh(handmade.MLP):
        def activation_backward(self, layer, dA, Z, A):
            if self.activations[layer] == "tanh":
                return (1.0 - A) * dA
            return super().activation_backward(layer, dA, Z, A)

    cfg = next(c for c in CONFIGS if c.name == "mlp-30-40-20-5-tanh-mse")
    model = cfg.build(np.float64)
    wrong = WrongTanh(model.sizes, model.activations, model.loss)
    wrong.params = {k: v.copy() for k, v in model.params.items()}
    X, y = make_data(model, cfg.loss)
    saturate_every_layer(wrong, X, 1e3)
    results = compare_saturated(wrong, X, y, "float64", strict_floating_point)
    caught = [name for name, (err, bound) in results.items() if err > bound]
    assert {"layers.0.weight", "layers.1.weight"} <= set(caught), results


# --- 3. every loss at huge outputs ---------------------------------------------------------

def loss_inputs(name, big, dtype):
    """Outputs at ±big and 0 (probabilities sigmoid(±big) = 0/1 for bce), with labels."""
    z = np.array([[big, -big, 0.0], [-big, big, big], [0.0, -big, big]], dtype=dtype)
    loss = handmade.get_loss(name)
    if loss.labels == "classes":
        return z, np.array([1, 0, 2])
    if loss.labels == "binary":
        out = z[:, :1]
        if name == "bce":  # bce reads probabilities: exactly 0, 1 and 1/2 here
            out = handmade.get_activation("sigmoid").forward(out)
        return out, np.array([1.0, 1.0, 0.0], dtype=dtype)
    return z, np.ones_like(z)  # regression targets


LOSSES_ON_LOGITS = [n for n in handmade.LOSSES if n != "nll"]  # nll: section 4


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", LOSSES_ON_LOGITS)
def test_every_loss_is_finite_and_torch_equal_at_huge_outputs(name, dtype, reduction,
                                                              strict_floating_point):
    out, y = loss_inputs(name, TARGET[dtype], NUMPY_DTYPES[dtype])
    loss = handmade.get_loss(name)
    with strict_floating_point():
        value, grad = loss.value(out, y, reduction), loss.grad(out, y, reduction)
    assert math.isfinite(value) and np.all(np.isfinite(grad)) and grad.dtype == out.dtype

    ot = torch.tensor(out, requires_grad=True)  # the torch twin's loss, same dtype
    yt = torch.as_tensor(y)
    value_t = compute_loss(name, ot, yt, reduction)
    value_t.backward()
    # Same dtype and the same closed forms on both sides: a few roundings of values up to
    # 1e4 (float64) or 80 (float32): 1e-12 / 1e-5 relative, scaled to the largest entry.
    rtol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(value, value_t.item(), rtol=rtol)
    np.testing.assert_allclose(grad, ot.grad.numpy(), rtol=rtol,
                               atol=rtol * float(np.max(np.abs(ot.grad.numpy()))))


# --- 4. nll where a probability underflows -----------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_nll_of_an_underflowed_probability_is_inf_on_both_twins_without_a_warning(
        dtype, strict_floating_point):
    z = np.array([[TARGET[dtype], -TARGET[dtype]], [0.0, 0.0]], dtype=NUMPY_DTYPES[dtype])
    p = handmade.get_activation("softmax").forward(z)
    y = np.array([1, 0])  # row 0's true class has p = exp(-2 target) = 0 exactly
    assert p[0, 1] == 0.0
    with strict_floating_point():
        value = handmade.get_loss("nll").value(p, y)
        grad = handmade.get_loss("nll").grad(p, y)  # d(-log p_y / m)/dp_y = -1 / (m p_y)
    pt = torch.tensor(p, requires_grad=True)
    torch_value = compute_loss("nll", pt, torch.as_tensor(y), "mean")
    torch_value.backward()
    assert value == math.inf and torch_value.item() == math.inf
    # -1 / (2 * 0) = -inf at row 0's true class; row 1: -1 / (2 * 1/2) = -1; 0 elsewhere
    np.testing.assert_array_equal(grad, [[0.0, -math.inf], [-1.0, 0.0]])
    np.testing.assert_array_equal(grad, pt.grad.numpy())


# --- 5. the logistic neuron's closed form at saturation ----------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_logistic_neuron_closed_form_is_the_exact_derivative_at_huge_z(dtype, reduction,
                                                                       strict_floating_point):
    neuron = handmade.LogisticNeuron(4, dtype=NUMPY_DTYPES[dtype], reduction=reduction)
    X, y = make_data(neuron, "bce")
    X = scale_inputs(neuron, X, TARGET[dtype]).astype(NUMPY_DTYPES[dtype])  # as the neuron
    z = largest_z(neuron, X)[0]
    assert 0.9 * TARGET[dtype] <= z <= 1.1 * TARGET[dtype]
    with strict_floating_point():
        loss, grads = neuron.loss_and_grads(X, y)

    W = torch.tensor(neuron.params["layers.0.weight"], requires_grad=True)
    b = torch.tensor(neuron.params["layers.0.bias"], requires_grad=True)
    Xt, yt = torch.tensor(X), torch.tensor(y.reshape(-1, 1), dtype=W.dtype)
    zt = Xt @ W.T + b
    torch.nn.functional.binary_cross_entropy_with_logits(zt, yt, reduction=reduction).backward()
    # (sigma(z) - y) x summed over 8 samples on both sides, the same few roundings:
    # float64 1e-12, float32 1e-5 (a few float32 eps on sums of terms up to |x| ~ 1e2).
    rtol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(grads["layers.0.weight"], W.grad.numpy(), rtol=rtol)
    np.testing.assert_allclose(grads["layers.0.bias"], b.grad.numpy(), rtol=rtol)
    # and the value is BCELoss's, clamps included (the twin's loss)
    value = torch.nn.functional.binary_cross_entropy(torch.sigmoid(zt), yt, reduction=reduction)
    np.testing.assert_allclose(loss, value.item(), rtol=rtol)
