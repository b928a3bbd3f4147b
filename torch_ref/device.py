"""Device and dtype arguments for the torch twins.

``resolve_device("cpu" | "cuda" | "cuda:N")`` returns a ``torch.device`` or raises a
ValueError that says why (no CUDA build, no GPU, index out of range). On CUDA it turns
TF32 off for matmuls and cuDNN, so a float32 comparison is a true float32 one.
"""

from __future__ import annotations

import torch

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_dtype(dtype) -> torch.dtype:
    """``torch.float32``/``torch.float64`` from a torch dtype or its name; TypeError otherwise."""
    if isinstance(dtype, str) and dtype in DTYPES:
        return DTYPES[dtype]
    if dtype in DTYPES.values():
        return dtype
    raise TypeError(f"dtype must be torch.float32 or torch.float64 (or their names), got {dtype!r}")


def cuda_devices() -> list[str]:
    """``["cuda:0", ...]`` for the GPUs torch can use here; empty without CUDA."""
    if not torch.cuda.is_available():
        return []
    return [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def resolve_device(device) -> torch.device:
    """A ``torch.device`` for ``device``; a clear ValueError where it cannot be used."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}") from None
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was requested but CUDA is not available here "
                         f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); "
                         "use device='cpu'")
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r} was requested but only "
                         f"{torch.cuda.device_count()} CUDA device(s) exist")
    # A comparison must not be blurred by TF32's 10-bit mantissa in float32 matmuls.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return dev
