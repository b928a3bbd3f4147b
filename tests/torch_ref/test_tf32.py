"""TF32 is switched only where it is asked for, and back as documented (runs on a CPU).

torch's two TF32 flags (``torch.backends.cuda.matmul.allow_tf32`` and
``torch.backends.cudnn.allow_tf32``) are global settings that can be set and read without
a GPU, so every rule of ``torch_ref/device.py`` is checked here; each test leaves the flags
as it found them.
"""

import itertools

import pytest
import torch

from handgrad import torch_ref
from handgrad.torch_ref.device import tf32_flags

SETTINGS = [pytest.param({"matmul": matmul, "cudnn": cudnn}, id=f"matmul={matmul}-cudnn={cudnn}")
            for matmul, cudnn in itertools.product([True, False], repeat=2)]


@pytest.fixture(autouse=True)
def flags_left_as_found():
    found = {"matmul": torch.backends.cuda.matmul.allow_tf32,
             "cudnn": torch.backends.cudnn.allow_tf32}
    yield
    torch.backends.cuda.matmul.allow_tf32 = found["matmul"]
    torch.backends.cudnn.allow_tf32 = found["cudnn"]


def set_flags(flags: dict) -> None:
    torch.backends.cuda.matmul.allow_tf32 = flags["matmul"]
    torch.backends.cudnn.allow_tf32 = flags["cudnn"]


def read_flags() -> dict:
    return {"matmul": torch.backends.cuda.matmul.allow_tf32,
            "cudnn": torch.backends.cudnn.allow_tf32}


@pytest.mark.parametrize("flags", SETTINGS)
def test_disable_tf32_turns_both_off_and_returns_them_as_they_were(flags):
    set_flags(flags)
    assert torch_ref.disable_tf32() == flags
    assert read_flags() == {"matmul": False, "cudnn": False}


@pytest.mark.parametrize("flags", SETTINGS)
def test_restore_tf32_sets_them_back(flags):
    set_flags(flags)
    before = torch_ref.disable_tf32()
    torch_ref.restore_tf32(before)
    assert read_flags() == flags
    assert tf32_flags() == flags


@pytest.mark.parametrize("flags", SETTINGS)
def test_tf32_off_holds_them_off_inside_and_restores_them_after(flags):
    set_flags(flags)
    with torch_ref.tf32_off():
        assert read_flags() == {"matmul": False, "cudnn": False}
    assert read_flags() == flags


def test_tf32_off_restores_them_when_the_block_raises():
    set_flags({"matmul": True, "cudnn": True})
    with pytest.raises(KeyError), torch_ref.tf32_off():
        raise KeyError("inside")
    assert read_flags() == {"matmul": True, "cudnn": True}


def test_resolving_a_device_or_making_a_cpu_twin_leaves_the_flags_alone():
    set_flags({"matmul": True, "cudnn": True})
    assert torch_ref.resolve_device("cpu") == torch.device("cpu")
    torch_ref.TorchMLP([3, 2], ["identity"], "mse", device="cpu")
    assert read_flags() == {"matmul": True, "cudnn": True}
