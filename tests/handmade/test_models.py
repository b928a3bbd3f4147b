"""handmade's dense layer, MLP, neurons and SGD step against independent witnesses.

The witnesses are torch autograd on the torch_ref twins (and ``torch.nn.functional``
called directly), arithmetic written out with NumPy in the test, and nn.Linear's own
initializer. float64 is the reference dtype; float32 is checked for dtype only.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

import handmade
import torch_ref
from compare.transfer import hand_to_torch

# float64, hand vs torch autograd. Both sides evaluate the same formulas in float64 and
# differ only in the order of the roundings (BLAS blocking, torch's fused kernels), so
# each entry agrees to a few ulp of the largest term summed into it: eps 2.2e-16 times
# a few dozen terms of size <= ~10 is ~1e-14 absolutely. Measured on the MLP cases below:
# at most 1.1e-15 normwise, 7e-15 absolute (sum reduction, entries up to ~10), and the
# worst entry uses 0.15% of the allowance atol + rtol*|b|. RTOL 1e-12 / ATOL 1e-13 thus
# leave a margin of ~650, while any real mistake (a missing factor 2 or 1/m, a transposed
# weight, a wrong derivative) is off by 1e-2 relative or more.
RTOL64 = 1e-12
ATOL64 = 1e-13

# The DESIGN.md vocabulary, written out here as the independent list of valid names.
DESIGN_ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu",
                      "silu", "gelu", "softmax", "step"]
DESIGN_LOSSES = ["mse", "half_mse", "bce", "bce_with_logits", "cross_entropy", "perceptron"]

TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def assert_close64(actual, expected, what=""):
    expected = expected.detach().cpu().numpy() if isinstance(expected, torch.Tensor) else expected
    assert np.shape(actual) == np.shape(expected), what
    np.testing.assert_allclose(actual, expected, rtol=RTOL64, atol=ATOL64, err_msg=what)


def random_labels(loss: str, m: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Labels in the layout DESIGN.md gives for ``loss``, output width ``k``."""
    if loss in ("cross_entropy", "nll"):
        y = rng.integers(0, k, size=m)  # class indices (m,)
        y[:k] = np.arange(k)  # every class appears at least once
        return y
    if loss in ("bce", "bce_with_logits", "perceptron"):
        y = (rng.random((m, k)) < 0.5).astype(np.float64)
        y[0], y[1] = 0.0, 1.0  # both classes appear
        return y
    return rng.normal(size=(m, k))  # regression targets


# --- 1. dense layer -------------------------------------------------------------------------

@pytest.mark.parametrize(("m", "n_in", "n_out"), [(1, 1, 1), (5, 3, 4), (8, 6, 2), (3, 7, 9)],
                         ids=["1x1->1", "5x3->4", "8x6->2", "3x7->9"])
def test_dense_forward_backward_match_torch(m, n_in, n_out):
    rng = np.random.default_rng(10 + m)
    X, W, b = rng.normal(size=(m, n_in)), rng.normal(size=(n_out, n_in)), rng.normal(size=n_out)
    dZ = rng.normal(size=(m, n_out))  # random upstream gradient

    Z, cache = handmade.dense_forward(X, W, b)
    dX, dW, db = handmade.dense_backward(dZ, cache)

    Xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (X, W, b))
    Zt = F.linear(Xt, Wt, bt)
    Zt.backward(torch.tensor(dZ))
    assert Z.dtype == dX.dtype == dW.dtype == db.dtype == np.float64
    assert_close64(Z, Zt, "Z")
    assert_close64(dX, Xt.grad, "dX")
    assert_close64(dW, Wt.grad, "dW")
    assert_close64(db, bt.grad, "db")


# --- 2. parameter layout is the twin's state_dict -------------------------------------------

ARCHITECTURES = [
    pytest.param([3, 1], ["sigmoid"], id="depth1"),
    pytest.param([4, 5, 2], ["relu", "identity"], id="depth2"),
    pytest.param([2, 6, 3, 1], ["tanh", "elu", "sigmoid"], id="depth3"),
    pytest.param([5, 4, 7, 3, 2], ["gelu", "silu", "leaky_relu", "identity"], id="depth4"),
]
DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]


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


# --- 3. initialization is nn.Linear's -------------------------------------------------------

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


