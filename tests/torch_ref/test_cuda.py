"""CUDA: the torch twin on a GPU gives the same reference as on the CPU (skipped without one)."""

import numpy as np
import pytest
import torch

from handgrad import handmade, torch_ref
from handgrad.compare import build_twins, check_gradients
from handgrad.compare.check.suite import make_data
from handgrad.compare.spec import Spec
from handgrad.compare.transfer import to_numpy64
from handgrad.torch_ref import resolve_device
from handgrad.torch_ref.device import tf32_flags

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")]


def test_a_cuda_twin_turns_tf32_off_and_resolving_the_device_does_not():
    before = tf32_flags()
    try:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        assert resolve_device("cuda").type == "cuda"
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
        torch_ref.TorchMLP([3, 2], ["identity"], "mse", device="cuda")
        assert not torch.backends.cuda.matmul.allow_tf32
        assert not torch.backends.cudnn.allow_tf32
    finally:
        torch_ref.restore_tf32(before)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cuda_twin_agrees_with_cpu_twin(dtype):
    spec = Spec((6, 16, 16, 3), ("tanh", "gelu", "identity"), "cross_entropy")
    hand, cpu = build_twins(spec, seed=4, dtype=dtype)
    _, gpu = build_twins(spec, seed=4, dtype=dtype, device="cuda")
    X, y = make_data(hand, "cross_entropy", seed=4)
    loss_cpu, g_cpu = cpu.loss_and_grads(X, y)
    loss_gpu, g_gpu = gpu.loss_and_grads(X, y)
    assert all(t.device.type == "cuda" for t in g_gpu.values())
    # float64: the two devices differ only in summation order (~1e-16 relative); float32:
    # ~1e-7 relative with TF32 off (TF32 would give ~1e-3, which 1e-5 rejects)
    rtol = 1e-12 if dtype == "float64" else 1e-5
    assert loss_gpu == pytest.approx(loss_cpu, rel=rtol)
    for key in g_cpu:
        a, b = to_numpy64(g_gpu[key]), to_numpy64(g_cpu[key])
        assert np.linalg.norm(a - b) <= rtol * np.linalg.norm(b), key


def test_check_gradients_on_cuda_reports_the_device_and_catches_a_bug():
    class Flipped(handmade.MLP):
        def loss_and_grads(self, X, y):
            loss, grads = super().loss_and_grads(X, y)
            grads["layers.1.weight"] = -grads["layers.1.weight"]
            return loss, grads

    good = handmade.MLP([4, 8, 2], ["silu", "identity"], "mse")
    X, y = make_data(good, "mse")
    report = check_gradients(good, X, y, device="cuda")
    assert report.ok and report.device.startswith("cuda"), report
    bad = check_gradients(Flipped([4, 8, 2], ["silu", "identity"], "mse"), X, y, device="cuda")
    assert bad.failures == ["layers.1.weight"]
