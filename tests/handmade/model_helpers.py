"""Shared by the handmade model tests: the float64 tolerance against torch, a checked
comparison, and labels in the layout each loss reads.

Not a test module: the split files (test_dense, test_mlp, test_neurons, ...) import it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

# float64, hand vs torch autograd. Both sides evaluate the same formulas in float64 and
# differ only in the order of the roundings (BLAS blocking, torch's fused kernels), so
# each entry agrees to a few ulp of the largest term summed into it: eps 2.2e-16 times
# a few dozen terms of size <= ~10 is ~1e-14 absolutely. Measured on the MLP cases of
# test_mlp.py:
# at most 1.1e-15 normwise, 7e-15 absolute (sum reduction, entries up to ~10), and the
# worst entry uses 0.15% of the allowance atol + rtol*|b|. RTOL 1e-12 / ATOL 1e-13 thus
# leave a margin of ~650, while any real mistake (a missing factor 2 or 1/m, a transposed
# weight, a wrong derivative) is off by 1e-2 relative or more.
RTOL64 = 1e-12
ATOL64 = 1e-13

DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]


def assert_close64(actual, expected, what=""):
    expected = expected.detach().cpu().numpy() if isinstance(expected, torch.Tensor) else expected
    assert np.shape(actual) == np.shape(expected), what
    np.testing.assert_allclose(actual, expected, rtol=RTOL64, atol=ATOL64, err_msg=what)


def random_labels(loss: str, m: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Labels in the layout docs/conventions.md (Labels) gives for ``loss``, output width ``k``."""
    if loss in ("cross_entropy", "nll"):
        y = rng.integers(0, k, size=m)  # class indices (m,)
        y[:k] = np.arange(k)  # every class appears at least once
        return y
    if loss in ("bce", "bce_with_logits", "perceptron"):
        y = (rng.random((m, k)) < 0.5).astype(np.float64)
        y[0], y[1] = 0.0, 1.0  # both classes appear
        return y
    return rng.normal(size=(m, k))  # regression targets


def neuron_data(n, m, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    y = (rng.random(m) < 0.5).astype(np.float64)
    y[0], y[1] = 0.0, 1.0
    return X, y