# --- 4. MLP gradients and deltas against torch autograd -------------------------------------

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


# --- 5. float32 stays float32 ----------------------------------------------------------------

@pytest.mark.parametrize(
    ("sizes", "activations", "loss"),
    [
        pytest.param([4, 5, 1], ["tanh", "sigmoid"], "bce", id="bce"),
        pytest.param([4, 5, 2], ["relu", "identity"], "mse", id="mse"),
        pytest.param([4, 5, 2], ["softplus", "identity"], "half_mse", id="half_mse"),
        pytest.param([4, 5, 3], ["gelu", "identity"], "cross_entropy", id="cross_entropy"),
        pytest.param([4, 5, 3], ["elu", "softmax"], "nll", id="nll"),
        pytest.param([4, 5, 1], ["silu", "identity"], "bce_with_logits", id="bce_with_logits"),
        pytest.param([4, 5, 1], ["leaky_relu", "identity"], "perceptron", id="perceptron"),
    ],
)
def test_float32_model_stays_float32(sizes, activations, loss):
    rng = np.random.default_rng(12)
    hand = handmade.MLP(sizes, activations, loss, dtype=np.float32)
    X = rng.normal(size=(7, sizes[0]))  # float64 on purpose
    y = random_labels(loss, 7, sizes[-1], rng)  # float64 (or int64 classes) too
    assert X.dtype == np.float64

    value, grads = hand.loss_and_grads(X, y)
    assert math.isfinite(value)
    assert hand.predict(X).dtype == np.float32
    for key, g in grads.items():
        assert g.dtype == np.float32, key
    for layer, d in enumerate(hand.deltas):
        assert d.dtype == np.float32, f"deltas[{layer}]"
    handmade.sgd_step(hand.params, grads, 0.1)
    for key, p in hand.params.items():
        assert p.dtype == np.float32, key


@pytest.mark.parametrize("cls", [handmade.LogisticNeuron, handmade.LinearNeuron,
                                 handmade.Perceptron], ids=lambda c: c.__name__)
def test_float32_neuron_stays_float32(cls):
    rng = np.random.default_rng(13)
    neuron = cls(3, dtype=np.float32)
    X = rng.normal(size=(8, 3))  # float64 on purpose
    y = random_labels("bce", 8, 1, rng)[:, 0]
    _, grads = neuron.loss_and_grads(X, y)
    for key, g in grads.items():
        assert g.dtype == np.float32, key
    assert neuron.deltas[0].dtype == np.float32
    assert neuron.predict(X).dtype == np.float32
    handmade.sgd_step(neuron.params, grads, 0.5)
    if isinstance(neuron, handmade.Perceptron):
        neuron.update(X, y, 0.5)
    for key, p in neuron.params.items():
        assert p.dtype == np.float32, key


# --- 6. sgd_step -----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lr", [0.1, 0.003, 2.5], ids=["lr0.1", "lr0.003", "lr2.5"])
def test_sgd_step_is_p_minus_lr_g_in_place(lr, dtype):
    rng = np.random.default_rng(14)
    params = {"layers.0.weight": rng.normal(size=(3, 4)).astype(dtype),
              "layers.0.bias": rng.normal(size=3).astype(dtype)}
    grads = {k: rng.normal(size=v.shape).astype(dtype) for k, v in params.items()}
    before = {k: v.copy() for k, v in params.items()}
    objects = {k: id(v) for k, v in params.items()}

    assert handmade.sgd_step(params, grads, lr) is None
    for key in params:
        assert id(params[key]) == objects[key], key  # in place: the same array objects
        assert params[key].dtype == dtype, key
        # the same two IEEE operations per entry (lr*g rounded, then the subtraction), in
        # the dtype of the params, so equality is exact; lr (a Python float) is weak.
        expected = np.array([p - dtype(lr) * g for p, g in
                             zip(before[key].ravel(), grads[key].ravel())], dtype=dtype)
        np.testing.assert_array_equal(params[key].ravel(), expected, err_msg=key)
        assert not np.array_equal(params[key], before[key])


