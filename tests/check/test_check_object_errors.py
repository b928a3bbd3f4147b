"""check_object: the user's object is never changed, and every refusal is one clear error.

An exception raised inside the user's forward or backward, or inside torch_fn, becomes one
``ObjectCallError`` that names the side and the call, the original exception chained as
``__cause__``; an object with nothing recognisable is refused with what was looked for and
the ``params=``/``grads=`` spelling.
"""

import copy
import threading

import numpy as np
import pytest
import torch.nn.functional as F

from handgrad.compare.check.objects import ObjectCallError, assert_object_match, check_object
from tests.check.test_check_object_dicts import DenseRelu, DenseReluWrongMask, torch_dense_relu
from tests.check.test_check_object_get_parameters import Embedding, torch_embedding
from tests.check.test_check_object_lists import MeanLinear, torch_mean_linear
from tests.check.test_check_object_named import GainAvgPool, torch_gain_avg
from tests.check.test_check_object_nnfs import Layer_Dense, torch_dense


def same(a, b) -> bool:
    """Deep equality: arrays by dtype, shape and bits; dicts, lists, objects member-wise."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(same(x, y) for x, y in zip(a, b)))
    if hasattr(a, "__dict__") and not callable(a):
        return type(a) is type(b) and same(vars(a), vars(b))
    return a == b


class Counted(Layer_Dense):
    """A dense layer that counts its calls: the user's own object must never be called."""

    def __init__(self, *args):
        super().__init__(*args)
        self.calls = 0

    def forward(self, inputs):
        self.calls += 1
        super().forward(inputs)


rng = np.random.default_rng(11)
X = rng.standard_normal((4, 3))
UNCHANGED = [
    pytest.param(DenseRelu(3, 2, rng), {"x": X}, torch_dense_relu, {}, id="a-dicts"),
    pytest.param(DenseReluWrongMask(3, 2, rng), {"x": X}, torch_dense_relu, {}, id="a-slip"),
    pytest.param(Counted(3, 2, rng), {"x": X}, torch_dense, {}, id="b-nnfs"),
    pytest.param(Embedding(5, 2, rng), {"ids": rng.integers(0, 5, (3, 4))}, torch_embedding,
                 {}, id="c-get-parameters"),
    pytest.param(MeanLinear(3, 2, rng), {"x": rng.standard_normal((2, 4, 3))},
                 torch_mean_linear, {}, id="d-lists"),
    pytest.param(GainAvgPool(2, rng), {"x": rng.standard_normal((1, 2, 4, 4))}, torch_gain_avg,
                 {"params": {"gain": "g"}, "grads": {"gain": "g_grad"}}, id="e-named"),
]


@pytest.mark.parametrize("layer, inputs, torch_fn, naming", UNCHANGED)
def test_the_users_object_is_unchanged(layer, inputs, torch_fn, naming):
    before = copy.deepcopy(layer)
    held = dict(vars(layer))  # the very objects it holds
    inputs_before = copy.deepcopy(inputs)
    check_object(layer, inputs, torch_fn, **naming)
    assert same(vars(layer), vars(before))
    assert all(vars(layer)[k] is v for k, v in held.items()) and vars(layer).keys() == held.keys()
    assert same(inputs, inputs_before)


def test_the_users_object_is_never_called():
    layer = Counted(3, 2, np.random.default_rng(0))
    check_object(layer, {"x": X}, torch_dense)
    assert layer.calls == 0 and not hasattr(layer, "output")


class Raises:
    """A layer whose forward or backward raises on demand."""

    def __init__(self, where):
        self.where = where
        self.W = np.ones((3, 2))

    def forward(self, x):
        if self.where == "forward":
            raise ValueError("shapes (4,3) and (2,2) not aligned")
        self.x = x
        return x @ self.W

    def backward(self, dout):
        if self.where == "backward":
            raise IndexError("index 7 is out of bounds")
        self.dW = self.x.T @ dout
        return dout @ self.W.T


