"""handmade's dense layer against ``torch.nn.functional.linear`` differentiated by autograd.

float64, a random upstream gradient; the tolerance is model_helpers.RTOL64's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from handgrad import handmade
from tests.handmade.model_helpers import assert_close64


@pytest.mark.parametrize(("m", "n_in", "n_out"), [(1, 1, 1), (5, 3, 4), (8, 6, 2), (3, 7, 9)],
                         ids=["1x1->1", "5x3->4", "8x6->2", "3x7->9"])
def test_dense_forward_backward_match_torch(m, n_in, n_out):
    rng = np.random.default_rng(10 + m)
    X, W, b = rng.normal(size=(m, n_in)), rng.normal(size=(n_out, n_in)), rng.normal(size=n_out)
    dZ = rng.normal(size=(m, n_out))  # random upstream gradient

    Z, cache = handmade.dense_forward(X, W, b)
    dX, dW, db = handmade.dense_backward(dZ, cache)

    Xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (X, W, b))
    Zt = F.linear(Xt, Wt, bt)
    Zt.backward(torch.tensor(dZ))
    assert Z.dtype == dX.dtype == dW.dtype == db.dtype == np.float64
    assert_close64(Z, Zt, "Z")
    assert_close64(dX, Xt.grad, "dX")
    assert_close64(dW, Wt.grad, "dW")
    assert_close64(db, bt.grad, "db")