@pytest.mark.parametrize(
    "grads_keys",
    [pytest.param(["layers.0.weight"], id="missing-key"),
     pytest.param(["layers.0.weight", "layers.0.bias", "layers.1.weight"], id="extra-key"),
     pytest.param(["layers.0.weight", "layers.9.bias"], id="renamed-key")],
)
def test_sgd_step_mismatched_keys_raise(grads_keys):
    params = {"layers.0.weight": np.ones((2, 2)), "layers.0.bias": np.ones(2)}
    grads = {k: np.full((2, 2) if k.endswith("weight") else 2, 0.5) for k in grads_keys}
    before = {k: v.copy() for k, v in params.items()}
    with pytest.raises(ValueError, match="same keys") as info:
        handmade.sgd_step(params, grads, 0.1)
    differing = set(params) ^ set(grads)
    for key in differing:
        assert key in str(info.value)
    for key in params:  # nothing was half-applied
        np.testing.assert_array_equal(params[key], before[key])


# --- 7. neurons -------------------------------------------------------------------------------

NEURONS = [
    pytest.param(handmade.LogisticNeuron, "sigmoid", "bce", id="logistic"),
    pytest.param(handmade.LinearNeuron, "identity", "mse", id="linear"),
    pytest.param(handmade.Perceptron, "identity", "perceptron", id="perceptron"),
]


def neuron_data(n, m, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    y = (rng.random(m) < 0.5).astype(np.float64)
    y[0], y[1] = 0.0, 1.0
    return X, y


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("label_shape", ["(m,)", "(m,1)"])
@pytest.mark.parametrize(("cls", "activation", "loss"), NEURONS)
def test_neuron_closed_form_matches_torch(cls, activation, loss, label_shape, reduction):
    n, m = 4, 12
    X, y = neuron_data(n, m, seed=20)
    labels = y if label_shape == "(m,)" else y[:, None]
    neuron = cls(n, seed=3, reduction=reduction)
    twin = torch_ref.TorchNeuron(n, activation, loss, dtype=torch.float64, reduction=reduction)
    hand_to_torch(neuron, twin)

    loss_h, grads_h = neuron.loss_and_grads(X, labels)
    loss_t, grads_t = twin.loss_and_grads(X, y[:, None])

    assert neuron.params["layers.0.weight"].shape == (1, n)
    assert loss_h == pytest.approx(loss_t, rel=RTOL64, abs=ATOL64)
    assert list(grads_h) == list(grads_t)
    for key in grads_t:
        assert_close64(grads_h[key], grads_t[key], key)
    assert_close64(neuron.deltas[0], twin.deltas[0], "deltas[0]")
    assert np.abs(grads_h["layers.0.weight"]).max() > 1e-3  # not two zero gradients


@pytest.mark.parametrize(("cls", "activation", "loss"), NEURONS)
def test_neuron_accepts_both_label_layouts(cls, activation, loss):
    X, y = neuron_data(3, 10, seed=21)
    neuron = cls(3, seed=1)
    loss_flat, grads_flat = neuron.loss_and_grads(X, y)
    loss_col, grads_col = neuron.loss_and_grads(X, y.reshape(-1, 1))
    assert loss_flat == loss_col  # the same numbers in the same order: exactly equal
    for key in grads_flat:
        np.testing.assert_array_equal(grads_flat[key], grads_col[key], err_msg=key)


def test_logistic_neuron_gradient_written_out():
    n, m = 5, 11
    X, y = neuron_data(n, m, seed=22)
    neuron = handmade.LogisticNeuron(n, seed=4)
    W, b = neuron.params["layers.0.weight"], neuron.params["layers.0.bias"]
    Y = y.reshape(m, 1)
    A = 1.0 / (1.0 + np.exp(-(X @ W.T + b)))  # (m, 1)
    expected_dW = (A - Y).T @ X / m  # (1, n)
    expected_db = np.array([np.mean(A - Y)])  # (1,)
    expected_loss = -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))

    value, grads = neuron.loss_and_grads(X, y)
    assert value == pytest.approx(expected_loss, rel=RTOL64, abs=ATOL64)
    assert_close64(grads["layers.0.weight"], expected_dW, "dW")
    assert_close64(grads["layers.0.bias"], expected_db, "db")
    assert_close64(neuron.predict_proba(X), A, "predict_proba")


