"""handmade models refuse bad construction arguments and bad X with a message that says why."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad import handmade

# The vocabulary of docs/conventions.md (Activations, Losses), written out here as the
# independent list of valid names.
VALID_ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu",
                      "silu", "gelu", "softmax", "step"]
VALID_LOSSES = ["mse", "half_mse", "bce", "bce_with_logits", "cross_entropy", "perceptron"]


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
                 ["unknown activation", "swish", *VALID_ACTIVATIONS], id="unknown-activation"),
    pytest.param(lambda: mlp(loss="hinge"), ValueError, ["unknown loss", "hinge", *VALID_LOSSES],
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


BEFORE_FORWARD = "backward called before forward"


@pytest.mark.parametrize("model", ["mlp", "logistic-neuron", "perceptron"])
def test_backward_before_forward_is_a_runtime_error_that_says_so(model):
    net = {"mlp": mlp, "logistic-neuron": lambda: handmade.LogisticNeuron(2),
           "perceptron": lambda: handmade.Perceptron(2)}[model]()
    with pytest.raises(RuntimeError, match=f"^{BEFORE_FORWARD}: call forward"):
        net.backward(np.ones((4, 1)))


@pytest.mark.parametrize("cache", [None, (), []], ids=["none", "empty-tuple", "empty-list"])
def test_dense_backward_without_a_forward_cache_is_a_runtime_error(cache):
    with pytest.raises(RuntimeError, match=f"^{BEFORE_FORWARD}: dense_backward needs the "
                                           r"cache \(X, W\) that dense_forward returned"):
        handmade.dense_backward(np.ones((4, 3)), cache)


def test_dense_backward_with_something_else_as_cache_is_a_type_error():
    with pytest.raises(TypeError, match=r"cache must be the \(X, W\) pair that dense_forward "
                                        "returned, got ndarray"):
        handmade.dense_backward(np.ones((4, 3)), np.ones((4, 2)))


def test_backward_with_dA_not_shaped_like_the_last_output_says_both_shapes():
    net = mlp()
    net.forward(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"dA must have the shape of the last forward's "
                                         r"output \(4, 1\), got \(3, 1\)"):
        net.backward(np.ones((3, 1)))
    grads = net.backward(np.ones((4, 1)))  # the right shape still works after the refusal
    assert grads["layers.0.weight"].shape == (3, 2)
