"""The verifier says "wrong" when a gradient is wrong, localizes it, and never crashes on it.

Each wrong derivation here is a small subclass of a handmade model whose backward carries
one known mistake; the verifier's report must name the parameter (and, through the
deltas, the layer) that the mistake reaches, and no other.
"""

import numpy as np
import pytest
import torch

import handmade
from compare import assert_gradients_match, check_gradients
from compare.check.suite import make_data
from torch_ref import TorchMLP


def seed000_data():
    """Seed 000's X is 3 features x 2 samples (textbook columns); ours is its transpose."""
    X_textbook = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])  # (n, m) = (3, 2)
    return X_textbook.T, np.array([0.0, 1.0])  # X (m, n) = (2, 3), y (m,)


class Seed000Neuron(handmade.LogisticNeuron):
    """The published ``dW = np.mean(X * (A - Y))``, in the textbook's (n, m) layout."""

    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        A = self.forward(X).T  # (1, m)
        Y = np.asarray(y, dtype=float).reshape(A.shape)  # (1, m)
        grads["layers.0.weight"] = np.mean(np.asarray(X).T * (A - Y))  # a scalar, not (1, n)
        return loss, grads


class Seed000NeuronBroadcast(Seed000Neuron):
    """The same formula, broadcast to W's shape so that it at least has the right shape."""

    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        grads["layers.0.weight"] = np.full((1, self.sizes[0]), grads["layers.0.weight"])
        return loss, grads


def test_seed000_logistic_neuron_matches_autograd():
    X, y = seed000_data()
    report = check_gradients(handmade.LogisticNeuron(3), X, y)
    assert report.ok, report
    assert report.failures == [] and report.first_bad_layer is None


@pytest.mark.parametrize("cls", [Seed000Neuron, Seed000NeuronBroadcast],
                         ids=["scalar-dW", "broadcast-dW"])
def test_seed000_published_dW_is_flagged_on_the_weight_only(cls):
    X, y = seed000_data()
    report = check_gradients(cls(3), X, y)
    assert not report.ok
    assert report.failures == ["layers.0.weight"]  # the bias formula mean(A - Y) is right
    assert report.first_bad_layer is None  # the delta A - Y is right; only dW is not


class Seed003Net(handmade.MLP):
    """Seed 003's hidden delta: ``delta_j = delta_l * w_jl``, without ``o_j (1 - o_j)``."""

    def backward(self, dA):
        grads = super().backward(dA)  # the right output layer, then overwrite layer 0
        (X, _), _, _ = self._caches[0]
        wrong = self.deltas[1] @ self.params["layers.1.weight"]  # (m, 2): no sigmoid factor
        self.deltas[0] = wrong
        grads["layers.0.weight"], grads["layers.0.bias"] = wrong.T @ X, wrong.sum(axis=0)
        return grads


def seed003_weights(model):
    """The weights seed 003 prints before its step (its biases are random and not shown)."""
    model.params["layers.0.weight"][...] = [[-0.41451339, -1.77081177, -1.15804613],
                                            [-1.78363994, -1.89654933, -0.46369448]]
    model.params["layers.0.bias"][...] = [0.3, 0.6]
    model.params["layers.1.weight"][...] = [[-0.43875046, 0.81212614]]
    model.params["layers.1.bias"][...] = [0.2]
    return model


def test_seed003_hidden_delta_without_sigmoid_factor_is_localized():
    net = seed003_weights(Seed003Net([3, 2, 1], ["sigmoid", "sigmoid"], "half_mse"))
    X, y = np.array([[1.0, 2.0, 3.0]]), np.array([1.0])
    report = check_gradients(net, X, y)
    assert not report.ok
    assert report.failures == ["layers.0.weight", "layers.0.bias"]
    assert report.first_bad_layer == 0  # the output delta agrees; the hidden one does not


SMALL = [
    ("tanh-mse", [3, 4, 2], ["tanh", "identity"], "mse"),
    ("sigmoid-bce", [3, 4, 1], ["sigmoid", "sigmoid"], "bce"),
    ("relu-ce", [3, 4, 3], ["relu", "identity"], "cross_entropy"),
    ("gelu-softmax-nll", [3, 4, 3], ["gelu", "softmax"], "nll"),
]


class Perturbed(handmade.MLP):
    """A model whose gradient has one element scaled by (1 + rel)."""

    key, index, rel = "layers.0.weight", (0, 0), 0.0

    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        grads[self.key][self.index] *= 1.0 + self.rel
        return loss, grads


def _perturbed_cases():
    for cid, sizes, acts, loss in SMALL:
        model = handmade.MLP(sizes, acts, loss, seed=1)
        _, grads = model.loss_and_grads(*make_data(model, loss, seed=2))
        for key, g in grads.items():
            for index in np.ndindex(g.shape):
                if g[index] == 0.0:  # a dead relu unit: a relative change of 0 is no change
                    continue
                yield pytest.param(sizes, acts, loss, key, index,
                                   id=f"{cid}-{key}-{'-'.join(map(str, index))}")


