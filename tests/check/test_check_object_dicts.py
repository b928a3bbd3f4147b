"""check_object, convention a: forward returns, backward returns dx, dict attributes.

A dense layer followed by a ReLU, written as many courses write it: ``self.params`` (or
``self.parameters``) holds the arrays, ``self.grads`` (or ``self.gradients``) their
gradients under the same keys. The planted slip: the ReLU mask taken from the wrong array
(the layer's input ``x`` instead of the pre-activation ``z``).
"""

import numpy as np
import pytest
import torch

from handgrad.compare.check.objects import check_object


class DenseRelu:
    """y = relu(x @ W + b); x (m, n), W (n, k), b (k,), y (m, k)."""

    def __init__(self, n, k, rng, store=("params", "grads")):
        self.store = store
        setattr(self, store[0], {"W": rng.standard_normal((n, k)) / np.sqrt(n),
                                 "b": rng.standard_normal(k)})
        setattr(self, store[1], {})

    def forward(self, x):
        p = getattr(self, self.store[0])
        self.x = x
        self.z = x @ p["W"] + p["b"]
        return np.maximum(self.z, 0)

    def mask(self):
        return self.z > 0

    def backward(self, dout):
        p, g = getattr(self, self.store[0]), getattr(self, self.store[1])
        dz = dout * self.mask()  # relu' = 1 where z > 0
        g["W"] = self.x.T @ dz
        g["b"] = dz.sum(axis=0)
        return dz @ p["W"].T


class DenseReluWrongMask(DenseRelu):
    def mask(self):
        return self.x[:, : self.z.shape[1]] > 0  # slip: the input's sign, not z's


def torch_dense_relu(p, x):
    return torch.relu(x @ p["W"] + p["b"])


def kinks(p, x):  # relu bends where z = 0
    return x @ p["W"] + p["b"]


SCALES = [pytest.param(2, 3, 2, id="m2-n3-k2"), pytest.param(7, 5, 4, id="m7-n5-k4"),
          pytest.param(32, 16, 8, id="m32-n16-k8")]
STORES = [pytest.param(("params", "grads"), id="params-grads"),
          pytest.param(("parameters", "gradients"), id="parameters-gradients")]


@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize("m, n, k", SCALES)
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_right_code_passes(m, n, k, store, with_torch):
    rng = np.random.default_rng(m * n)
    layer = DenseRelu(n, k, rng, store)
    report = check_object(layer, {"x": rng.standard_normal((m, n))},
                          torch_dense_relu if with_torch else None, kinks=kinks)
    assert report.ok, report
    assert [(e.name, e.kind) for e in report.entries if e.kind != "output"] == [
        ("x", "input"), ("W", "param"), ("b", "param")]
    assert report.references == (["autograd", "fd"] if with_torch else ["fd"])


@pytest.mark.parametrize("m, n, k", SCALES[1:])
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_a_mask_from_the_wrong_array_fails_and_is_named(m, n, k, with_torch):
    rng = np.random.default_rng(1)
    layer = DenseReluWrongMask(n, k, rng)
    report = check_object(layer, {"x": rng.standard_normal((m, n))},
                          torch_dense_relu if with_torch else None, kinks=kinks)
    assert report.verdict == "fail"
    assert set(report.failures) == {"x", "W", "b"}, report
