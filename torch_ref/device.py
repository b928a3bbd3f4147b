"""Device and dtype arguments for the torch twins, and the TF32 switch.

``resolve_device("cpu" | "cuda" | "cuda:N")`` returns a ``torch.device`` or raises a
ValueError that says why (no CUDA build, no GPU, index out of range); it changes nothing.

TF32: on an Ampere or later GPU, torch may run float32 matmuls and cuDNN convolutions in
TF32, whose 10-bit mantissa (about 1e-3 relative) would blur a float32 comparison.
``disable_tf32()`` turns both global flags off (``torch.backends.cuda.matmul.allow_tf32``
and ``torch.backends.cudnn.allow_tf32``), and returns them as they were for
``restore_tf32``; ``tf32_off()`` is the same as a context manager that restores them on
exit. A torch twin made on CUDA calls ``disable_tf32()`` (docs/conventions.md).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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
    return dev


def tf32_flags() -> dict[str, bool]:
    """``{"matmul": ..., "cudnn": ...}``: torch's two global TF32 flags as they are now."""
    return {"matmul": torch.backends.cuda.matmul.allow_tf32,
            "cudnn": torch.backends.cudnn.allow_tf32}


def restore_tf32(flags: dict[str, bool]) -> None:
    """Set torch's two global TF32 flags to ``flags`` (as ``tf32_flags`` returned them)."""
    torch.backends.cuda.matmul.allow_tf32 = flags["matmul"]
    torch.backends.cudnn.allow_tf32 = flags["cudnn"]


def disable_tf32() -> dict[str, bool]:
    """Turn TF32 off for CUDA matmuls and cuDNN, process-wide; return the flags as they were.

    A comparison must not be blurred by TF32's 10-bit mantissa in float32 products. The
    two flags are global torch settings (settable without a GPU, read only on one): they
    stay off until ``restore_tf32`` (or the end of a ``tf32_off`` block) sets them back.
    """
    before = tf32_flags()
    restore_tf32({"matmul": False, "cudnn": False})
    return before


@contextlib.contextmanager
def tf32_off() -> Iterator[None]:
    """``with tf32_off(): ...``: TF32 off inside the block, the flags as they were after it."""
    before = disable_tf32()
    try:
        yield
    finally:
        restore_tf32(before)