@pytest.mark.parametrize("sizes, acts, loss, key, index", list(_perturbed_cases()))
def test_one_element_changed_by_1e_6_relative_is_caught_in_float64(sizes, acts, loss, key,
                                                                   index):
    model = Perturbed(sizes, acts, loss, seed=1)
    model.key, model.index, model.rel = key, index, 1e-6
    X, y = make_data(model, loss, seed=2)
    report = check_gradients(model, X, y, fd=None)  # autograd is the sharp reference here
    assert report.failures == [key], report


@pytest.mark.parametrize("cid, sizes, acts, loss", SMALL, ids=[c[0] for c in SMALL])
def test_unperturbed_twin_of_the_above_passes(cid, sizes, acts, loss):
    model = Perturbed(sizes, acts, loss, seed=1)  # rel = 0: the control
    X, y = make_data(model, loss, seed=2)
    report = check_gradients(model, X, y)
    assert report.ok, report


def test_float32_model_with_a_missing_factor_is_caught():
    class HalfGrad(handmade.MLP):
        def loss_and_grads(self, X, y):
            loss, grads = super().loss_and_grads(X, y)
            grads["layers.1.bias"] = grads["layers.1.bias"] / 2  # e.g. mse's factor 2 lost
            return loss, grads

    model = HalfGrad([3, 4, 2], ["tanh", "identity"], "mse", dtype=np.float32)
    X, y = make_data(model, "mse")
    report = check_gradients(model, X, y)
    assert report.dtype == "float32"
    assert report.failures == ["layers.1.bias"]


class Raises(handmade.MLP):
    def loss_and_grads(self, X, y):
        raise ZeroDivisionError("backward blew up")


class MissingBias(handmade.MLP):
    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        del grads["layers.1.bias"]
        return loss, grads


class WrongShape(handmade.MLP):
    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        grads["layers.0.weight"] = grads["layers.0.weight"].T  # (in, out) instead of (out, in)
        return loss, grads


class WrongLoss(handmade.MLP):
    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        return 2.0 * loss, grads


class WrongDeltaOnly(handmade.MLP):
    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        self.deltas[1] = -self.deltas[1]  # a bookkeeping bug: the grads are still right
        return loss, grads


@pytest.mark.parametrize("cls, failures, note", [
    (Raises, ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"],
     "ZeroDivisionError"),
    (MissingBias, ["layers.1.bias"], "missing"),
    (WrongShape, ["layers.0.weight"], "shape"),
    (WrongLoss, [], None),
    (WrongDeltaOnly, [], None),
], ids=["raises", "missing-key", "wrong-shape", "wrong-loss-value", "wrong-delta"])
def test_broken_backward_is_reported_not_raised(cls, failures, note):
    model = cls([3, 5, 2], ["tanh", "identity"], "mse")
    X, y = make_data(model, "mse")
    report = check_gradients(model, X, y)
    assert not report.ok
    assert report.failures == failures
    if note is not None:
        assert any(note in e.note for e in report.entries if not e.ok)
    if cls is WrongDeltaOnly:
        assert report.first_bad_layer == 1
    if cls is WrongLoss:
        assert [e.name for e in report.entries if not e.ok] == ["loss"]


def test_assert_gradients_match_raises_with_the_table():
    model = MissingBias([3, 5, 2], ["tanh", "identity"], "mse")
    X, y = make_data(model, "mse")
    with pytest.raises(AssertionError, match="layers.1.bias"):
        assert_gradients_match(model, X, y)
    good = handmade.MLP([3, 5, 2], ["tanh", "identity"], "mse")
    assert assert_gradients_match(good, X, y).ok


def test_user_object_with_only_params_and_loss_and_grads_needs_a_torch_model():
    """Not an MLP: a plain object wrapping a linear model, checked against a given twin."""

    class Plain:
        def __init__(self):
            self.params = {"layers.0.weight": np.array([[0.5, -1.0]]),
                           "layers.0.bias": np.array([0.25])}

        def loss_and_grads(self, X, y):
            W, b = self.params["layers.0.weight"], self.params["layers.0.bias"]
            r = X @ W.T + b - y.reshape(-1, 1)  # (m, 1) residual
            m = X.shape[0]
            return float(np.mean(r**2)), {"layers.0.weight": 2 * r.T @ X / m,
                                          "layers.0.bias": 2 * r.sum(axis=0) / m}

    X, y = np.random.default_rng(0).standard_normal((5, 2)), np.arange(5.0)
    with pytest.raises(TypeError, match="torch_model"):
        check_gradients(Plain(), X, y)
    twin = TorchMLP([2, 1], ["identity"], "mse")
    report = check_gradients(Plain(), X, y, torch_model=twin)
    assert report.ok, report
    assert report.first_bad_layer is None  # no deltas offered: nothing to localize with
    assert not any(e.kind == "delta" for e in report.entries)