@pytest.mark.parametrize("where, side, call, cause", [
    pytest.param("forward", "your layer's forward", "layer.forward(x: float64 (4, 3))",
                 ValueError, id="forward"),
    pytest.param("backward", "your layer's backward", "layer.backward(dout: float64 (4, 2))",
                 IndexError, id="backward"),
])
def test_an_exception_in_the_users_code_names_the_side_and_the_call(where, side, call, cause):
    with pytest.raises(ObjectCallError) as raised:
        check_object(Raises(where), {"x": X}, lambda p, x: x @ p["W"])
    message = str(raised.value)
    assert message.startswith(f"{side} raised {cause.__name__}: "), message
    assert call in message and "deep copy" in message, message
    assert type(raised.value.__cause__) is cause


class Conv:
    """A layer whose torch reference is a conv2d given the wrong layout."""

    def __init__(self):
        self.W = np.ones((2, 2, 2, 2))

    def forward(self, x):
        self.x = x
        return np.zeros((2, 2, 2, 1))

    def backward(self, dout):
        self.dW = np.zeros_like(self.W)
        return np.zeros_like(self.x)


def test_an_exception_in_torch_fn_names_the_torch_side():
    """The channel-count message torch gives, now said to come from torch_fn."""
    with pytest.raises(ObjectCallError) as raised:
        check_object(Conv(), {"x": np.ones((2, 3, 3, 2))}, lambda p, x: F.conv2d(x, p["W"]))
    message = str(raised.value)
    assert message.startswith("torch_fn (the torch reference) raised RuntimeError: Given "
                              "groups=1, weight of size [2, 2, 2, 2]"), message
    assert "torch_fn(p: {'W': float64 (2, 2, 2, 2)}, x: float64 (2, 3, 3, 2))" in message
    assert isinstance(raised.value.__cause__, RuntimeError)


def test_an_object_with_nothing_recognisable_is_refused_with_the_spelling():
    layer = GainAvgPool(2, np.random.default_rng(0))  # self.g, self.g_grad: no convention
    with pytest.raises(TypeError) as raised:
        check_object(layer, {"x": np.ones((1, 2, 4, 4))})
    message = str(raised.value)
    assert "found array attributes ['g'] on the layer but no gradients" in message, message
    for looked_for in ("get_parameters()", "parameters or params", "gradients or grads",
                       "parallel lists params and grads", "weights -> dweights"):
        assert looked_for in message, looked_for
    assert "params={'g': 'g'}" in message and "grads={'g': 'grad_g'}" in message, message
    assert "params={}" in message


class NestedParameters:
    """backward returns (dx, {"W": dW}), but W lives in a nested object: not found."""

    def __init__(self):
        self.inner = type("Inner", (), {})()
        self.inner.W = np.ones((3, 2))

    def forward(self, x):
        self.x = x
        return x @ self.inner.W

    def backward(self, dout):
        return dout @ self.inner.W.T, {"W": self.x.T @ dout}


def test_returned_gradients_whose_parameters_are_not_found_are_refused():
    with pytest.raises(TypeError,
                       match=r"no parameters for the gradients \['W'\].*params=\{'W': 'W'\}"):
        check_object(NestedParameters(), {"x": X})


def test_a_nested_parameter_is_named_with_a_dotted_path():
    report = check_object(NestedParameters(), {"x": X}, lambda p, x: x @ p["W"],
                          params={"W": "inner.W"})
    assert report.ok, report
    assert [(e.name, e.kind) for e in report.entries if e.kind != "output"] == [
        ("x", "input"), ("W", "param")]


def test_params_empty_declares_a_layer_without_parameters():
    layer = GainAvgPool(2, np.random.default_rng(0))
    layer.g = np.ones(2)  # a constant gain
    report = check_object(layer, {"x": np.random.default_rng(1).standard_normal((1, 2, 4, 4))},
                          lambda p, x: F.avg_pool2d(x, 3, 2, padding=1), params={})
    assert report.ok and [e.name for e in report.entries if e.kind != "output"] == ["x"]


