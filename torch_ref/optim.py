"""torch.optim itself, by handgrad's optimizer names (no re-implementation here).

``make_optimizer("sgd", params, lr=..., momentum=..., dampening=..., nesterov=...,
weight_decay=...)`` is ``torch.optim.SGD``; ``make_optimizer("adam", params, lr=...,
betas=..., eps=..., weight_decay=...)`` is ``torch.optim.Adam``.
"""

from __future__ import annotations

import torch

OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}


def make_optimizer(name: str, params, **options) -> torch.optim.Optimizer:
    """``torch.optim.SGD`` or ``torch.optim.Adam`` over ``params`` by handgrad's name."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[name](params, **options)
