"""check_object, convention e: anything else, named with params= and grads=.

Pooling with padding (kernel 3, stride 2, padding 1, as ``F.avg_pool2d`` and
``F.max_pool2d``), one with a learnable per-channel gain kept in attributes no convention
knows (``self.g``, its gradient ``self.g_grad``). The planted slip: the window offset of
the padding forgotten when the padded gradient is cut back to the input's size (rows
``0..H`` instead of ``pad..pad+H``).
"""

import numpy as np
import pytest
import torch.nn.functional as F

from handgrad.compare.check.objects import check_object

K, S, PAD = 3, 2, 1  # kernel, stride, padding


def windows(H, W):
    """The (row, column) slices of each output position, in padded coordinates."""
    rows = (H + 2 * PAD - K) // S + 1
    cols = (W + 2 * PAD - K) // S + 1
    return [(i, j, slice(i * S, i * S + K), slice(j * S, j * S + K))
            for i in range(rows) for j in range(cols)], (rows, cols)


class GainAvgPool:
    """out[:, c] = g[c] · avgpool(x)[:, c] (zeros padded, counted as torch counts them)."""

    def __init__(self, channels, rng):
        self.g = rng.uniform(0.5, 1.5, channels)
        self.g_grad = None

    def forward(self, x):
        self.shape = x.shape
        xp = np.pad(x, ((0, 0), (0, 0), (PAD, PAD), (PAD, PAD)))
        spots, size = windows(*x.shape[2:])
        self.pooled = np.zeros(x.shape[:2] + size)
        for i, j, r, c in spots:
            self.pooled[:, :, i, j] = xp[:, :, r, c].mean(axis=(2, 3))
        return self.g[None, :, None, None] * self.pooled

    def backward(self, dout):
        self.g_grad = (dout * self.pooled).sum(axis=(0, 2, 3))
        dpooled = dout * self.g[None, :, None, None]
        m, C, H, W = self.shape
        dxp = np.zeros((m, C, H + 2 * PAD, W + 2 * PAD))
        for i, j, r, c in windows(H, W)[0]:
            dxp[:, :, r, c] += dpooled[:, :, i, j][:, :, None, None] / K**2
        return self.cut(dxp, H, W)

    def cut(self, dxp, H, W):
        return dxp[:, :, PAD:PAD + H, PAD:PAD + W]


class GainAvgPoolOffset(GainAvgPool):
    def cut(self, dxp, H, W):
        return dxp[:, :, :H, :W]  # slip: the padding's offset forgotten


class MaxPool:
    """out = maxpool(x), padded with -inf; the gradient goes to each window's maximum."""

    def forward(self, x):
        self.x = x
        xp = np.pad(x, ((0, 0), (0, 0), (PAD, PAD), (PAD, PAD)), constant_values=-np.inf)
        spots, size = windows(*x.shape[2:])
        out = np.zeros(x.shape[:2] + size)
        for i, j, r, c in spots:
            out[:, :, i, j] = xp[:, :, r, c].max(axis=(2, 3))
        self.xp = xp
        return out

    def backward(self, dout):
        m, C, H, W = self.x.shape
        dxp = np.zeros_like(self.xp)
        for i, j, r, c in windows(H, W)[0]:
            window = self.xp[:, :, r, c]
            hit = window == window.max(axis=(2, 3), keepdims=True)
            dxp[:, :, r, c] += hit * dout[:, :, i, j][:, :, None, None]
        return self.cut(dxp, H, W)

    def cut(self, dxp, H, W):
        return dxp[:, :, PAD:PAD + H, PAD:PAD + W]


class MaxPoolOffset(MaxPool):
    def cut(self, dxp, H, W):
        return dxp[:, :, :H, :W]  # slip: the padding's offset forgotten


def torch_gain_avg(p, x):
    return p["gain"][None, :, None, None] * F.avg_pool2d(x, K, S, padding=PAD)


def torch_max(p, x):
    return F.max_pool2d(x, K, S, padding=PAD)


SCALES = [pytest.param((1, 1, 4, 4), id="1x1x4x4"), pytest.param((2, 3, 5, 6), id="2x3x5x6"),
          pytest.param((3, 2, 9, 8), id="3x2x9x8")]
NAMINGS = [pytest.param({"gain": "g"}, {"gain": "g_grad"}, id="attribute-names"),
           pytest.param({"gain": lambda layer: layer.g}, {"gain": lambda layer: layer.g_grad},
                        id="callables")]


@pytest.mark.parametrize("params, grads", NAMINGS)
@pytest.mark.parametrize("shape", SCALES)
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_a_named_pool_passes(shape, params, grads, with_torch):
    rng = np.random.default_rng(shape[2])
    report = check_object(GainAvgPool(shape[1], rng), {"x": rng.standard_normal(shape)},
                          torch_gain_avg if with_torch else None, params=params, grads=grads)
    assert report.ok, report
    assert [(e.name, e.kind) for e in report.entries if e.kind != "output"] == [
        ("x", "input"), ("gain", "param")]


@pytest.mark.parametrize("shape", SCALES)
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_an_avg_pool_window_offset_fails_and_is_named(shape, with_torch):
    rng = np.random.default_rng(6)
    report = check_object(GainAvgPoolOffset(shape[1], rng), {"x": rng.standard_normal(shape)},
                          torch_gain_avg if with_torch else None,
                          params={"gain": "g"}, grads={"gain": "g_grad"})
    assert report.failures == ["x"], report


@pytest.mark.parametrize("shape", SCALES)
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_a_max_pool_passes_and_its_window_offset_fails(shape, with_torch):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape)
    right = check_object(MaxPool(), {"x": x}, torch_max if with_torch else None)
    assert right.ok, right
    slip = check_object(MaxPoolOffset(), {"x": x}, torch_max if with_torch else None)
    assert slip.failures == ["x"], slip