@pytest.mark.parametrize("bad, words", [
    pytest.param(object(), "has no forward and no backward", id="no-methods"),
    pytest.param(type("F", (), {"forward": lambda self, x: x})(), "has no backward",
                 id="no-backward"),
])
def test_an_object_without_forward_and_backward_is_refused(bad, words):
    with pytest.raises(TypeError, match=words):
        check_object(bad, {"x": X})


def test_an_object_that_cannot_be_deep_copied_is_refused():
    layer = Layer_Dense(3, 2, np.random.default_rng(0))
    layer.lock = threading.Lock()
    with pytest.raises(TypeError, match="deep copy of the layer, and copy.deepcopy raised") as e:
        check_object(layer, {"x": X})
    assert e.value.__cause__ is not None


def test_a_wrong_attribute_name_is_named():
    layer = GainAvgPool(2, np.random.default_rng(0))
    with pytest.raises(ObjectCallError, match=r"params\['gain'\] = 'gains' raised Attr"):
        check_object(layer, {"x": np.ones((1, 2, 4, 4))}, params={"gain": "gains"},
                     grads={"gain": "g_grad"})


def test_a_parameter_named_like_an_input_is_refused():
    layer = Layer_Dense(3, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="'weights' has the name of an input"):
        check_object(layer, {"weights": X})


class Dropoutish:
    """forward(x, training=...) and backward(dout, scale=...): keyword arguments passed."""

    def __init__(self):
        self.W = np.full((3, 2), 0.5)

    def forward(self, x, training=False):
        if not training:
            raise AssertionError("forward_kwargs were not passed")
        self.x = x
        return x @ self.W

    def backward(self, dout, scale=0.0):
        self.dW = scale * (self.x.T @ dout)
        return scale * (dout @ self.W.T)


def test_forward_and_backward_kwargs_are_passed_by_keyword():
    report = check_object(Dropoutish(), {"x": X}, lambda p, x: x @ p["W"],
                          forward_kwargs={"training": True}, backward_kwargs={"scale": 1.0})
    assert report.ok, report


def test_float32_layer_is_judged_without_a_false_alarm():
    rng32 = np.random.default_rng(12)
    layer = Layer_Dense(5, 4, rng32)
    layer.weights = layer.weights.astype(np.float32)
    layer.biases = layer.biases.astype(np.float32)
    report = check_object(layer, {"x": rng32.standard_normal((6, 5)).astype(np.float32)},
                          torch_dense)
    assert report.ok, report
    assert report.dtype == "float32"


def test_assert_object_match_raises_with_the_table():
    bad = DenseReluWrongMask(3, 2, np.random.default_rng(1))
    with pytest.raises(AssertionError, match="gradients that disagree"):
        assert_object_match(bad, {"x": np.random.default_rng(2).standard_normal((6, 3))},
                            torch_dense_relu)


def test_a_parameter_found_as_a_copy_is_refused():
    """Writing into a copy would leave the layer as it was: finite differences of nothing."""
    layer = GainAvgPool(2, np.random.default_rng(0))
    with pytest.raises(TypeError, match="'gain': the layer does not hold the value"):
        check_object(layer, {"x": np.ones((1, 2, 4, 4))}, params={"gain": lambda it: it.g * 1},
                     grads={"gain": "g_grad"})


class ForgetsItsBiasGradient(DenseRelu):
    """Leaves grads["b"] None: the key is there, the gradient is not."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = None
        return dx


def test_a_gradient_left_none_after_backward_is_named():
    layer = ForgetsItsBiasGradient(3, 2, np.random.default_rng(0))
    with pytest.raises(TypeError, match="gradient of parameter 'b' is None after backward"):
        check_object(layer, {"x": X})
