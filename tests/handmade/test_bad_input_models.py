"""Issue 6's bad-input corpus: the handmade MLP and neurons.

How a case reads, and the other rooms' files: tests/bad_input.py.
"""

import numpy as np
import pytest

from handgrad import handmade, torch_ref
from handgrad.compare import hand_to_torch
from tests.bad_input import (
    ACTS,
    LOSSES,
    NAN,
    X_INF,
    X_NAN,
    C,
    T,
    V,
    X,
    Y,
    bce,
    case,
    ce,
    check,
    mse,
    poisoned,
    t_bce,
)

SHAPES = [  # 1. X vs W, y vs the output
    case("mlp-forward-X-columns", lambda: bce().forward(np.zeros((5, 2))), V,
         "X must have shape (m, 3)", "(5, 2)"),
    case("mlp-X-one-dimensional", lambda: bce().loss_and_grads(np.zeros(3), Y), V,
         "X must have shape (m, 3)", "(3,)"),
    case("mlp-y-count", lambda: bce().loss_and_grads(X, Y[:4]), V,
         "bce", "y must have shape (5, 1) or (5,)", "(4,)"),
    case("mlp-y-vs-output-width", lambda: mse().loss_and_grads(X, np.zeros((5, 3))), V,
         "mse", "(5, 2)", "got shape (5, 3)"),
    case("mlp-y-transposed", lambda: mse().loss_and_grads(X, np.zeros((2, 5))), V,
         "mse", "(5, 2)", "got shape (2, 5)"),
    case("mlp-ce-onehot-labels", lambda: ce().loss_and_grads(X, np.eye(3)[C]), V,
         "cross_entropy", "class indices of shape (5,)", "(5, 3)"),
    case("mlp-ce-label-count", lambda: ce().loss_and_grads(X, C[:3]), V,
         "class indices of shape (5,)", "(3,)"),
    case("logistic-neuron-X", lambda: handmade.LogisticNeuron(2).loss_and_grads(X, Y), V,
         "X must have shape (m, 2)", "(5, 3)"),
    case("linear-neuron-y", lambda: handmade.LinearNeuron(3).loss_and_grads(X, Y[:2]), V,
         "mse", "(5, 1) or (5,)", "(2,)"),
    case("perceptron-predict-X", lambda: handmade.Perceptron(4).predict(X), V,
         "X must have shape (m, 4)"),
]

LABELS_01 = [  # 2. bce labels outside {0,1} (soft targets in [0, 1] are torch's, accepted)
    case("mlp-label-2", lambda: bce().loss_and_grads(X, Y * 2), V, "bce", "[0, 1]", "max 2"),
    case("mlp-label-negative", lambda: bce().loss_and_grads(X, -Y), V, "bce", "min -1"),
    case("logistic-neuron", lambda: handmade.LogisticNeuron(3).loss_and_grads(X, Y + 1), V,
         "bce", "[0, 1]", "max 2"),
    case("perceptron", lambda: handmade.Perceptron(3).update(X, Y * 3, 0.1), V,
         "perceptron", "[0, 1]", "max 3"),
]

CLASSES = [  # 3. class indices out of range for cross_entropy / nll
    case("mlp-class-k", lambda: ce().loss_and_grads(X, C + 1), V,
         "cross_entropy", "[0, 3)", "max 3"),
    case("mlp-class-negative", lambda: ce().loss_and_grads(X, C - 1), V, "[0, 3)", "min -1"),
    case("mlp-nll", lambda: ce("nll").loss_and_grads(X, C * 2), V, "nll", "[0, 3)", "max 4"),
]

NONFINITE = [  # 4. NaN/Inf in inputs (X, y) and parameters
    case("mlp-X-nan", lambda: bce().forward(X_NAN), V, "X must be finite", "3 NaN/Inf"),
    case("mlp-X-inf", lambda: bce().loss_and_grads(X_INF, Y), V, "X must be finite"),
    case("mlp-X-overflows-float32", lambda: handmade.MLP(
        [3, 1], ["identity"], "mse", dtype=np.float32).forward(X + 1e300), V,
         "X must be finite in the model's dtype float32", "15 value(s) overflow"),
    case("mlp-y-nan", lambda: mse().loss_and_grads(X, np.full((5, 2), NAN)), V,
         "mse", "y must be finite", "10 NaN/Inf"),
    case("bce-y-nan", lambda: bce().loss_and_grads(X, Y * NAN), V, "bce", "y must be finite"),
    case("neuron-X-nan", lambda: handmade.LinearNeuron(3).loss_and_grads(X_NAN, Y), V,
         "X must be finite"),
    case("mlp-param", lambda: poisoned(bce()).forward(X), V,
         "parameter layers.0.weight", "1 NaN/Inf"),
    case("mlp-param-inf", lambda: poisoned(mse(), np.inf).loss_and_grads(X + 1, np.zeros((5, 2))),
         V, "parameter layers.0.weight", "NaN/Inf"),
    case("neuron-param", lambda: poisoned(handmade.LogisticNeuron(3)).predict_proba(X), V,
         "parameter layers.0.weight"),
    case("perceptron-param", lambda: poisoned(handmade.Perceptron(3)).predict(X), V,
         "parameter layers.0.weight"),
]

