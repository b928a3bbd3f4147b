"""The single neuron of the textbooks, each with its own closed-form gradient.

No chain machinery here: every gradient is the formula a derivation ends with. With
``X`` (m, n), ``W`` (1, n), ``b`` (1,), ``Z = X @ W.T + b`` (m, 1) and labels ``Y`` (m, 1)::

    LogisticNeuron   A = sigmoid(Z), L = bce           dZ = (A - Y) / m
    LinearNeuron     A = Z,          L = mse           dZ = 2 (A - Y) / m
    Perceptron       A = step(Z),    L = perceptron    dZ = -s [s Z < 0] / m,  s = 2Y - 1

    dW = dZ.T @ X  = (A - Y)ᵀ X / m  for the logistic neuron      (1, n)
    db = sum(dZ)   = mean(A - Y)                                  (1,)

(for ``reduction="sum"`` drop the 1/m). Parameters use the torch twin's keys
``layers.0.weight`` and ``layers.0.bias``, so ``compare.check_gradients`` checks them
against ``torch_ref.TorchNeuron`` like any MLP. ``deltas[0]`` is ``dZ``, and
``intermediates`` shows ``Z``, ``A`` and ``dZ`` of the last call, as for an MLP.

The logistic neuron's ``(A - Y)/m`` is the exact derivative. torch's ``BCELoss`` backward
divides by ``max(p (1 - p), 1e-12)``, so once the sigmoid saturates (|z| > ~27 in float64)
torch's gradient is smaller than the true one; the two agree everywhere else.
"""

from __future__ import annotations

import numpy as np

from handgrad.handmade.activations import get_activation, sigmoid
from handgrad.handmade.losses import get_loss, prepare_labels
from handgrad.handmade.mlp import MLP, LayerCache

Array = np.ndarray


class _Neuron(MLP):
    """One dense unit ``[n_features] -> 1``; subclasses give the closed-form ``dZ``.

    Threads: as ``MLP``, every call holds ``self.lock`` (calls from several threads run
    one after another; ``update`` takes its step and its update under one hold).
    """

    activation = "identity"
    loss_name = "mse"

    def __init__(self, n_features: int, *, seed=0, dtype=np.float64, reduction="mean"):
        super().__init__([n_features, 1], [self.activation], self.loss_name, seed=seed,
                         dtype=dtype, reduction=reduction)

    def _z(self, X: Array) -> Array:
        """``Z = X @ W.T + b`` (m, 1) for an ``X`` already through ``as_input``."""
        Z = X @ self.params["layers.0.weight"].T + self.params["layers.0.bias"]  # (m, 1)
        self.check_finite_output(Z)  # names a NaN/Inf parameter, scanning only then
        return Z

    def _dz(self, Z: Array, A: Array, Y: Array) -> Array:  # pragma: no cover - abstract
        raise NotImplementedError

    def loss_and_grads(self, X, y) -> tuple[float, dict[str, Array]]:
        """``(loss, {"layers.0.weight": dW (1, n), "layers.0.bias": db (1,)})``.

        Holds the model's lock (as ``MLP.loss_and_grads``); the gradients are new arrays.
        """
        with self.lock:
            X = self.as_input(X)
            Z = self._z(X)  # (m, 1)
            A = get_activation(self.activation).forward(Z)  # (m, 1), the output the loss reads
            loss = get_loss(self.loss)
            Y = prepare_labels(loss, A, y)  # (m, 1)
            m = X.shape[0] if self.reduction == "mean" else 1
            dZ = self._dz(Z, A, Y) / m  # (m, 1)
            self._remember_forward([LayerCache((X, self.params["layers.0.weight"]), Z, A)])
            self._remember_deltas([dZ])  # intermediates and deltas, as an MLP's
            grads = {"layers.0.weight": dZ.T @ X,  # (1, n)
                     "layers.0.bias": dZ.sum(axis=0)}  # (1,)
            return loss.value(A, Y, self.reduction), grads


class LogisticNeuron(_Neuron):
    """Sigmoid output, BCE loss: ``dW = (A - Y)ᵀ X / m``, ``db = mean(A - Y)``."""

    activation = "sigmoid"
    loss_name = "bce"

    def _dz(self, Z, A, Y):
        return A - Y  # dL/dA * dA/dZ = (A-Y)/(A(1-A)) * A(1-A)

    def predict_proba(self, X) -> Array:
        """``P(y = 1 | x)``, shape (m, 1)."""
        with self.lock:  # reads the parameters whole, never in the middle of an update
            return sigmoid(self._z(self.as_input(X)))


class LinearNeuron(_Neuron):
    """Identity output, MSE loss: ``dW = 2 (A - Y)ᵀ X / m``, ``db = 2 mean(A - Y)``."""

    activation = "identity"
    loss_name = "mse"

    def _dz(self, Z, A, Y):
        return 2.0 * (A - Y)


class Perceptron(_Neuron):
    """Heaviside output trained on the perceptron loss ``mean(max(0, -s z))``, s = 2y - 1.

    ``predict`` is ``step(z)`` (1 where z > 0). The gradients are the subgradient of the
    loss, 0 at the kink ``s z = 0`` (torch's relu convention), so a sample lying exactly on
    the boundary does not move the weights. ``update`` takes one subgradient step: the
    classic rule ``w += lr (y - step(z)) x`` summed over the samples and divided by m,
    except at z = 0 with y = 1, where the classic rule (step(0) = 0) would still move.
    The model output that the loss reads (and the torch twin sees) is ``z`` itself.
    """

    activation = "identity"
    loss_name = "perceptron"

    def _dz(self, Z, A, Y):
        s = 2.0 * Y - 1.0  # {0, 1} -> {-1, +1}
        return np.where(s * Z < 0, -s, 0.0).astype(Z.dtype)  # misclassified samples only

    def predict(self, X) -> Array:
        """``step(z)``: 1.0 where z > 0, else 0.0; shape (m, 1)."""
        with self.lock:
            return (self._z(self.as_input(X)) > 0).astype(self.dtype)

    def update(self, X, y, lr: float) -> float:
        """One subgradient step ``params -= lr * grads``; returns the loss before it."""
        with self.lock:  # the step and its update together, as one call
            loss, grads = self.loss_and_grads(X, y)
            for key, g in grads.items():
                self.params[key] -= lr * g
            return loss
