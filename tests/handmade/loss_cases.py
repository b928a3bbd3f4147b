"""Shared by the loss tests: the cases (out, y) of every loss, torch's value and gradient,
and the tolerances against torch, each with its reason.

Not a test module: test_losses.py and test_loss_extremes.py import it.
"""

from __future__ import annotations

import numpy as np
import torch

from handgrad.torch_ref.functional import compute_loss

REDUCTIONS = ["mean", "sum"]
M = 16  # samples per batch

# float64 tolerance against torch. Both sides evaluate the same closed forms; the only
# differences are the order of summation (at most ~M ulp = 3.6e-15 relative for the value)
# and a rounding or two per gradient entry. rtol 1e-13 leaves a margin of ~30 and catches any
# wrong scaling (1/M vs 1/(M k), a factor 2 or 1/2). atol 1e-15 covers entries that cancel
# to ~0 (softmax - onehot and sigmoid - y cancel to an absolute ulp(1) = 2.2e-16, over M).
RTOL64 = 1e-13
ATOL64 = 1e-15

# float32 against a float64 torch reference: ~8 float32 eps (1.2e-7) relative, and the same
# absolute size for entries that cancel to ~0.
RTOL32 = 1e-6
ATOL32 = 1e-6


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    """The test's own softmax (not handmade's), to make probabilities for nll."""
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def binary_labels(rng, m: int) -> np.ndarray:
    """0/1 floats, (m,), with both classes present."""
    return rng.permutation(np.arange(m) % 2).astype(np.float64)


def make_case(name: str, seed: int):
    """(out, y) for ``name`` in float64, laid out as the losses docstring says."""
    rng = np.random.default_rng(seed)
    if name == "cross_entropy":  # logits (m, 3), integer classes (m,)
        return rng.normal(0.0, 2.0, size=(M, 3)), rng.integers(0, 3, size=M)
    if name == "nll":  # probabilities (m, 3), integer classes (m,)
        return softmax_rows(rng.normal(0.0, 2.0, size=(M, 3))), rng.integers(0, 3, size=M)
    if name in ("mse", "half_mse"):  # (m, 2) against random floats (m, 2)
        return rng.normal(size=(M, 2)), rng.normal(size=(M, 2))
    if name == "bce":  # probabilities in (0, 1), (m, 1)
        return rng.uniform(0.02, 0.98, size=(M, 1)), binary_labels(rng, M)
    if name in ("bce_with_logits", "perceptron"):  # raw z, (m, 1)
        return rng.normal(0.0, 3.0, size=(M, 1)), binary_labels(rng, M)
    raise AssertionError(f"no test case for loss {name!r}: add one")


def torch_value_and_grad(name: str, out: np.ndarray, y: np.ndarray, reduction: str):
    """torch's loss (via torch_ref.functional.compute_loss) and d loss / d out by autograd."""
    ot = torch.tensor(out, dtype=torch.float64, requires_grad=True)
    loss = compute_loss(name, ot, y, reduction)
    loss.backward()
    return loss.item(), ot.grad.numpy()
