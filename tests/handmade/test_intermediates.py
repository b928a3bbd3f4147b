"""``MLP.intermediates``: Z_l, A_l and delta_l of the last call, against torch's twin.

The twin (``torch_ref.TorchMLP``) keeps every ``Z_l`` in ``zs`` and, through
``retain_grad``, every ``dL/dZ_l`` in ``deltas``. float64 on both sides: the same formulas,
rounded in another order (BLAS blocking), so entries agree to a few ulp of the largest
term summed into them; rtol 1e-12 with atol 1e-13 leaves a wide margin while a real slip
(a transposed weight, a missing factor) is off by 1e-2 or more.
"""

from __future__ import annotations

import numpy as np
import pytest

from handgrad import handmade
from handgrad.compare import build_twins
from handgrad.compare.spec import Spec
from handgrad.handmade.mlp import LayerIntermediates
from handgrad.torch_ref.functional import ACTIVATIONS as TORCH_ACTIVATIONS

RTOL, ATOL = 1e-12, 1e-13

NETS = [
    pytest.param(Spec((3, 4, 2), ("tanh", "identity"), "mse"), 2, id="3-4-2-tanh-mse"),
    pytest.param(Spec((2, 5, 3, 1), ("relu", "sigmoid", "sigmoid"), "bce"), 1,
                 id="2-5-3-1-relu-sigmoid-bce"),
    pytest.param(Spec((4, 3, 3), ("silu", "identity"), "cross_entropy"), 3,
                 id="4-3-3-silu-cross-entropy"),
]


def data(spec: Spec, rng: np.random.Generator, m: int = 6):
    X = rng.standard_normal((m, spec.sizes[0]))
    k = spec.sizes[-1]
    if spec.loss == "cross_entropy":
        return X, np.arange(m) % k
    if spec.loss == "bce":
        return X, (rng.random(m) < 0.5).astype(np.float64)
    return X, rng.standard_normal((m, k))


@pytest.mark.parametrize(("spec", "seed"), NETS)
def test_intermediates_equal_torch_z_a_and_deltas(spec, seed):
    hand, twin = build_twins(spec, seed=seed)
    X, y = data(spec, np.random.default_rng(seed))
    hand.loss_and_grads(X, y)
    twin.loss_and_grads(X, y)
    layers = hand.intermediates
    assert len(layers) == len(twin.zs) == len(spec.activations)
    for layer, (record, Zt, dt) in enumerate(zip(layers, twin.zs, twin.deltas)):
        assert isinstance(record, LayerIntermediates)
        m, out = X.shape[0], spec.sizes[layer + 1]
        assert record.Z.shape == record.A.shape == record.delta.shape == (m, out)
        assert record.A_prev.shape == (m, spec.sizes[layer])
        np.testing.assert_allclose(record.Z, Zt.detach().numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=f"Z_{layer}")
        At = TORCH_ACTIVATIONS[spec.activations[layer]](Zt)
        np.testing.assert_allclose(record.A, At.detach().numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=f"A_{layer}")
        np.testing.assert_allclose(record.delta, dt.numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=f"delta_{layer}")


def test_each_layer_reads_the_layer_below():
    model = handmade.MLP([3, 4, 4, 2], ["tanh", "relu", "identity"], "mse", seed=1)
    X = np.random.default_rng(0).standard_normal((5, 3))
    model.forward(X)
    layers = model.intermediates
    np.testing.assert_array_equal(layers[0].A_prev, X)
    for below, above in zip(layers, layers[1:]):
        assert above.A_prev is below.A
    for layer, record in enumerate(layers):
        W, b = model.params[f"layers.{layer}.weight"], model.params[f"layers.{layer}.bias"]
        np.testing.assert_array_equal(record.Z, record.A_prev @ W.T + b)  # the same line


def test_a_forward_pass_alone_has_no_deltas():
    model = handmade.MLP([2, 3, 1], ["tanh", "sigmoid"], "bce")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((4, 2)), np.array([0.0, 1.0, 1.0, 0.0])
    with pytest.raises(RuntimeError, match="call forward"):
        _ = model.intermediates
    model.loss_and_grads(X, y)
    assert all(record.delta is not None for record in model.intermediates)
    model.forward(X[:2])  # a new forward: the old deltas belong to another batch
    assert [record.delta for record in model.intermediates] == [None, None]
    assert model.intermediates[0].Z.shape == (2, 3)


@pytest.mark.parametrize("cls", [handmade.LogisticNeuron, handmade.LinearNeuron])
def test_closed_form_neurons_show_their_intermediates(cls):
    neuron = cls(3, seed=2)
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((5, 3)), (rng.random(5) < 0.5).astype(np.float64)
    neuron.loss_and_grads(X, y)
    (record,) = neuron.intermediates
    Z = X @ neuron.params["layers.0.weight"].T + neuron.params["layers.0.bias"]
    np.testing.assert_allclose(record.Z, Z, rtol=1e-15, atol=0)
    np.testing.assert_array_equal(record.A, neuron.predict(X) if cls is handmade.LinearNeuron
                                  else neuron.predict_proba(X))
    assert record.delta is neuron.deltas[0]
    np.testing.assert_array_equal(record.A_prev, X)