def test_seed000_textbook_data_logistic_gradient_matches_autograd():
    # seed 000: X = [[1,2],[3,4],[5,6]] in the textbook column layout is 3 features x 2
    # samples; batch-first X is its transpose, (2 samples, 3 features). Labels [0, 1].
    textbook = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    X = textbook.T
    assert X.shape == (2, 3)
    np.testing.assert_array_equal(X, [[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]])
    y = np.array([0.0, 1.0])
    neuron = handmade.LogisticNeuron(3, seed=0)
    twin = torch_ref.TorchNeuron(3, "sigmoid", "bce", dtype=torch.float64)
    hand_to_torch(neuron, twin)

    value, grads = neuron.loss_and_grads(X, y)
    value_t, grads_t = twin.loss_and_grads(X, y)
    assert value == pytest.approx(value_t, rel=RTOL64, abs=ATOL64)
    for key in grads_t:
        assert_close64(grads[key], grads_t[key], key)
    # and directly with autograd on torch tensors, no torch_ref in between
    W = torch.tensor(neuron.params["layers.0.weight"], requires_grad=True)
    b = torch.tensor(neuron.params["layers.0.bias"], requires_grad=True)
    p = torch.sigmoid(torch.tensor(X) @ W.T + b)
    F.binary_cross_entropy(p, torch.tensor(y).reshape(2, 1)).backward()
    assert_close64(grads["layers.0.weight"], W.grad, "dW")
    assert_close64(grads["layers.0.bias"], b.grad, "db")


def set_params(neuron, W, b):
    neuron.params["layers.0.weight"][...] = W
    neuron.params["layers.0.bias"][...] = b


def test_perceptron_predict_is_step_of_z():
    neuron = handmade.Perceptron(2)
    set_params(neuron, [[1.0, -1.0]], [0.5])
    X = np.array([[0.0, 0.0], [1.0, 3.0], [2.0, 2.5], [3.0, 1.0], [-1.0, 0.0]])
    # z = x0 - x1 + 0.5 = 0.5, -1.5, 0 (exactly: on the boundary), 2.5, -0.5
    np.testing.assert_array_equal(neuron.predict(X), [[1.0], [0.0], [0.0], [1.0], [0.0]])
    assert neuron.predict(X).shape == (5, 1)


def test_perceptron_update_is_the_classic_rule_and_minus_lr_grads():
    n, m, lr = 3, 10, 0.25
    X, y = neuron_data(n, m, seed=23)
    neuron = handmade.Perceptron(n, seed=6)
    W0 = neuron.params["layers.0.weight"].copy()
    b0 = neuron.params["layers.0.bias"].copy()
    z = (X @ W0.T + b0)[:, 0]
    assert np.all(z != 0)  # no sample on the boundary here (that case is tested apart)
    wrong = (z > 0).astype(float) != y
    assert wrong.any() and not wrong.all()  # some samples move the weights, some do not

    _, grads = neuron.loss_and_grads(X, y)
    loss_before = neuron.update(X, y, lr)

    # written out: the classic rule w += lr (y - step(z)) x, averaged over the m samples
    err = y - (z > 0).astype(float)  # (m,), +-1 on misclassified samples, else 0
    expected_W = W0 + lr * (err @ X) / m
    expected_b = b0 + lr * err.sum() / m
    # float64: a sum of m products rounded once each: rtol 1e-13 (see RTOL64's reasons)
    np.testing.assert_allclose(neuron.params["layers.0.weight"], expected_W, rtol=1e-13,
                               atol=1e-15)
    np.testing.assert_allclose(neuron.params["layers.0.bias"], expected_b, rtol=1e-13,
                               atol=1e-15)
    # and it is params -= lr * grads, entry by entry (the same two roundings: exact)
    np.testing.assert_array_equal(neuron.params["layers.0.weight"],
                                  W0 - lr * grads["layers.0.weight"])
    np.testing.assert_array_equal(neuron.params["layers.0.bias"],
                                  b0 - lr * grads["layers.0.bias"])
    # the returned loss is the one before the step: mean(max(0, -s z)), s = 2y - 1
    assert loss_before == pytest.approx(np.mean(np.maximum(0.0, -(2 * y - 1) * z)),
                                        rel=1e-13, abs=0)


