"""The autograd reference for a user's own torch code: float64 tensors in, NumPy out.

``check_model`` and ``check_layer`` hand the user's arrays to their torch function as
float64 leaf tensors (integer arrays as int64, e.g. class labels) on ``device``, run
``torch.autograd.grad`` once, and read everything back as float64 NumPy arrays.
"""

from __future__ import annotations

import numpy as np
import torch

from handgrad.torch_ref import resolve_device
from handgrad.torch_ref.device import disable_tf32


def device_of(device) -> torch.device:
    """``"cpu"``, ``"cuda"`` or ``"cuda:N"`` as a torch device; a clear error without CUDA.

    On CUDA, this turns torch's two global TF32 flags off for the process
    (``torch_ref.device.disable_tf32``), so that float32 matmuls are float32 (the
    comparison's premise; the reference itself runs in float64). They stay off: a caller
    who wants them back keeps ``torch_ref.device.tf32_flags()`` from before and passes it
    to ``restore_tf32``, or runs the check inside ``with tf32_off():``.
    """
    resolved = resolve_device(device)
    if resolved.type == "cuda":
        disable_tf32()
    return resolved


def to_tensor(value, device: torch.device, requires_grad: bool = False, dtype=torch.float64):
    """A float array as a ``dtype`` tensor (a leaf), an integer array as int64; else as is."""
    if isinstance(value, np.ndarray) or np.isscalar(value):
        arr = np.asarray(value)
        if arr.dtype.kind == "f":
            tensor = torch.tensor(arr, dtype=dtype, device=device)
            return tensor.requires_grad_(requires_grad)
        if arr.dtype.kind in "iub":
            return torch.tensor(arr, dtype=torch.bool if arr.dtype.kind == "b" else torch.int64,
                                device=device)
    return value


def to_numpy(t) -> np.ndarray:
    """A tensor (any device) as a float64 NumPy array."""
    return t.detach().to("cpu", torch.float64).numpy()


def grads_of(outputs, douts, wrt: dict) -> dict[str, np.ndarray]:
    """``Σ_k <outputs_k, douts_k>`` differentiated by each tensor of ``wrt`` (zeros if unused)."""
    tensors = list(wrt.values())
    grads = torch.autograd.grad(outputs, tensors, grad_outputs=douts, allow_unused=True)
    return {name: to_numpy(g) if g is not None else np.zeros(tuple(t.shape))
            for (name, t), g in zip(wrt.items(), grads)}
