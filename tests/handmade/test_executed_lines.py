"""The executed line is the formula: the plain lines the docs link to are the ones that run.

Each test traces which lines of a handmade file run (``sys.settrace``), finds the plain
formula's line by its text, and checks that it ran; where a named speed trick runs
instead (``dense_grads_into``, ``outer_product_into``), it must give the plain formula's
numbers bit for bit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import handgrad.handmade.activations
import handgrad.handmade.dense
import handgrad.handmade.optim
from handgrad import handmade
from handgrad.handmade.dense import (
    dense_backward,
    dense_forward,
    dense_grads_into,
    outer_product_into,
)

DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]


def line_of(module, code: str) -> int:
    """The one line of ``module``'s source whose code (comment removed) is ``code``."""
    lines = Path(module.__file__).read_text().splitlines()
    hits = [n for n, line in enumerate(lines, 1) if line.split("  #")[0].strip() == code]
    assert len(hits) == 1, (code, hits)
    return hits[0]


def executed(module, fn) -> set[int]:
    """Lines of ``module``'s file that run during ``fn()``."""
    path, ran = module.__file__, set()

    def tracer(frame, event, arg):
        if frame.f_code.co_filename == path:
            if event == "line":
                ran.add(frame.f_lineno)
            return tracer
        return None

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(old)
    return ran


def layer(m: int, dtype, seed: int = 0):
    rng = np.random.default_rng(seed)
    X, W, b = (rng.standard_normal(s).astype(dtype) for s in ((m, 5), (4, 5), (4,)))
    dZ = rng.standard_normal((m, 4)).astype(dtype)  # a random upstream gradient
    return X, W, b, dZ


@pytest.mark.parametrize("m", [1, 2, 7])
def test_dense_backward_runs_the_plain_lines(m):
    X, W, b, dZ = layer(m, np.float64)
    _, cache = dense_forward(X, W, b)
    ran = executed(handgrad.handmade.dense, lambda: dense_backward(dZ, cache))
    assert line_of(handgrad.handmade.dense, "dW = dZ.T @ X") in ran
    assert line_of(handgrad.handmade.dense, "db = dZ.sum(axis=0)") in ran
    assert line_of(handgrad.handmade.dense, "dX = dZ @ W if need_dX else None") in ran
    trick = line_of(handgrad.handmade.dense, 'return np.einsum("j,k->jk", dz, x, out=out)')
    assert trick not in ran  # one sample without kept arrays: still the plain line
    ran = executed(handgrad.handmade.dense, lambda: dense_forward(X, W, b))
    assert line_of(handgrad.handmade.dense, "Z = X @ W.T + b") in ran


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [1, 2, 7])
def test_the_kept_array_trick_gives_the_plain_numbers_bit_for_bit(m, dtype):
    X, W, b, dZ = layer(m, dtype, seed=m)
    kept = (np.full_like(W, np.nan), np.full_like(b, np.nan))
    dW, db = dense_grads_into(dZ, X, kept)
    assert dW is kept[0] and db is kept[1]
    np.testing.assert_array_equal(dW, dZ.T @ X)
    np.testing.assert_array_equal(db, dZ.sum(axis=0))
    if m == 1:
        out = np.empty_like(W)
        assert outer_product_into(dZ[0], X[0], out) is out
        np.testing.assert_array_equal(out, dZ.T @ X)


@pytest.mark.parametrize("dtype", DTYPES)
def test_an_mlp_gives_the_same_bits_with_and_without_kept_arrays(dtype):
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, 6)
    for m in (1, 6):
        kept = handmade.MLP([3, 5, 2], ["tanh", "identity"], "cross_entropy", dtype=dtype)
        plain = handmade.MLP([3, 5, 2], ["tanh", "identity"], "cross_entropy", dtype=dtype)
        plain.reuse_grads = False
        g_kept, g_plain = kept.loss_and_grads(X[:m], y[:m])[1], plain.loss_and_grads(
            X[:m], y[:m])[1]
        for key in g_plain:
            np.testing.assert_array_equal(g_kept[key], g_plain[key], err_msg=key)


def test_kept_arrays_are_made_at_init_and_follow_a_change_of_dtype():
    model = handmade.MLP([3, 4, 2], ["tanh", "identity"], "mse", dtype=np.float32)
    made = model.new_grad_arrays()
    assert [(dW.shape, db.shape) for dW, db in made] == [((4, 3), (4,)), ((2, 4), (2,))]
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    g1 = model.loss_and_grads(X, y)[1]
    assert all(g.dtype == np.float32 for g in g1.values())
    model.params = {k: v.astype(np.float64) for k, v in model.params.items()}
    g2 = model.loss_and_grads(X, y)[1]
    assert all(g.dtype == np.float64 for g in g2.values())
    assert all(g2[k] is not g1[k] for k in g1)  # new kept arrays, in the new dtype
    g3 = model.loss_and_grads(X, y)[1]
    assert all(g3[k] is g2[k] for k in g2)  # and reused from then on


def test_identity_backward_is_ones_times_the_upstream_gradient():
    identity = handmade.get_activation("identity")
    rng = np.random.default_rng(1)
    z, dA = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    ran = executed(handgrad.handmade.activations,
                   lambda: identity.backward(dA, z, identity.forward(z)))
    assert line_of(handgrad.handmade.activations, "return local * dA") in ran
    assert line_of(handgrad.handmade.activations, "return np.ones_like(z)") in ran
    dZ = identity.backward(dA, z, z)
    assert dZ is not dA  # a new array, not the upstream one passed through
    np.testing.assert_array_equal(dZ, dA)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("options", "factor"), [({}, 1.0), ({"momentum": 0.5}, 1.0),
                                                 ({"momentum": 0.5, "nesterov": True}, 1.5)],
                         ids=["plain", "momentum", "nesterov"])
def test_sgd_runs_theta_minus_lr_g(options, factor, dtype):
    """First step: g itself, b_1 = g for momentum, and g + 0.5 b_1 = 1.5 g for nesterov."""
    rng = np.random.default_rng(2)
    params = {"w": rng.standard_normal((3, 4)).astype(dtype)}
    grads = {"w": rng.standard_normal((3, 4)).astype(dtype)}
    before = params["w"].copy()
    opt = handmade.SGD(params, lr=0.3, **options)
    ran = executed(handgrad.handmade.optim, lambda: opt.step(grads))
    assert line_of(handgrad.handmade.optim, "theta -= self.lr * g") in ran
    g = grads["w"] + 0.5 * grads["w"] if factor == 1.5 else grads["w"]
    np.testing.assert_array_equal(params["w"], before - 0.3 * g)
    assert params["w"].dtype == dtype