@pytest.mark.parametrize("label", [0.0, 1.0], ids=["y=0", "y=1"])
def test_perceptron_sample_on_the_boundary_does_not_move_weights(label):
    neuron = handmade.Perceptron(2)
    set_params(neuron, [[1.0, -1.0]], [0.0])
    # one sample exactly on the boundary (z = 2 - 2 + 0 = 0) and one misclassified sample
    X = np.array([[2.0, 2.0], [1.0, 3.0]])  # z = 0, z = -2
    y = np.array([label, 1.0])  # the second sample is class 1 but z < 0: misclassified
    lr, m = 0.5, 2

    _, grads = neuron.loss_and_grads(X, y)
    neuron.update(X, y, lr)
    # only the misclassified sample (s = +1) contributes: w += lr * x / m, b += lr / m
    np.testing.assert_array_equal(neuron.params["layers.0.weight"],
                                  [[1.0 + lr * 1.0 / m, -1.0 + lr * 3.0 / m]])
    np.testing.assert_array_equal(neuron.params["layers.0.bias"], [lr / m])
    # torch's convention agrees: relu'(0) = 0 in max(0, -s z)
    twin = torch_ref.TorchNeuron(2, "identity", "perceptron", dtype=torch.float64)
    hand_to_torch({"layers.0.weight": np.array([[1.0, -1.0]]), "layers.0.bias": np.zeros(1)},
                  twin)
    _, grads_t = twin.loss_and_grads(X, y)
    for key in grads_t:
        np.testing.assert_array_equal(grads[key], grads_t[key].numpy(), err_msg=key)

    # and the boundary sample alone moves nothing at all
    alone = handmade.Perceptron(2)
    set_params(alone, [[1.0, -1.0]], [0.0])
    alone.update(X[:1], y[:1], lr)
    np.testing.assert_array_equal(alone.params["layers.0.weight"], [[1.0, -1.0]])
    np.testing.assert_array_equal(alone.params["layers.0.bias"], [0.0])


# --- 8. input errors ----------------------------------------------------------------------

def mlp(sizes=(2, 3, 1), activations=("tanh", "identity"), loss="mse", **kw):
    return handmade.MLP(list(sizes), list(activations), loss, **kw)


CONSTRUCTION_ERRORS = [
    pytest.param(lambda: mlp(activations=["tanh"]), ValueError, ["activations", "2"],
                 id="too-few-activations"),
    pytest.param(lambda: mlp(activations=["tanh", "relu", "identity"]), ValueError,
                 ["activations", "2"], id="too-many-activations"),
    pytest.param(lambda: handmade.MLP([2, 1], "sigmoid", "bce"), ValueError,
                 ["activations", "list"], id="activations-a-string"),
    pytest.param(lambda: mlp(sizes=[2], activations=[]), ValueError, ["sizes"],
                 id="one-size"),
    pytest.param(lambda: mlp(sizes=[2, 0, 1]), ValueError, ["sizes", "positive"],
                 id="zero-size"),
    pytest.param(lambda: mlp(sizes=[2, -3, 1]), ValueError, ["sizes", "positive"],
                 id="negative-size"),
    pytest.param(lambda: mlp(sizes=[2, 2.5, 1]), ValueError, ["sizes"], id="fractional-size"),
    pytest.param(lambda: mlp(sizes=["two", 3, 1]), ValueError, ["sizes"], id="text-size"),
    pytest.param(lambda: mlp(sizes=[2, True, 1]), ValueError, ["sizes"], id="bool-size"),
    pytest.param(lambda: mlp(activations=["tanh", "swish"]), ValueError,
                 ["unknown activation", "swish", *DESIGN_ACTIVATIONS], id="unknown-activation"),
    pytest.param(lambda: mlp(loss="hinge"), ValueError, ["unknown loss", "hinge", *DESIGN_LOSSES],
                 id="unknown-loss"),
    pytest.param(lambda: mlp(activations=["step", "identity"]), ValueError,
                 ["step", "gradient", "Perceptron"], id="step-in-mlp"),
    pytest.param(lambda: mlp(reduction="none"), ValueError, ["reduction", "mean", "sum"],
                 id="bad-reduction"),
    pytest.param(lambda: mlp(dtype=np.int64), TypeError, ["dtype", "float32", "float64"],
                 id="int64-dtype"),
    pytest.param(lambda: mlp(dtype=np.float16), TypeError, ["dtype", "float32", "float64"],
                 id="float16-dtype"),
    pytest.param(lambda: handmade.LogisticNeuron(0), ValueError, ["sizes"],
                 id="neuron-zero-features"),
]