EMPTY = [  # 5. empty batches
    case("mlp-forward", lambda: bce().forward(np.zeros((0, 3))), V, "X is an empty batch"),
    case("mlp-loss", lambda: bce().loss_and_grads(np.zeros((0, 3)), Y[:0]), V, "empty batch"),
    case("neuron", lambda: handmade.LogisticNeuron(3).loss_and_grads(np.zeros((0, 3)), Y[:0]),
         V, "empty batch"),
]

DTYPES = [  # 6. integer, bool, text or object arrays where floats are needed
    case("mlp-X-int", lambda: bce().forward(X.astype(np.int64)), T,
         "X must be a floating-point array", "int64", "astype(np.float64)"),
    case("mlp-X-bool", lambda: bce().loss_and_grads(X > 0, Y), T, "floating-point", "bool"),
    case("mlp-X-object", lambda: bce().forward(X.astype(object)), T, "floating-point", "object"),
    case("neuron-X-int", lambda: handmade.Perceptron(3).predict(X.astype(int)), T,
         "floating-point", "int"),
    case("bce-text-labels", lambda: bce().loss_and_grads(X, Y.astype(str)), T, "bce", "numeric"),
    case("ce-float-labels", lambda: ce().loss_and_grads(X, C.astype(float)), T,
         "cross_entropy", "integer class indices", "float64"),
    case("mlp-dtype", lambda: handmade.MLP([3, 1], ["identity"], "mse", dtype=np.int64), T,
         "dtype", "float32", "float64", "int64"),
]

NAMES = [  # 7. unknown names: the message lists the valid ones
    case("mlp-activation", lambda: handmade.MLP([3, 1], ["swish"], "mse"), V,
         "unknown activation 'swish'", *ACTS),
    case("mlp-loss", lambda: handmade.MLP([3, 1], ["identity"], "hinge"), V,
         "unknown loss 'hinge'", *LOSSES),
    case("mlp-reduction", lambda: handmade.MLP([3, 1], ["identity"], "mse", reduction="none"),
         V, "reduction", "'none'", "mean", "sum"),
]


@pytest.mark.parametrize(("call", "error", "words"),
                         SHAPES + LABELS_01 + CLASSES + NONFINITE + EMPTY + DTYPES + NAMES)
def test_bad_input_is_a_clear_error(call, error, words):
    check(call, error, words)


def test_an_overflow_of_finite_parameters_is_not_bad_input():
    model = handmade.MLP([1, 1], ["identity"], "mse")
    model.params["layers.0.weight"][...] = 1e308
    with np.errstate(over="ignore"):
        out = model.forward(np.array([[10.0]]))  # finite parameters: the output overflows
    assert np.isinf(out).all()
    twin = torch_ref.TorchMLP([1, 1], ["identity"], "mse")
    hand_to_torch(model, twin)
    assert np.isinf(twin.loss_and_grads(np.array([[10.0]]), [[0.0]])[0])


def test_soft_binary_targets_are_accepted_as_torch_accepts_them():
    assert np.isfinite(bce().loss_and_grads(X, np.full(5, 0.25))[0])
    assert np.isfinite(t_bce().loss_and_grads(X, np.full(5, 0.25))[0])


def test_integer_labels_are_numbers_where_floats_are_read():
    for model, y in ((bce(), Y.astype(int)), (handmade.Perceptron(3), Y.astype(int)),
                     (mse(), np.ones((5, 2), int))):
        assert np.isfinite(model.loss_and_grads(X + 0.5, y)[0])
    assert np.isfinite(t_bce().loss_and_grads(X, Y.astype(int))[0])
