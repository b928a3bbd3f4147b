"""check_model and check_layer refuse bad arguments before comparing anything.

Each message must name the argument, say what was expected and what came.
"""

import numpy as np
import pytest
import torch

from handgrad.compare import check_layer, check_model

rng = np.random.default_rng(0)


def affine_forward(x, w, b):
    return x @ w + b, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def affine_inputs():
    return {"x": rng.standard_normal((4, 3)), "w": rng.standard_normal((3, 2)),
            "b": rng.standard_normal(2)}


def linear_model():
    params = {"W1": rng.standard_normal((6, 4)), "b1": rng.standard_normal(4)}

    def loss_and_grads(X, y):
        r = X @ params["W1"] + params["b1"] - y
        return 0.5 * np.sum(r * r), {"W1": X.T @ r, "b1": r.sum(axis=0)}

    return params, loss_and_grads, rng.standard_normal((5, 6)), rng.standard_normal((5, 4))


def test_grads_with_other_names_list_missing_and_extra():
    params, lg, X, y = linear_model()
    with pytest.raises(ValueError, match=r"missing \['b1'\], extra \['bias'\]"):
        check_model(params, lambda X, y: (lg(X, y)[0], {"W1": lg(X, y)[1]["W1"],
                                                         "bias": lg(X, y)[1]["b1"]}), X, y)


def test_a_transposed_gradient_is_named_as_such():
    params, lg, X, y = linear_model()

    def transposed(X, y):
        loss, grads = lg(X, y)
        return loss, {**grads, "W1": grads["W1"].T}

    with pytest.raises(ValueError, match=r"grad W1 \(4, 6\) for param W1 \(6, 4\): transposed\?"):
        check_model(params, transposed, X, y)


def test_torch_loss_must_be_a_scalar():
    params, lg, X, y = linear_model()
    with pytest.raises(ValueError, match=r"torch_loss must return a scalar tensor.*\(5, 4\)"):
        check_model(params, lg, X, y, lambda p, X, y: X @ p["W1"] + p["b1"] - y)


def test_torch_intermediates_must_match_the_hand_ones():
    params, lg, X, y = linear_model()

    def with_inter(X, y):
        return (*lg(X, y), {"r": np.zeros((5, 4))})

    def torch_loss(p, X, y):
        r = X @ p["W1"] + p["b1"] - y
        return 0.5 * (r * r).sum(), {"resid": r}

    with pytest.raises(ValueError, match=r"intermediates.*missing \['resid'\], extra \['r'\]"):
        check_model(params, with_inter, X, y, torch_loss)


def test_loss_and_grads_that_change_params_in_place_is_refused():
    params, lg, X, y = linear_model()

    def sloppy(X, y):
        loss, grads = lg(X, y)
        params["W1"] -= 0.1 * grads["W1"]  # an update inside the loss
        return loss, grads

    with pytest.raises(ValueError, match=r"loss_and_grads changed params\['W1'\] in place"):
        check_model(params, sloppy, X, y)


def test_non_float_params_and_inputs_are_refused():
    params, lg, X, y = linear_model()
    with pytest.raises(TypeError,
                       match=r"params\['W1'\] must be a float32 or float64 array.*int64"):
        check_model({**params, "W1": np.ones((6, 4), dtype=np.int64)}, lg, X, y)
    inputs = {**affine_inputs(), "x": np.ones((4, 3), dtype=np.int64)}
    with pytest.raises(TypeError, match=r"inputs\['x'\] must be a float32 or float64.*no_grad"):
        check_layer(affine_forward, affine_backward, inputs)


def test_backward_with_the_wrong_number_of_gradients():
    with pytest.raises(ValueError, match=r"backward returned 2 gradient\(s\); expected 3"):
        check_layer(affine_forward, lambda d, c: affine_backward(d, c)[:2], affine_inputs())


def test_torch_fn_output_shape_must_match_forward():
    with pytest.raises(ValueError, match=r"torch_fn's output 0 has shape \(2, 4\); forward's "
                                         r"has \(4, 2\)"):
        check_layer(affine_forward, affine_backward, affine_inputs(),
                    lambda x, w, b: (x @ w + b).T)


def test_forward_that_changes_its_input_in_place_is_refused():
    def relu_in_place(x):
        np.maximum(x, 0, out=x)
        return x.copy(), x > 0

    with pytest.raises(ValueError, match=r"changed inputs\['x'\] in place"):
        check_layer(relu_in_place, lambda d, mask: (d * mask,), {"x": rng.standard_normal(5)})


def test_unknown_no_grad_name():
    with pytest.raises(ValueError, match=r"no_grad names \['mask'\] are not in inputs"):
        check_layer(affine_forward, affine_backward, affine_inputs(), no_grad=("mask",))


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present here")
def test_cuda_asked_for_and_absent():
    params, lg, X, y = linear_model()
    with pytest.raises(ValueError, match="CUDA"):
        check_model(params, lg, X, y, device="cuda")
    with pytest.raises(ValueError, match="CUDA"):
        check_layer(affine_forward, affine_backward, affine_inputs(), device="cuda")
