"""The bug gallery: known-wrong derivations, each a small model the verifier must catch.

Every entry builds a handmade model whose backward pass carries one classic mistake,
with data that exposes it, and states what the verifier should report: the parameters
whose gradients disagree and the first layer (counting back from the output) whose delta
disagrees. ``handgrad derive --bug NAME`` runs it and prints the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from handgrad import handmade
from handgrad.compare.datasets import load
from handgrad.compare.teach import seeds
from handgrad.compare.teach.bug_sentences import SENTENCES


@dataclass(frozen=True)
class Bug:
    name: str
    sentence: str  # the mistake, in one sentence
    build: Callable[[], tuple[object, np.ndarray, np.ndarray]]  # -> (model, X, y)
    failures: tuple[str, ...]  # parameters the verifier must name
    first_bad_layer: int | None  # the delta it must point at


# --- the wrong derivations ------------------------------------------------------------

class Seed000MeanDW(handmade.LogisticNeuron):
    """Seed 000's ``dW = np.mean(X * (A - Y))``, in its textbook (n, m) layout."""

    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        A = self.intermediates[0].A.T  # (1, m)
        Y = np.asarray(y, dtype=float).reshape(A.shape)
        grads["layers.0.weight"] = np.mean(np.asarray(X, dtype=float).T * (A - Y))  # scalar
        return loss, grads


class Seed003NoSigmoidFactor(handmade.MLP):
    """Hidden delta ``δ_j = δ_l w_jl``: the factor ``o_j (1 - o_j)`` is missing."""

    def activation_backward(self, layer, dA, Z, A):
        if layer < self.n_layers - 1:
            return dA  # should be A * (1 - A) * dA
        return super().activation_backward(layer, dA, Z, A)


class Seed003UpdateOrder(handmade.MLP):
    """The output weights are updated before the hidden delta reads them."""

    lr = seeds.SEED003_LR

    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        W2 = self.params["layers.1.weight"] - self.lr * grads["layers.1.weight"]  # too early
        hidden = self.intermediates[0]  # its input X, and its output A_0 = o_j
        A0 = hidden.A
        delta0 = (self.deltas[1] @ W2) * A0 * (1.0 - A0)  # reads the updated weights
        self.deltas[0] = delta0
        grads["layers.0.weight"] = delta0.T @ hidden.A_prev
        grads["layers.0.bias"] = delta0.sum(axis=0)
        return loss, grads


class MissingOneOverM(handmade.MLP):
    """The gradient of the summed loss, reported for the mean loss: no 1/m."""

    def loss_and_grads(self, X, y):
        out = self.forward(X)
        loss = handmade.get_loss(self.loss)
        return loss.value(out, y, "mean"), self.backward(loss.grad(out, y, "sum"))


class TanhSignFlip(handmade.MLP):
    """The hidden tanh derivative written ``a² - 1`` instead of ``1 - a²``."""

    def activation_backward(self, layer, dA, Z, A):
        if layer < self.n_layers - 1:
            return (A * A - 1.0) * dA
        return super().activation_backward(layer, dA, Z, A)


class ReluPrimeZeroIsOne(handmade.MLP):
    """``relu'(z) = [z >= 0]``: 1 at the kink, where torch takes 0."""

    def activation_backward(self, layer, dA, Z, A):
        if self.activations[layer] == "relu":
            return (Z >= 0).astype(Z.dtype) * dA
        return super().activation_backward(layer, dA, Z, A)


class SoftmaxDiagonalOnly(handmade.MLP):
    """Softmax backward through ``a (1 - a)`` only: the Jacobian's off-diagonal is dropped."""

    def activation_backward(self, layer, dA, Z, A):
        if self.activations[layer] == "softmax":
            return A * (1.0 - A) * dA  # should be A * (dA - sum(dA * A))
        return super().activation_backward(layer, dA, Z, A)


class ClassicPerceptron(handmade.Perceptron):
    """The classic rule ``w += lr (y - step(z)) x``: slope -1 at the corner z = 0 for y = 1.

    As a subgradient of ``max(0, -s z)`` it is valid, but it is not torch's (relu'(0) = 0),
    so a sample of class 1 lying exactly on the boundary still moves the weights.
    """

    def _dz(self, Z, A, Y):
        return -(Y - (Z > 0).astype(Z.dtype))  # -(y - step(z)); handgrad: 0 at z = 0


# --- their data -----------------------------------------------------------------------

def _seed000():
    data = load("seed000")
    return Seed000MeanDW(3), data.X_train, data.y_train


def seed003_model(cls=handmade.MLP):
    """``(model, X, y)``: seed 003's 3-2-1 sigmoid net with its printed weights, its sample."""
    model = cls([3, 2, 1], ["sigmoid", "sigmoid"], "half_mse")
    for key, value in seeds.SEED003_PARAMS.items():
        model.params[key][...] = value
    return model, np.array([seeds.SEED003_INPUT]), np.array([seeds.SEED003_TARGET])


