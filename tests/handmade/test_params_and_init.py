"""A handmade model's parameters: the torch twin's state_dict layout, nn.Linear's init, seeds.

The witnesses are the torch_ref twin's ``state_dict()``, sizes written out in the test, and
nn.Linear's own initializer (compared in distribution, not draw by draw).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from handgrad import handmade, torch_ref
from tests.handmade.model_helpers import DTYPES

TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


ARCHITECTURES = [
    pytest.param([3, 1], ["sigmoid"], id="depth1"),
    pytest.param([4, 5, 2], ["relu", "identity"], id="depth2"),
    pytest.param([2, 6, 3, 1], ["tanh", "elu", "sigmoid"], id="depth3"),
    pytest.param([5, 4, 7, 3, 2], ["gelu", "silu", "leaky_relu", "identity"], id="depth4"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("sizes", "activations"), ARCHITECTURES)
def test_params_have_the_twins_keys_shapes_and_dtype(sizes, activations, dtype):
    hand = handmade.MLP(sizes, activations, "mse", dtype=dtype)
    twin = torch_ref.TorchMLP(sizes, activations, "mse", dtype=TORCH_DTYPE[dtype])
    state = twin.state_dict()
    assert list(hand.params) == list(state)  # same keys, same order
    for key, tensor in state.items():
        assert hand.params[key].shape == tuple(tensor.shape), key
        assert hand.params[key].dtype == dtype, key
        assert tensor.dtype == TORCH_DTYPE[dtype], key
    # and written out from the sizes: W_l (out, in), b_l (out,)
    expected = {}
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        expected[f"layers.{layer}.weight"] = (n_out, n_in)
        expected[f"layers.{layer}.bias"] = (n_out,)
    assert {k: v.shape for k, v in hand.params.items()} == expected


def torch_linear_params(n_in, n_out, seed):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        lin = torch.nn.Linear(n_in, n_out, dtype=torch.float64)
    return lin.weight.detach().numpy(), lin.bias.detach().numpy()


@pytest.mark.parametrize(("n_in", "n_out"), [(400, 300), (1000, 150)],
                         ids=["400->300", "1000->150"])
def test_init_is_nn_linears_uniform(n_in, n_out):
    hand = handmade.MLP([n_in, n_out], ["identity"], "mse", seed=7)
    W, b = hand.params["layers.0.weight"], hand.params["layers.0.bias"]
    Wt, bt = torch_linear_params(n_in, n_out, seed=7)
    bound = 1.0 / math.sqrt(n_in)  # nn.Linear: kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(fan_in))

    for name, (w, bias) in {"handmade": (W, b), "torch": (Wt, bt)}.items():
        # every draw inside the bound (a 1-ulp slack for the float64 scaling of the draw)
        assert np.abs(w).max() <= bound * (1 + 1e-15), name
        assert np.abs(bias).max() <= bound * (1 + 1e-15), name
        # The max of N >= 120_000 uniform |w| misses the bound by > 1e-3 * bound with
        # probability (1 - 1e-3)^N < e^-120: a narrower scheme fails here.
        assert np.abs(w).max() >= bound * (1 - 1e-3), name
        # n_out >= 150 biases: P(max |b| < 0.95 bound) = 0.95^150 < 5e-4.
        assert np.abs(bias).max() >= bound * 0.95, name
        # Uniform on [-a, a] has variance a^2/3. The sample variance of N draws has relative
        # standard error sqrt(4/45) * 3 / sqrt(N) = 0.89 / sqrt(N): 0.0026 for the weights
        # (rtol 0.02 is ~8 sigma) and 0.073 for 150 biases (rtol 0.4 is ~5.5 sigma). A normal
        # or a sqrt(6/fan_in) (He) scheme misses by far more (a normal fails the max check).
        np.testing.assert_allclose(w.var(), bound**2 / 3, rtol=0.02, err_msg=name)
        np.testing.assert_allclose(bias.var(), bound**2 / 3, rtol=0.4, err_msg=name)
        assert abs(w.mean()) < 5 * bound / math.sqrt(3 * w.size), name  # 5 standard errors

    # Same distribution as torch's: the two-sample Kolmogorov-Smirnov test. Under the null
    # hypothesis p is uniform on [0, 1], so a correct scheme would fail at 1e-3 for one seed
    # in a thousand (and the seeds here are fixed, so the test is deterministic: measured
    # p = 0.61/0.45 and 0.38/0.44). Against N >= 120_000 torch weights, a bound 3% too wide
    # gives p ~ 1e-11, a normal of the same variance p < 1e-170, He's sqrt(6/fan_in) p = 0.
    assert stats.ks_2samp(W.ravel(), Wt.ravel()).pvalue > 1e-3
    assert stats.ks_2samp(b, bt).pvalue > 1e-3


def test_same_seed_same_params_different_seed_different_params():
    sizes, acts = [6, 5, 3], ["tanh", "identity"]
    a, b = handmade.MLP(sizes, acts, "mse", seed=3), handmade.MLP(sizes, acts, "mse", seed=3)
    c = handmade.MLP(sizes, acts, "mse", seed=4)
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key], err_msg=key)
        assert a.params[key] is not b.params[key]
        # continuous draws: two seeds agreeing on even one entry has probability ~0
        assert not np.any(a.params[key] == c.params[key]), key


@pytest.mark.parametrize("seed", [None, 3])
def test_neuron_init_is_the_mlp_init_with_the_same_seed(seed):
    # seed=None: the documented default, 0
    neuron = handmade.LogisticNeuron(4) if seed is None else handmade.LogisticNeuron(4, seed=seed)
    mlp = handmade.MLP([4, 1], ["sigmoid"], "bce", seed=0 if seed is None else seed)
    for key, value in mlp.params.items():
        np.testing.assert_array_equal(neuron.params[key], value)
