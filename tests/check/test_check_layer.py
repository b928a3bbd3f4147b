"""check_layer: CS231n-style layers, each right and with its classic slip written out.

Each case is ``(forward, backward, slip, inputs, torch_fn, no_grad, flagged)``: the right
backward must pass against torch's vector-Jacobian product and finite differences; the
slip must fail on exactly the inputs ``flagged``, with torch and without it.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from handgrad.compare import assert_layer_match, check_layer

EPS = 1e-5
rng = np.random.default_rng(0)


# batch norm, training mode: normalize each column over the batch
def bn_forward(x, gamma, beta):
    mu, var = x.mean(axis=0), x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + EPS)
    return gamma * xhat + beta, (xhat, gamma, var)


def bn_backward(dout, cache):
    xhat, gamma, var = cache
    N, dxhat = dout.shape[0], dout * gamma
    dx = (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (
        N * np.sqrt(var + EPS))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bn_backward_constant_stats(dout, cache):  # slip: mean and variance taken as constants
    xhat, gamma, var = cache
    return dout * gamma / np.sqrt(var + EPS), (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bn_torch(x, gamma, beta):
    return F.batch_norm(x, None, None, gamma, beta, training=True, eps=EPS)


# layer norm: normalize each row over its features
def ln_forward(x, gamma, beta):
    mu, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + EPS)
    return gamma * xhat + beta, (xhat, gamma, var)


def ln_backward(dout, cache):
    xhat, gamma, var = cache
    D, dxhat = dout.shape[1], dout * gamma
    dx = (D * dxhat - dxhat.sum(axis=1, keepdims=True)
          - xhat * (dxhat * xhat).sum(axis=1, keepdims=True)) / (D * np.sqrt(var + EPS))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def ln_backward_constant_stats(dout, cache):  # slip: mean and variance taken as constants
    xhat, gamma, var = cache
    return dout * gamma / np.sqrt(var + EPS), (dout * xhat).sum(axis=0), dout.sum(axis=0)


# softmax as a layer (rows)
def softmax_forward(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return p, p


def softmax_backward(dout, p):
    return (p * (dout - (dout * p).sum(axis=1, keepdims=True)),)


def softmax_backward_diagonal(dout, p):  # slip: only the Jacobian's diagonal p(1 - p)
    return (dout * p * (1 - p),)


# affine layer with W as (in, out), CS231n's layout
def affine_forward(x, w, b):
    return x @ w + b, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    return {"x": dout @ w.T, "w": x.T @ dout, "b": dout.sum(axis=0)}


def affine_backward_mean(dout, cache):  # slip: a batch mean the forward never took
    grads = affine_backward(dout, cache)
    grads["w"] = grads["w"] / len(cache[0])
    return grads


# inverted dropout with a fixed mask (the mask takes no gradient)
P_KEEP = 0.6


def dropout_forward(x, mask):
    return x * mask / P_KEEP, mask


def dropout_backward(dout, mask):
    return (dout * mask / P_KEEP,)


def dropout_backward_unscaled(dout, mask):  # slip: the 1/p of the forward forgotten
    return (dout * mask,)


# a custom activation with a learnable per-feature parameter: y = x * sigmoid(beta * x)
def swish_forward(x, beta):
    s = 1 / (1 + np.exp(-beta * x))
    return x * s, (x, beta, s)


def swish_backward(dout, cache):
    x, beta, s = cache
    ds = s * (1 - s)
    return dout * (s + beta * x * ds), (dout * x * x * ds).sum(axis=0)


def swish_backward_no_chain(dout, cache):  # slip: dy/dx = s, the x·s' term forgotten
    x, beta, s = cache
    return dout * s, (dout * x * x * s * (1 - s)).sum(axis=0)


def swish_torch(x, beta):
    return x * torch.sigmoid(beta * x)


def _x(m=8, n=5):
    return rng.standard_normal((m, n))


CASES = {
    "batch-norm": (bn_forward, bn_backward, bn_backward_constant_stats,
                   {"x": _x(), "gamma": rng.standard_normal(5), "beta": rng.standard_normal(5)},
                   bn_torch, (), ["x"]),
    "layer-norm": (ln_forward, ln_backward, ln_backward_constant_stats,
                   {"x": _x(), "gamma": rng.standard_normal(5), "beta": rng.standard_normal(5)},
                   lambda x, g, b: F.layer_norm(x, (5,), g, b, eps=EPS), (), ["x"]),
    "softmax": (softmax_forward, softmax_backward, softmax_backward_diagonal, {"x": _x()},
                lambda x: torch.softmax(x, dim=1), (), ["x"]),
    "affine-W-in-out": (affine_forward, affine_backward, affine_backward_mean,
                        {"x": _x(), "w": rng.standard_normal((5, 3)),
                         "b": rng.standard_normal(3)},
                        lambda x, w, b: x @ w + b, (), ["w"]),
    "dropout-fixed-mask": (dropout_forward, dropout_backward, dropout_backward_unscaled,
                           {"x": _x(), "mask": (rng.random((8, 5)) < P_KEEP).astype(float)},
                           lambda x, mask: x * mask / P_KEEP, ("mask",), ["x"]),
    "learnable-activation": (swish_forward, swish_backward, swish_backward_no_chain,
                             {"x": _x(), "beta": rng.uniform(0.5, 2.0, 5)},
                             swish_torch, (), ["x"]),
}


@pytest.mark.parametrize("name", CASES)
def test_the_right_backward_passes(name):
    forward, backward, _, inputs, torch_fn, no_grad, _ = CASES[name]
    report = assert_layer_match(forward, backward, inputs, torch_fn, no_grad=no_grad)
    assert report.references == ["autograd", "fd"]
    assert [e.name for e in report.entries if e.kind == "input"] == [
        k for k in inputs if k not in no_grad]


@pytest.mark.parametrize("with_torch", [True, False], ids=["torch-and-fd", "fd-only"])
@pytest.mark.parametrize("name", CASES)
def test_the_classic_slip_is_flagged(name, with_torch):
    forward, _, slip, inputs, torch_fn, no_grad, flagged = CASES[name]
    report = check_layer(forward, slip, inputs, torch_fn if with_torch else None,
                         no_grad=no_grad)
    assert report.failures == flagged, report


def bn_backward_no_variance_term(dout, cache):  # slip: the variance's path forgotten
    xhat, gamma, var = cache
    N, dxhat = dout.shape[0], dout * gamma
    return ((N * dxhat - dxhat.sum(axis=0)) / (N * np.sqrt(var + EPS)),
            (dout * xhat).sum(axis=0), dout.sum(axis=0))


def test_a_slip_that_an_all_ones_upstream_gradient_hides_is_caught():
    """Why dout is random: Σ out of batch norm does not depend on x, so with dout = 1 the
    true dx is 0, and so is the slip's (its missing term is xhat · Σ xhat = 0)."""
    inputs = CASES["batch-norm"][3]
    out, cache = bn_forward(*inputs.values())
    ones = np.ones_like(out)
    np.testing.assert_allclose(bn_backward_no_variance_term(ones, cache)[0], 0, atol=1e-12)
    np.testing.assert_allclose(bn_backward(ones, cache)[0], 0, atol=1e-12)
    report = check_layer(bn_forward, bn_backward_no_variance_term, inputs, bn_torch)
    assert report.failures == ["x"], report


def test_several_outputs_take_a_tuple_of_upstream_gradients():
    def forward(x):
        return (x * x, np.sin(x)), x

    def backward(douts, x):
        d_sq, d_sin = douts
        return (2 * x * d_sq + np.cos(x) * d_sin,)

    report = assert_layer_match(forward, backward, {"x": _x()},
                                lambda x: (x * x, torch.sin(x)))
    assert report.entry("x").autograd_rel_err < 1e-12


def test_upstream_gradient_is_seeded_and_not_uniform():
    seen = []

    def backward(dout, cache):
        seen.append(dout.copy())
        return softmax_backward(dout, cache)

    for _ in range(2):
        check_layer(softmax_forward, backward, {"x": _x()}, fd=None,
                    torch_fn=lambda x: torch.softmax(x, dim=1))
    assert np.array_equal(seen[0], seen[1]) and np.std(seen[0]) > 0.5
