"""Every door refuses a mistaken call before any work, with an error that names the argument.

One table of mistaken calls for the four doors (``check_layer``, ``check_model``,
``check_object``, ``check_gradients``): each row changes one argument of a correct call (or
one return value of the user's code) and names the exception type and a word the message
must hold: the argument (``seed``, ``inputs['x']``), or the call that returned what cannot
be judged (``loss_and_grads``, ``backward``, ``kinks``). The correct call itself passes
(``test_the_correct_calls_pass``), so each row's error comes from its one change.

Rows of the doors whose validation is not hooked in yet are strict xfails: the day such a
row starts passing, it turns red, and its mark is to be removed.
"""

import re

import numpy as np
import pytest

from handgrad import handmade
from handgrad.compare.check import arguments
from handgrad.compare.check.gradcheck import check_gradients
from handgrad.compare.check.layer import check_layer
from handgrad.compare.check.model import check_model
from handgrad.compare.check.objects import check_object

RNG = np.random.default_rng(7)
X = RNG.standard_normal((5, 3))
W = RNG.standard_normal((3, 2))
Y = RNG.standard_normal((5, 2))
RAGGED = [[1.0, 2.0, 3.0], [4.0, 5.0]]  # rows of different lengths: no one array

RIGHT = object()  # the user's code returns its own, right value


# -----------------------------------------------------------------------------------------
# The correct code each door checks: x @ W, and the mean squared error of X @ W


def layer_forward(x, W):
    return x @ W, (x, W)


def layer_backward(dout, cache):
    x, W = cache
    return dout @ W.T, x.T @ dout  # in the order of the inputs


def layer_torch(x, W):
    return x @ W


def model_params() -> dict:
    return {"W": W.copy()}


def model_code(params, loss=RIGHT, grad=RIGHT):
    """``loss_and_grads`` of ``L = ½ mean((X W - Y)²)`` (``dL/dW = Xᵀ (X W - Y) / (m k)``),
    reading ``params``; ``loss``/``grad`` replace what it returns."""
    def loss_and_grads(X, y):
        residual = X @ params["W"] - y
        value = 0.5 * np.mean(residual**2)
        dW = X.T @ residual / residual.size
        return (value if loss is RIGHT else loss), {"W": dW if grad is RIGHT else grad}
    return loss_and_grads


def model_torch(p, X, y):
    return 0.5 * ((X @ p["W"] - y) ** 2).mean()


class Dense:
    """nnfs's convention: ``self.W`` with ``self.dW`` after backward, dinputs returned."""

    def __init__(self, dinputs=None, dW=None):
        self.W = W.copy()
        self.wrong_dinputs = dinputs
        self.wrong_dW = dW

    def forward(self, x):
        self.x = x
        return x @ self.W

    def backward(self, dout):
        self.dW = self.x.T @ dout if self.wrong_dW is None else self.wrong_dW
        return dout @ self.W.T if self.wrong_dinputs is None else self.wrong_dinputs


class HalfMSE:
    """A loss object, ``backward()`` giving the gradient of forward's scalar; ``loss``
    replaces what forward returns (None: stores nothing)."""

    def __init__(self, loss=RIGHT):
        self.loss = loss

    def forward(self, pred, target):
        self.diff = pred - target
        return 0.5 * float(np.mean(self.diff**2)) if self.loss is RIGHT else self.loss

    def backward(self):
        return self.diff / self.diff.size


def object_torch(p, x):
    return x @ p["W"]


class Model(handmade.MLP):
    """A correct handmade MLP whose ``loss_and_grads`` returns ``loss`` or ``grad`` (for
    its first parameter) in place of its own."""

    def __init__(self, loss=RIGHT, grad=RIGHT):
        super().__init__([3, 4, 2], ["tanh", "identity"], "mse", seed=1)
        self.wrong_loss = loss
        self.wrong_grad = grad

    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        if self.wrong_grad is not RIGHT:
            grads["layers.0.weight"] = self.wrong_grad
        return (loss if self.wrong_loss is RIGHT else self.wrong_loss), grads


# -----------------------------------------------------------------------------------------
# Each door called with the correct code, ``changes`` replacing arguments


def call_layer(**changes):
    kwargs = {"forward": layer_forward, "backward": layer_backward,
              "inputs": {"x": X.copy(), "W": W.copy()}, "torch_fn": layer_torch, **changes}
    return check_layer(**kwargs)


def call_model(loss=RIGHT, grad=RIGHT, **changes):
    params = changes.pop("params", None) or model_params()
    kwargs = {"params": params, "loss_and_grads": model_code(params, loss, grad),
              "X": X.copy(), "y": Y.copy(), "torch_loss": model_torch, **changes}
    return check_model(**kwargs)


def call_object(**changes):
    kwargs = {"layer": Dense(), "inputs": {"x": X.copy()}, "torch_fn": object_torch,
              **changes}
    return check_object(**kwargs)


