"""Hypothesis strategies for a layer's shapes, scales and inputs (``pip install hypothesis``).

With them, ``@given`` plus ``assert_layer_match`` searches shapes and scales, and Hypothesis
shrinks a failure to the smallest batch, width and scale that still fails::

    from hypothesis import given
    from handgrad import assert_layer_match
    from handgrad.strategies import layer_cases

    @given(layer_cases(batch=(1, 8), width=(1, 6)))
    def test_my_layer(case):
        assert_layer_match(my_forward, my_backward, {"x": case.x}, torch_fn)

What shrinks toward what:

* batch and width: integers, toward their lower bounds;
* scale: one of a few powers of ten, toward the first (the smallest);
* the values: drawn from ``numpy.random.default_rng`` with a drawn seed, ``scale * N(0, 1)``,
  never by Hypothesis float by float. A gradient check needs generic points: values that
  Hypothesis shrank to 0 would sit on a relu's kink or make every entry equal. The seed
  shrinks toward 0.

A ``LayerCase`` prints as the expression that rebuilds it, so the falsifying example
Hypothesis reports can be pasted into ``@example(...)``. This module imports Hypothesis at
its top: it is imported only by a test that asks for it (``import handgrad`` does not).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

SCALES = (0.001, 0.1, 1.0, 10.0, 1000.0)  # from the underflow side to the overflow side of 1
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class LayerCase:
    """One point of the search: a batch of ``batch`` rows of ``width`` features.

    ``x`` is ``scale * N(0, 1)`` of shape ``(batch, width)``, drawn from ``seed``;
    ``normal(shape, name)`` draws any further array (weights, a bias) from the same seed
    and the array's name, so that every array of a case is fixed by the case's repr.
    """

    batch: int
    width: int
    scale: float
    seed: int

    @property
    def x(self) -> np.ndarray:
        """The input, shape ``(batch, width)``, float64."""
        return self.normal((self.batch, self.width), "x")

    def normal(self, shape, name: str) -> np.ndarray:
        """``scale * N(0, 1)`` of ``shape``, float64, seeded by ``(seed, crc32(name))``."""
        rng = np.random.default_rng([self.seed, zlib.crc32(name.encode())])
        return self.scale * rng.standard_normal(shape)


def _bounds(given, name: str) -> tuple[int, int]:
    """``(low, high)`` from an int or a pair, checked: 1 <= low <= high."""
    low, high = (given, given) if isinstance(given, int) else tuple(given)
    if not (isinstance(low, int) and isinstance(high, int) and 1 <= low <= high):
        raise ValueError(f"{name} must be an int >= 1 or a pair (low, high) with "
                         f"1 <= low <= high, got {given!r}")
    return low, high


def sizes(bounds=(1, 8), name: str = "size") -> st.SearchStrategy[int]:
    """An axis length in ``bounds`` (an int, or ``(low, high)``), shrinking toward ``low``."""
    low, high = _bounds(bounds, name)
    return st.integers(low, high)


def shapes(batch=(1, 8), width=(1, 8)) -> st.SearchStrategy[tuple[int, int]]:
    """``(batch, width)``, each shrinking toward its lower bound."""
    return st.tuples(sizes(batch, "batch"), sizes(width, "width"))


def scales(values=SCALES) -> st.SearchStrategy[float]:
    """One of ``values`` (positive floats), shrinking toward the smallest."""
    ordered = sorted(float(v) for v in values)
    if not ordered or ordered[0] <= 0 or not np.all(np.isfinite(ordered)):
        raise ValueError(f"scales must be positive finite numbers, got {values!r}")
    return st.sampled_from(ordered)


def seeds() -> st.SearchStrategy[int]:
    """A seed for ``numpy.random.default_rng``, shrinking toward 0."""
    return st.integers(0, MAX_SEED)


def inputs(shape, scale=1.0) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays ``scale * N(0, 1)`` of a fixed ``shape``, one per drawn seed."""
    return seeds().map(lambda seed: LayerCase(1, 1, float(scale), seed).normal(shape, "x"))


def layer_cases(batch=(1, 8), width=(1, 8), scale=SCALES) -> st.SearchStrategy[LayerCase]:
    """``LayerCase``s: a shape, a scale and a seed, each shrinking as said above."""
    return st.builds(LayerCase, batch=sizes(batch, "batch"), width=sizes(width, "width"),
                     scale=scales(scale), seed=seeds())
