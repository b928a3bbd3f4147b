"""Fixtures shared by every test folder."""

import contextlib
import warnings

import numpy as np
import pytest


@contextlib.contextmanager
def _strict_floating_point():
    """Overflow, division by zero and invalid operations raise; so does any warning.

    Underflow to 0 is allowed (it is exact in the limit).
    """
    with np.errstate(over="raise", divide="raise", invalid="raise"), \
            warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.fixture(scope="session")
def strict_floating_point():
    """The context above, for the numerics tests: ``with strict_floating_point(): ...``.

    Session scope: it hands out the context manager itself, which keeps no state, so one
    object serves every test (and a hypothesis test may use it too).
    """
    return _strict_floating_point