def call_gradients(**changes):
    kwargs = {"hand": Model(changes.pop("loss", RIGHT), changes.pop("grad", RIGHT)),
              "X": X.copy(), "y": Y.copy(), **changes}
    return check_gradients(**kwargs)


DOORS = {"layer": call_layer, "model": call_model, "object": call_object,
         "gradients": call_gradients}


def shape_changing():
    """A ``kinks`` whose output has another length at every call."""
    calls = []

    def kinks(*args):
        calls.append(1)
        return np.ones(len(calls))
    return kinks


# -----------------------------------------------------------------------------------------
# The table: (door, what changes, the error, a word its message must hold)


def row(door: str, name: str, error, words: str, **changes):
    """One mistaken call: ``changes`` to the correct call, the error, and the word (an
    argument's or a call's name) its message must hold."""
    return pytest.param(door, changes, error, words, id=f"{door}-{name}")


def seed_rows(door: str, argument: str) -> list:
    return [row(door, f"{argument}={value!r}", error, argument,
                **{argument: value})
            for value, error in ((-1, ValueError), (1.5, TypeError), ("0", TypeError),
                                 (True, TypeError))]


def option_rows(door: str) -> list:
    """fd and device, the options every door takes."""
    return [row(door, "fd='bogus'", ValueError, "fd", fd="bogus"),
            row(door, "device='gpu'", ValueError, "device", device="gpu"),
            row(door, "device=3", TypeError, "device", device=3)]


def kinks_rows(door: str) -> list:
    return [row(door, "kinks-not-callable", TypeError, "kinks", kinks=True),
            row(door, "kinks-returning-None", TypeError, "kinks",
                kinks=lambda *args: None),
            row(door, "kinks-returning-a-string", TypeError, "kinks",
                kinks=lambda *args: "x > 0"),
            row(door, "kinks-changing-shape", ValueError, "kinks",
                kinks=shape_changing())]


def torch_rows(door: str, argument: str) -> list:
    return [row(door, f"{argument}-not-callable", TypeError, argument,
                **{argument: True}),
            row(door, f"{argument}-returning-None", TypeError, argument,
                **{argument: lambda *args: None}),
            row(door, f"{argument}-returning-an-ndarray", TypeError, argument,
                **{argument: lambda *args: np.ones(1)})]


def inputs_rows(door: str) -> list:
    others = {"W": W.copy()} if door == "layer" else {}
    return [row(door, "inputs=5", TypeError, "inputs", inputs=5),
            row(door, "inputs-empty", ValueError, "inputs", inputs={}),
            row(door, "inputs-a-string", TypeError, "inputs['x']",
                inputs={"x": "abc", **others}),
            row(door, "inputs-ragged", ValueError, "inputs['x']",
                inputs={"x": RAGGED, **others}),
            row(door, "inputs-nan", ValueError, "inputs['x']",
                inputs={"x": np.full((5, 3), np.nan), **others}),
            row(door, "no_grad=3", TypeError, "no_grad", no_grad=3),
            row(door, "no_grad-unknown", ValueError, "no_grad",
                no_grad=["nope"]),
            row(door, "no_grad-an-index", TypeError, "no_grad", no_grad=[0])]


def batch_rows(door: str) -> list:
    return [row(door, "X-a-string", TypeError, "X", X="abc"),
            row(door, "X-None", TypeError, "X", X=None),
            row(door, "X-ragged", ValueError, "X", X=RAGGED),
            row(door, "X-nan", ValueError, "X", X=np.full((5, 3), np.nan)),
            row(door, "y-None", TypeError, "y", y=None),
            row(door, "y-a-string", TypeError, "y", y="abc"),
            row(door, "y-ragged", ValueError, "y", y=RAGGED)]


BAD_LOSSES = (("None", None, TypeError), ("a-string", "0.5", TypeError),
              ("not-a-scalar", np.ones(3), ValueError), ("nan", np.nan, ValueError),
              ("inf", np.inf, ValueError))


def loss_rows(door: str, call: str) -> list:
    """A loss returned by the user's code that cannot be judged."""
    return [row(door, f"loss-{name}", error, call, loss=value)
            for name, value, error in BAD_LOSSES]


def loss_object_rows() -> list:
    """The same losses returned by a loss object's forward (None: it stores nothing)."""
    inputs = {"pred": X.copy(), "target": X[::-1].copy()}

    def torch_loss(p, pred, target):
        return 0.5 * ((pred - target) ** 2).mean()
    return [row("object", f"loss-{name}", error, "forward",
                layer=HalfMSE(value), inputs=inputs, torch_fn=torch_loss)
            for name, value, error in BAD_LOSSES]


def gradient_rows(door: str, call: str) -> list:
    """A gradient returned by the user's code that cannot be judged."""
    return [row(door, "grad-a-list-of-the-wrong-shape", ValueError, call,
                grad=[[0.0, 1.0, 2.0]]),
            row(door, "grad-a-string", TypeError, call, grad="dW")]


