"""The verifier says "wrong" when a gradient is wrong, and localizes it.

Each wrong derivation here is a small subclass of a handmade model whose backward carries
one known mistake; the verifier's report must name the parameter (and, through the
deltas, the layer) that the mistake reaches, and no other. That it does not cry wolf is
test_gradcheck_false_alarms.py; that a broken model never crashes it, test_gradcheck_robustness.py.
"""

import numpy as np
import pytest

from handgrad import handmade
from handgrad.compare import check_gradients
from handgrad.compare.check.suite import make_data


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
        X = self.intermediates[0].A_prev
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
