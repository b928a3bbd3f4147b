"""handgrad.handmade.sgd_step: params -= lr * grads, in place, in the params' dtype; keys must
match."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad import handmade
from tests.handmade.model_helpers import DTYPES


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lr", [0.1, 0.003, 2.5], ids=["lr0.1", "lr0.003", "lr2.5"])
def test_sgd_step_is_p_minus_lr_g_in_place(lr, dtype):
    rng = np.random.default_rng(14)
    params = {"layers.0.weight": rng.normal(size=(3, 4)).astype(dtype),
              "layers.0.bias": rng.normal(size=3).astype(dtype)}
    grads = {k: rng.normal(size=v.shape).astype(dtype) for k, v in params.items()}
    before = {k: v.copy() for k, v in params.items()}
    objects = {k: id(v) for k, v in params.items()}

    assert handmade.sgd_step(params, grads, lr) is None
    for key in params:
        assert id(params[key]) == objects[key], key  # in place: the same array objects
        assert params[key].dtype == dtype, key
        # the same two IEEE operations per entry (lr*g rounded, then the subtraction), in
        # the dtype of the params, so equality is exact; lr (a Python float) is weak.
        expected = np.array([p - dtype(lr) * g for p, g in
                             zip(before[key].ravel(), grads[key].ravel())], dtype=dtype)
        np.testing.assert_array_equal(params[key].ravel(), expected, err_msg=key)
        assert not np.array_equal(params[key], before[key])


@pytest.mark.parametrize(
    "grads_keys",
    [pytest.param(["layers.0.weight"], id="missing-key"),
     pytest.param(["layers.0.weight", "layers.0.bias", "layers.1.weight"], id="extra-key"),
     pytest.param(["layers.0.weight", "layers.9.bias"], id="renamed-key")],
)
def test_sgd_step_mismatched_keys_raise(grads_keys):
    params = {"layers.0.weight": np.ones((2, 2)), "layers.0.bias": np.ones(2)}
    grads = {k: np.full((2, 2) if k.endswith("weight") else 2, 0.5) for k in grads_keys}
    before = {k: v.copy() for k, v in params.items()}
    with pytest.raises(ValueError, match="same keys") as info:
        handmade.sgd_step(params, grads, 0.1)
    differing = set(params) ^ set(grads)
    for key in differing:
        assert key in str(info.value)
    for key in params:  # nothing was half-applied
        np.testing.assert_array_equal(params[key], before[key])