ROWS = [
    *seed_rows("layer", "seed"),
    *option_rows("layer"),
    *kinks_rows("layer"),
    *torch_rows("layer", "torch_fn"),
    *inputs_rows("layer"),
    row("layer", "forward-output-None", TypeError, "forward",
        forward=lambda x, W: (None, (x, W))),
    row("layer", "grad-a-list-of-the-wrong-shape", ValueError, "backward",
        backward=lambda dout, cache: ([[0.0, 1.0]], cache[0].T @ dout)),
    row("layer", "grad-a-string", TypeError, "backward",
        backward=lambda dout, cache: ("dx", cache[0].T @ dout)),

    *seed_rows("model", "seed"),
    *option_rows("model"),
    *kinks_rows("model"),
    *torch_rows("model", "torch_loss"),
    row("model", "params-not-a-dict", TypeError, "params", params=[W.copy()]),
    row("model", "params-a-dict-of-strings", TypeError, "params['W']",
        params={"W": "abc"}),
    *batch_rows("model"),
    *loss_rows("model", "loss_and_grads"),
    *gradient_rows("model", "loss_and_grads"),

    *seed_rows("object", "seed"),
    *option_rows("object"),
    *kinks_rows("object"),
    *torch_rows("object", "torch_fn"),
    *inputs_rows("object"),
    *loss_object_rows(),
    row("object", "params-not-a-dict", TypeError, "params", params="W"),
    row("object", "params-a-dict-of-numbers", TypeError, "params['W']",
        params={"W": 3}),
    row("object", "grads-without-params", TypeError, "grads",
        grads={"W": "dW"}),
    row("object", "forward_kwargs-not-a-dict", TypeError, "forward_kwargs",
        forward_kwargs=["training"]),
    row("object", "grad-a-list-of-the-wrong-shape", ValueError, "backward",
        layer=Dense(dinputs=[[0.0, 1.0]])),
    row("object", "grad-a-string", TypeError, "backward",
        layer=Dense(dinputs="dx")),
    row("object", "param-grad-a-string", TypeError, "backward",
        layer=Dense(dW="dW")),

    *seed_rows("gradients", "fd_seed"),
    *option_rows("gradients"),
    *batch_rows("gradients"),
    *loss_rows("gradients", "loss_and_grads"),
    row("gradients", "grad-a-string", TypeError, "loss_and_grads", grad="dW"),
]


@pytest.mark.parametrize("door, changes, error, words", ROWS)
def test_a_mistaken_call_is_refused_naming_the_argument(door, changes, error, words):
    with pytest.raises(error) as raised:
        DOORS[door](**changes)
    assert named(words).search(str(raised.value)), raised.value  # the word, not part of one


@pytest.mark.parametrize("door", list(DOORS))
def test_the_correct_calls_pass(door):
    report = DOORS[door]()
    assert report.verdict == "pass", report


def named(word: str) -> re.Pattern:
    return re.compile(rf"(?<!\w){re.escape(word)}(?!\w)")


@pytest.mark.parametrize("change, words", [
    pytest.param({"seed": "0"}, ["seed", "int >= 0", "str '0'"], id="seed"),
    pytest.param({"device": 3}, ["device", "'cuda:N'", "int 3"], id="device"),
    pytest.param({"kinks": True}, ["kinks", "None or a callable", "bool True"], id="kinks"),
    pytest.param({"no_grad": 3}, ["no_grad", "an input's name", "int 3", "['x']"],
                 id="no_grad"),
    pytest.param({"inputs": 5}, ["inputs", "a dict name -> array", "int 5"], id="inputs"),
    pytest.param({"inputs": {"x": RAGGED}}, ["inputs['x']", "list [[1.0, 2.0, 3.0], [4.0, 5.0]]"],
                 id="inputs-ragged"),
    pytest.param({"layer": HalfMSE("0.5"), "inputs": {"p": X, "t": X}, "torch_fn": None},
                 ["forward", "str '0.5'", "one finite real number"], id="loss"),
])
def test_the_message_says_what_came_and_what_is_accepted(change, words):
    with pytest.raises((TypeError, ValueError)) as raised:
        call_object(**change)
    message = str(raised.value)
    assert all(word in message for word in words), message


def test_without_its_validation_the_seed_row_fails(monkeypatch):
    """A planted slip: ``arguments.seed`` made a no-op. ``seed=-1`` then reaches NumPy's
    generator, whose error names no argument, so the table's row would fail."""
    monkeypatch.setattr(arguments, "seed", lambda value, name="seed": value)
    with pytest.raises(ValueError) as raised:
        call_object(seed=-1)
    assert not named("seed").search(str(raised.value)), raised.value


def test_check_gradients_reports_a_misshapen_gradient_as_a_finding():
    """check_gradients judges a gradient of the wrong shape (a fail naming it), as its
    docstring says, rather than refusing the call; a string is no gradient at all (the
    table refuses it)."""
    report = call_gradients(grad=[[0.0, 1.0, 2.0]])
    assert report.verdict == "fail" and report.failures == ["layers.0.weight"], report
