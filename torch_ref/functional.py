"""torch's own activations and losses, one entry per handgrad name.

The names, scalings and conventions are those of ``handmade`` (see DESIGN.md); here
torch computes them and autograd differentiates them, so nothing is derived by hand.
Labels: binary/regression labels (the output's shape ``(m, k)``, or ``(m,)`` when k = 1)
are reshaped to the output's shape and dtype; class labels are integer indices ``(m,)``
made ``torch.long``. ``prepare_labels`` checks them exactly as handmade's does (shape,
finite, binary targets in [0, 1], classes in [0, k)) instead of leaving torch to ignore
class -100 or raise an IndexError.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

ACTIVATIONS = {
    "identity": lambda z: z,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, negative_slope=0.01),
    "softplus": lambda z: F.softplus(z, beta=1.0, threshold=20.0),
    "elu": lambda z: F.elu(z, alpha=1.0),
    "silu": F.silu,
    "gelu": lambda z: F.gelu(z, approximate="none"),
    "softmax": lambda z: torch.softmax(z, dim=-1),
    "step": lambda z: (z > 0).to(z.dtype),  # Heaviside; no gradient flows through it
}

CLASS_LOSSES = ("cross_entropy", "nll")


def _perceptron(out, y, reduction):
    terms = F.relu(-(2.0 * y - 1.0) * out)  # max(0, -s z), relu'(0) = 0 at the kink
    return terms.mean() if reduction == "mean" else terms.sum()


LOSSES = {
    "mse": lambda o, y, r: F.mse_loss(o, y, reduction=r),
    "half_mse": lambda o, y, r: 0.5 * F.mse_loss(o, y, reduction=r),
    "bce": lambda o, y, r: F.binary_cross_entropy(o, y, reduction=r),
    "bce_with_logits": lambda o, y, r: F.binary_cross_entropy_with_logits(o, y, reduction=r),
    "cross_entropy": lambda o, y, r: F.cross_entropy(o, y, reduction=r),
    "nll": lambda o, y, r: F.nll_loss(torch.log(o), y, reduction=r),
    "perceptron": _perceptron,
}


def get_activation(name: str):
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def check_loss(name: str) -> str:
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; expected one of {sorted(LOSSES)}")
    return name


BINARY_LOSSES = ("bce", "bce_with_logits", "perceptron")


def as_labels(y, device, loss: str = "loss") -> torch.Tensor:
    """``y`` as a tensor on ``device``; TypeError for text, objects or complex numbers."""
    kind = getattr(getattr(y, "dtype", None), "kind", "f")  # a NumPy array's dtype kind
    try:
        if kind not in "fiub":
            raise TypeError
        y = torch.as_tensor(y, device=device)
    except (TypeError, ValueError, RuntimeError):
        given = f"dtype {y.dtype}" if hasattr(y, "dtype") else type(y).__name__
        raise TypeError(f"{loss}: y must be numeric, got {given}") from None
    if y.is_complex():
        raise TypeError(f"{loss}: y must be real numbers, got dtype {y.dtype}")
    return y


def check_output(loss: str, out: torch.Tensor) -> None:
    """``out`` must be the model output: a floating-point tensor ``(m, k)`` with m >= 1."""
    if not out.is_floating_point():
        raise TypeError(f"{loss}: out must be a floating-point tensor (the model output), "
                        f"got dtype {out.dtype}")
    if out.ndim != 2 or out.shape[0] == 0:
        raise ValueError(f"{loss}: out must have shape (m, k) with m >= 1 (the model output), "
                         f"got {tuple(out.shape)}")


def prepare_labels(loss: str, out: torch.Tensor, y) -> torch.Tensor:
    """Labels as ``loss`` reads them, on ``out``'s device, checked as handmade checks them."""
    check_output(loss, out)
    y = as_labels(y, out.device, loss)
    m, k = out.shape
    if loss in CLASS_LOSSES:
        if y.ndim != 1 or y.shape[0] != m:
            raise ValueError(f"{loss}: y must be integer class indices of shape ({m},), "
                             f"got shape {tuple(y.shape)}")
        if y.is_floating_point() or y.dtype == torch.bool:
            raise TypeError(f"{loss}: y must hold integer class indices, got dtype {y.dtype}")
        if bool(((y < 0) | (y >= k)).any()):  # torch would raise IndexError (-100: ignored)
            raise ValueError(f"{loss}: class indices must lie in [0, {k}), got min "
                             f"{int(y.min())} and max {int(y.max())}")
        return y.to(torch.long)
    if tuple(y.shape) != (m, k) and not (k == 1 and tuple(y.shape) == (m,)):
        shapes = f"({m}, {k})" + (f" or ({m},)" if k == 1 else "")
        raise ValueError(f"{loss}: y must have shape {shapes}, one row per sample like the "
                         f"output, got shape {tuple(y.shape)} ({y.numel()} elements for the "
                         f"output's {out.numel()})")
    y = y.reshape(out.shape).to(out.dtype)
    bad = ~torch.isfinite(y)
    if loss in BINARY_LOSSES:
        bad = bad | (y < 0) | (y > 1)
    if bool(bad.any()):  # one device sync for every check
        n_bad = int((~torch.isfinite(y)).sum())
        if n_bad:
            raise ValueError(f"{loss}: y must be finite; it holds {n_bad} NaN/Inf value(s)")
        raise ValueError(f"{loss}: labels must lie in [0, 1] (0/1 classes, or soft targets as "
                         f"torch allows), got min {y.min().item()} and max {y.max().item()}")
    return y


def compute_loss(loss: str, out: torch.Tensor, y, reduction: str = "mean") -> torch.Tensor:
    """The torch loss ``loss`` of ``out`` against ``y`` (a 0-d tensor)."""
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    return LOSSES[check_loss(loss)](out, prepare_labels(loss, out, y), reduction)