def _seed003(cls):
    def build():
        return seed003_model(cls)
    return build


def perceptron_example(cls=handmade.Perceptron):
    """``(model, X, y)``: perceptron.md's worked example, one sample on the boundary."""
    model = cls(2)
    model.params["layers.0.weight"][...] = seeds.PERCEPTRON_W
    model.params["layers.0.bias"][...] = seeds.PERCEPTRON_B
    return model, np.array(seeds.PERCEPTRON_X), np.array(seeds.PERCEPTRON_Y)


def _moons(cls, sizes, activations, loss, n=32):
    def build():
        data = load("moons")
        return cls(sizes, activations, loss, seed=1), data.X_train[:n], data.y_train[:n]
    return build


def _relu_at_zero():
    model = ReluPrimeZeroIsOne([2, 4, 1], ["relu", "identity"], "mse", seed=2)
    X = np.random.default_rng(0).standard_normal((6, 2))
    X[0] = 0.0
    model.params["layers.0.bias"][0] = 0.0  # sample 0 meets unit 0 exactly at z = 0
    return model, X, np.arange(6.0)


def _softmax():
    data = load("iris")
    return (SoftmaxDiagonalOnly([4, 5, 3], ["tanh", "softmax"], "nll", seed=1),
            data.X_train[:30], data.y_train[:30])


BUGS: dict[str, Bug] = {bug.name: bug for bug in [
    Bug("seed000_mean_dw", SENTENCES["seed000_mean_dw"], _seed000,
        ("layers.0.weight",), None),
    Bug("seed003_no_sigmoid_factor", SENTENCES["seed003_no_sigmoid_factor"],
        _seed003(Seed003NoSigmoidFactor), ("layers.0.weight", "layers.0.bias"), 0),
    Bug("seed003_update_order", SENTENCES["seed003_update_order"],
        _seed003(Seed003UpdateOrder), ("layers.0.weight", "layers.0.bias"), 0),
    Bug("missing_1_over_m", SENTENCES["missing_1_over_m"],
        _moons(MissingOneOverM, [2, 6, 1], ["tanh", "sigmoid"], "bce"),
        ("layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"), 1),
    Bug("sign_flip", SENTENCES["sign_flip"],
        _moons(TanhSignFlip, [2, 6, 1], ["tanh", "sigmoid"], "bce"),
        ("layers.0.weight", "layers.0.bias"), 0),
    Bug("relu_prime_at_0_is_1", SENTENCES["relu_prime_at_0_is_1"],
        _relu_at_zero, ("layers.0.bias",), 0),  # the sample at the kink has x = 0: dW gets 0
    Bug("softmax_not_fused", SENTENCES["softmax_not_fused"],
        _softmax, ("layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"),
        1),
]}

# Rules that differ from handgrad's only at a corner. The judge flags them on data that
# meets the corner (handgrad's models follow torch there), but they are not in BUGS: each
# is a textbook's valid choice, kept here so the docs can link the formula to its code.
CORNER_RULES: dict[str, Bug] = {bug.name: bug for bug in [
    Bug("perceptron_classic_rule", "The classic perceptron rule adds a class-1 sample lying "
        "exactly on the boundary (step(0) = 0), where torch's subgradient relu'(0) = 0 does "
        "not move.", lambda: perceptron_example(ClassicPerceptron),
        ("layers.0.weight", "layers.0.bias"), 0),
]}

# the wrong line of each bug, as the slip writes it, and the line it should be
LINES: dict[str, tuple[str, str]] = {
    "seed000_mean_dw": ("dW = np.mean(X * (A - Y))       # X (n, m); A, Y (1, m)",
                        "dW = (A - Y) @ X.T / m          # (1, n): one entry per weight"),
    "seed003_no_sigmoid_factor": ("delta_hidden = delta_out @ W_out",
                                  "delta_hidden = (delta_out @ W_out) * A * (1 - A)"),
    "seed003_update_order": ("W_out -= lr * dW_out; delta_h = (delta_out @ W_out) * A * (1 - A)",
                             "delta_h = (delta_out @ W_out) * A * (1 - A); W_out -= lr * dW_out"),
    "missing_1_over_m": ('dOut = loss.grad(out, y, "sum")   # the loss is the mean',
                         'dOut = loss.grad(out, y, "mean")'),
    "sign_flip": ("dZ = (A * A - 1) * dA", "dZ = (1 - A * A) * dA"),
    "relu_prime_at_0_is_1": ("dZ = (Z >= 0) * dA", "dZ = (Z > 0) * dA"),
    "softmax_not_fused": ("dZ = A * (1 - A) * dA",
                          "dZ = A * (dA - np.sum(dA * A, axis=-1, keepdims=True))"),
}
