"""torch's own activations and losses, one entry per handgrad name.

The names, scalings and conventions are those of ``handmade`` (see DESIGN.md); here
torch computes them and autograd differentiates them, so nothing is derived by hand.
Labels: binary/regression labels are reshaped to the output's shape and dtype; class
labels are integer indices ``(m,)`` made ``torch.long``.
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


def prepare_labels(loss: str, out: torch.Tensor, y) -> torch.Tensor:
    """Labels as ``loss`` reads them, on ``out``'s device."""
    y = torch.as_tensor(y, device=out.device)
    if loss in CLASS_LOSSES:
        return y.to(torch.long)
    if y.numel() != out.numel():
        raise ValueError(f"{loss}: y has {y.numel()} elements but the output has {out.numel()}")
    return y.reshape(out.shape).to(out.dtype)


def compute_loss(loss: str, out: torch.Tensor, y, reduction: str = "mean") -> torch.Tensor:
    """The torch loss ``loss`` of ``out`` against ``y`` (a 0-d tensor)."""
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    return LOSSES[check_loss(loss)](out, prepare_labels(loss, out, y), reduction)
