"""check_object, convention d: parameters and gradients in parallel lists params, grads.

A layer that averages a sequence over time and applies a linear map, written as the
"list of params, list of grads" libraries write it (the optimizer walks both lists). Each
entry is named after the attribute that holds the same array (``self.W``), else
``params[i]``. The planted slip: a sum where the mean is meant (the 1/T of the average
forgotten in backward).
"""

import re

import numpy as np
import pytest

from handgrad.compare.check.objects import check_object


class MeanLinear:
    """h = mean_t x[:, t, :]; out = h @ W + b.  x (m, T, n), W (n, k), b (k,), out (m, k)."""

    def __init__(self, n, k, rng):
        self.W = rng.standard_normal((n, k)) / np.sqrt(n)
        self.b = rng.standard_normal(k)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self.params = [self.W, self.b]
        self.grads = [self.dW, self.db]  # written in place by backward

    def forward(self, x):
        self.T = x.shape[1]
        self.h = x.mean(axis=1)
        return self.h @ self.W + self.b

    def backward(self, dout):
        self.dW[...] = self.h.T @ dout
        self.db[...] = dout.sum(axis=0)
        dh = dout @ self.W.T  # (m, n)
        return np.repeat(dh[:, None, :] / self.T, self.T, axis=1)  # each step weighs 1/T


class SumLinear(MeanLinear):
    def backward(self, dout):
        super().backward(dout)
        dh = dout @ self.W.T
        return np.repeat(dh[:, None, :], self.T, axis=1)  # slip: the sum's gradient


class AnonymousLinear:
    """The same map with nothing but the lists; the grads list rebuilt by backward."""

    def __init__(self, n, k, rng):
        self.params = [rng.standard_normal((n, k)), rng.standard_normal(k)]
        self.grads = [np.zeros((n, k)), np.zeros(k)]

    def forward(self, x):
        self.x = x
        return x @ self.params[0] + self.params[1]

    def backward(self, dout):
        self.grads = [self.x.T @ dout, dout.sum(axis=0)]
        return dout @ self.params[0].T


def torch_mean_linear(p, x):
    return x.mean(dim=1) @ p["W"] + p["b"]


SCALES = [pytest.param(2, 2, 3, 2, id="m2-T2-n3-k2"), pytest.param(5, 7, 4, 3, id="m5-T7-n4-k3"),
          pytest.param(12, 20, 6, 5, id="m12-T20-n6-k5")]


@pytest.mark.parametrize("m, T, n, k", SCALES)
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_right_code_passes(m, T, n, k, with_torch):
    rng = np.random.default_rng(T)
    report = check_object(MeanLinear(n, k, rng), {"x": rng.standard_normal((m, T, n))},
                          torch_mean_linear if with_torch else None)
    assert report.ok, report
    assert [(e.name, e.kind) for e in report.entries if e.kind != "output"] == [
        ("x", "input"), ("W", "param"), ("b", "param")]


@pytest.mark.parametrize("m, T, n, k", SCALES)
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_a_sum_where_the_mean_is_meant_fails_and_is_named(m, T, n, k, with_torch):
    rng = np.random.default_rng(4)
    report = check_object(SumLinear(n, k, rng), {"x": rng.standard_normal((m, T, n))},
                          torch_mean_linear if with_torch else None)
    assert report.failures == ["x"], report
    if with_torch:  # the factor is T, the length of the sum
        assert re.search(rf"hand = {T}\.0* ×", report.entry("x").diagnosis), report


@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_list_entries_with_no_attribute_are_named_by_index(with_torch):
    rng = np.random.default_rng(5)
    report = check_object(AnonymousLinear(3, 2, rng), {"x": rng.standard_normal((4, 3))},
                          (lambda p, x: x @ p["params[0]"] + p["params[1]"]) if with_torch
                          else None)
    assert report.ok, report
    assert [(e.name, e.kind) for e in report.entries if e.kind != "output"] == [
        ("x", "input"), ("params[0]", "param"), ("params[1]", "param")]