def test_given_float32_torch_twin_is_used_with_the_float32_tolerance():
    model = handmade.MLP([3, 4, 2], ["silu", "identity"], "mse")
    X, y = make_data(model, "mse")
    twin = TorchMLP([3, 4, 2], ["silu", "identity"], "mse", dtype=torch.float32, seed=5)
    report = check_gradients(model, X, y, torch_model=twin)
    assert report.ok, report
    # the twin now holds the hand parameters (rounded to float32)
    assert torch.equal(twin.layers[0].weight,
                       torch.as_tensor(model.params["layers.0.weight"], dtype=torch.float32))
    # and its float32 autograd is ~1e-7 away, which the float64 tolerance (1e-10) would reject
    assert max(e.autograd_rel_err for e in report.entries if e.kind == "param") > 1e-10


def _relu_net_on_a_kink():
    """A 2-3-1 relu net whose unit 0 sits exactly at z = 0 for sample 0."""
    model = handmade.MLP([2, 3, 1], ["relu", "identity"], "mse", seed=3)
    X = np.array([[0.5, -1.0], [1.0, 2.0], [-1.5, 0.5], [2.0, 1.0]])
    W = model.params["layers.0.weight"]
    model.params["layers.0.bias"][0] = -(X[0] @ W[0])  # Z[0, 0] = 0 up to rounding
    return model, X, np.array([1.0, -2.0, 0.5, 3.0])


def test_finite_difference_step_across_a_kink_is_reported_as_kink_not_failure():
    model, X, y = _relu_net_on_a_kink()
    report = check_gradients(model, X, y)
    assert report.ok, report  # at z = 0 hand and torch both take relu'(0) = 0
    kinked = {e.name: e.fd_kinks for e in report.entries if e.kind == "param"}
    assert kinked["layers.0.bias"] >= 1 and kinked["layers.0.weight"] >= 1


def test_the_kinked_coordinate_would_fail_a_naive_finite_difference():
    """Why kinks must be detected: there the central difference is not the derivative."""
    model, X, y = _relu_net_on_a_kink()
    _, grads = model.loss_and_grads(X, y)
    h, b = 1e-5, model.params["layers.0.bias"]
    b[0] += h
    plus = model.loss_value(X, y)
    b[0] -= 2 * h
    minus = model.loss_value(X, y)
    b[0] += h
    naive = (plus - minus) / (2 * h)
    assert abs(naive - grads["layers.0.bias"][0]) > 1e-3 * abs(naive)  # far off a smooth fit


def test_loss_failing_at_a_perturbed_point_is_reported():
    class FragileLoss(handmade.MLP):
        def loss_value(self, X, y):  # what finite differences call
            raise FloatingPointError("loss blew up off the base point")

    model = FragileLoss([3, 4, 2], ["tanh", "identity"], "mse")
    X, y = make_data(model, "mse")
    report = check_gradients(model, X, y)
    assert not report.ok and report.failures == []  # the gradients themselves agree
    assert any("FloatingPointError" in e.note for e in report.entries)


def test_loss_as_a_one_element_array_is_accepted():
    class ArrayLoss(handmade.MLP):
        def loss_and_grads(self, X, y):
            loss, grads = super().loss_and_grads(X, y)
            return np.array([loss]), grads

    model = ArrayLoss([3, 4, 2], ["tanh", "identity"], "mse")
    report = check_gradients(model, *make_data(model, "mse"))
    assert report.ok, report


def test_unknown_fd_method_is_a_value_error():
    model = handmade.MLP([3, 4, 2], ["tanh", "identity"], "mse")
    with pytest.raises(ValueError, match="fd must be"):
        check_gradients(model, *make_data(model, "mse"), fd="forward")


def test_the_checker_never_raises_under_strict_floating_point_settings():
    """A saturated logistic neuron (z ~ 1e4): the closed form (A - Y)/m is exact while
    torch's BCELoss backward divides by max(p(1-p), 1e-12) and returns 0 there, so the
    two disagree; the checker must report that, not raise inside its own arithmetic."""
    import warnings

    model = handmade.LogisticNeuron(2)
    model.params["layers.0.weight"][...] = [[1.0, 1.0]]
    model.params["layers.0.bias"][...] = [0.0]
    X = np.array([[1e4, 1e4], [-1e4, -1e4]])  # z = ±2e4: both samples confidently wrong
    with np.errstate(over="raise", divide="raise", invalid="raise"), \
            warnings.catch_warnings():
        warnings.simplefilter("error")
        report = check_gradients(model, X, np.array([0.0, 1.0]), fd=None)
    assert not report.ok and "layers.0.weight" in report.failures


def test_float32_saturated_softmax_is_not_a_false_alarm():
    """Found by the property tests: p = 1 - 3e-5 makes p - 1 cancel in float32 (on both twins
    alike), a 1e-3 relative error of a tiny entry; float32's atol (1e-5) absorbs it, and the
    report still shows the error as measured."""
    model = handmade.MLP([2, 2], ["identity"], "cross_entropy", seed=12, dtype=np.float32)
    X, y = np.array([[0.20843048, 9.59270979]]), np.array([0])
    report = check_gradients(model, X, y, fd=None)
    assert report.ok, report
    assert max(e.autograd_rel_err for e in report.entries if e.kind == "param") > 1e-4