@pytest.mark.parametrize(("make", "exc", "words"), CONSTRUCTION_ERRORS)
def test_construction_errors(make, exc, words):
    with pytest.raises(exc) as info:
        make()
    message = str(info.value)
    for word in words:
        assert word in message, (word, message)


X_ERRORS = [
    pytest.param(np.zeros((4, 3)), ValueError, ["shape", "(m, 2)", "(4, 3)"],
                 id="wrong-columns"),
    pytest.param(np.zeros((4, 1)), ValueError, ["shape", "(m, 2)"], id="too-few-columns"),
    pytest.param(np.zeros(2), ValueError, ["shape", "(m, 2)"], id="one-dimensional"),
    pytest.param(np.zeros((2, 2, 1)), ValueError, ["shape", "(m, 2)"], id="three-dimensional"),
    pytest.param(np.zeros((0, 2)), ValueError, ["empty"], id="empty-batch"),
    pytest.param(np.array([["a", "b"], ["c", "d"]]), TypeError, ["floating-point"], id="strings"),
    pytest.param(np.array([[1.0, None]], dtype=object), TypeError, ["floating-point"],
                 id="objects"),
    pytest.param(np.array([[1 + 1j, 2.0]]), TypeError, ["floating-point"], id="complex"),
]


@pytest.mark.parametrize(("X", "exc", "words"), X_ERRORS)
@pytest.mark.parametrize("model", ["mlp", "logistic-neuron"])
def test_bad_input_X_raises(model, X, exc, words):
    net = mlp() if model == "mlp" else handmade.LogisticNeuron(2)
    y = np.zeros(max(len(X), 1))
    for call in (lambda: net.forward(X), lambda: net.loss_and_grads(X, y)):
        with pytest.raises(exc) as info:
            call()
        message = str(info.value)
        for word in words:
            assert word in message, (word, message)


def test_labels_of_the_wrong_size_raise():
    net = mlp(sizes=(2, 3, 2))
    with pytest.raises(ValueError, match="elements"):
        net.loss_and_grads(np.zeros((4, 2)), np.zeros(5))


def test_grads_are_reused_between_calls_unless_turned_off():
    model = handmade.MLP([3, 4, 2], ["tanh", "identity"], "mse")
    rng = np.random.default_rng(0)
    X1, X2 = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    y = rng.standard_normal((5, 2))
    g1 = model.loss_and_grads(X1, y)[1]
    kept = {k: v.copy() for k, v in g1.items()}
    g2 = model.loss_and_grads(X2, y)[1]
    assert all(g1[k] is g2[k] for k in g1)  # same arrays, overwritten (as torch's .grad)
    assert not np.array_equal(g1["layers.0.weight"], kept["layers.0.weight"])
    model.reuse_grads = False
    g3 = model.loss_and_grads(X1, y)[1]
    g4 = model.loss_and_grads(X2, y)[1]
    assert all(g3[k] is not g4[k] for k in g3)
    np.testing.assert_array_equal(g3["layers.0.weight"], kept["layers.0.weight"])  # same input


def test_repr_names_the_architecture():
    text = repr(handmade.MLP([3, 4, 1], ["tanh", "sigmoid"], "bce", dtype=np.float32))
    assert text == ("MLP(sizes=[3, 4, 1], activations=['tanh', 'sigmoid'], loss='bce', "
                    "dtype=float32)")


@pytest.mark.parametrize("seed", [None, 3])
def test_neuron_init_is_the_mlp_init_with_the_same_seed(seed):
    # seed=None: the documented default, 0
    neuron = handmade.LogisticNeuron(4) if seed is None else handmade.LogisticNeuron(4, seed=seed)
    mlp = handmade.MLP([4, 1], ["sigmoid"], "bce", seed=0 if seed is None else seed)
    for key, value in mlp.params.items():
        np.testing.assert_array_equal(neuron.params[key], value)
