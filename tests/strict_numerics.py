"""A context shared by the numerics tests: floating-point trouble raises instead of warning."""

import contextlib
import warnings

import numpy as np


@contextlib.contextmanager
def strict_floating_point():
    """Overflow, division by zero and invalid operations raise; so does any warning.

    Underflow to 0 is allowed (it is exact in the limit).
    """
    with np.errstate(over="raise", divide="raise", invalid="raise"), \
            warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
