"""Array-likes are taken as NumPy takes them, by every door and by both references.

A list of lists, a tuple or a Python number becomes the array ``np.asarray`` makes (Python
floats: float64), before either twin or either reference sees it; so a correct model
checked with ``X`` as a list passes, and the user's torch reference gets float64 tensors.
Where NumPy cannot make one array (ragged rows), its error is chained under one that
names the argument.

Rows of the doors whose validation is not hooked in yet are strict xfails (as in
``test_door_arguments``).
"""

import numpy as np
import pytest
import torch

from handgrad import handmade
from handgrad.compare.check import arguments
from handgrad.compare.check.gradcheck import check_gradients
from tests.check.test_door_arguments import (
    RAGGED,
    Dense,
    W,
    X,
    Y,
    call_layer,
    call_model,
    call_object,
    layer_forward,
    model_params,
)


def test_check_gradients_with_X_as_a_list_passes_a_correct_model():
    """The twin read a list as float32 and the handmade model as float64: a false alarm
    (the loss "differs" by float32's rounding)."""
    model = handmade.MLP([3, 4, 2], ["tanh", "identity"], "mse", seed=1)
    report = check_gradients(model, X.tolist(), Y.tolist())
    assert report.verdict == "pass", report


def test_check_model_hands_torch_loss_float64_tensors_for_a_list_X():
    seen = {}

    def torch_loss(p, X_t, y_t):
        seen["X"] = X_t
        seen["y"] = y_t
        return 0.5 * ((X_t @ p["W"] - y_t) ** 2).mean()

    report = call_model(X=X.tolist(), y=Y.tolist(), torch_loss=torch_loss)
    assert report.verdict == "pass", report
    for name in ("X", "y"):
        assert isinstance(seen[name], torch.Tensor), (name, type(seen[name]))
        assert seen[name].dtype == torch.float64, (name, seen[name].dtype)


def test_check_layer_takes_inputs_as_lists():
    report = call_layer(inputs={"x": X.tolist(), "W": W.tolist()})
    assert report.verdict == "pass", report


def test_check_object_takes_inputs_as_lists_and_hands_forward_float64_arrays():
    seen = []

    class Watched(Dense):
        def forward(self, x):
            seen.append(x)
            return super().forward(x)

    report = call_object(layer=Watched(), inputs={"x": X.tolist()})
    assert report.verdict == "pass", report
    assert all(isinstance(x, np.ndarray) and x.dtype == np.float64 for x in seen), seen


@pytest.mark.parametrize("given, names", [
    pytest.param({"x": X}, ["x"], id="dict"),
    pytest.param(X, ["x"], id="one-array"),
    pytest.param((X, W), ["x", "W"], id="tuple-named-after-forward"),
    pytest.param([X.tolist(), W], ["x", "W"], id="list-of-array-likes"),
])
def test_inputs_are_named_in_the_order_forward_takes_them(given, names):
    taken = arguments.inputs(given, layer_forward)
    assert list(taken) == names
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float64 for v in taken.values())


def test_an_ndarray_is_kept_as_the_very_object():
    """check_model perturbs the user's own arrays in place: no copy may stand in."""
    assert arguments.batch(X, "X") is X
    assert arguments.inputs({"x": X})["x"] is X


def test_a_python_float_becomes_float64_and_a_numpy_scalar_keeps_its_dtype():
    assert arguments.batch(1.5, "y").dtype == np.float64
    assert arguments.batch(np.float32(1.5), "y").dtype == np.float32
    assert arguments.batch([[1, 2]], "X").dtype.kind == "i"  # labels stay integers


@pytest.mark.parametrize("call", [
    pytest.param(lambda: call_object(inputs={"x": RAGGED}), id="object-inputs"),
    pytest.param(lambda: arguments.batch(RAGGED, "X"), id="batch-X"),
])
def test_numpys_error_is_chained_under_one_that_names_the_argument(call):
    with pytest.raises(ValueError, match="np.asarray could not make one array") as raised:
        call()
    assert isinstance(raised.value.__cause__, ValueError)  # NumPy's own, with its traceback
    assert "inhomogeneous" in str(raised.value.__cause__)


def test_params_of_check_model_must_be_arrays_it_can_perturb_in_place():
    """A list cannot be perturbed in place where the user's loss reads it: refused."""
    params = model_params()
    with pytest.raises(TypeError, match=r"params\['W'\] must be a NumPy array"):
        call_model(params={"W": params["W"].tolist()})
