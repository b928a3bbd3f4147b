"""Precision as the code returns it, and the batch size a diagnosis names.

Code may return a lower precision than it was given: float32 outputs or gradients from
float64 inputs (a cast at the end, or float32 arithmetic inside), float16. Its numbers then
carry that precision's rounding, and are judged at it, as float32 code is
(``compare.check.tolerances``): the autograd and finite-difference tolerances of the
returned dtype, the torch reference run a second time in that dtype to measure its rounding
(``rounding_noise``), and finite differences with that dtype's step and rounding unit. The
report says so in one line. It never fails on rounding; a real slip (a factor 2) is far
beyond any of these allowances and still fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from handgrad.compare.check.tolerances import EPS, lowest_precision


@dataclass(frozen=True)
class Returned:
    """The precision the code returned (``dtype``, lower than its inputs') and the
    report's line saying so."""

    dtype: str
    note: str


def _float_dtypes(arrays) -> list[str]:
    return [np.asarray(a).dtype.name for a in arrays
            if np.asarray(a).dtype.kind == "f"]


def returned_precision(given: str, returned: dict, of: str = "inputs") -> Returned | None:
    """``Returned`` when the lowest float precision among ``returned`` (who -> arrays, e.g.
    ``{"forward": outputs, "backward": gradients}``) is below ``given``; else None."""
    lowest = {who: lowest_precision(_float_dtypes(arrays)) for who, arrays in returned.items()}
    known = [dtype for dtype in lowest.values() if dtype is not None]
    low = lowest_precision(known) if known else None
    if low is None or EPS[low] <= EPS.get(given, 0.0):
        return None
    who = " and ".join(name for name, dtype in lowest.items() if dtype == low)
    verb = "return" if " and " in who else "returns"
    return Returned(low, f"{who} {verb} {low} for {given} {of}: judged at {low} rounding")


def rounding_noise(reference, run_low: Callable, *, returned: bool) -> dict:
    """Per name, the reference in the lower precision minus the float64 one: its rounding
    there, measured (``run_low()`` gives that run's ``Side``). For code that ``returned``
    the lower precision from float64 inputs, ``{}`` when the torch reference cannot run in
    it (some float16 operations on a CPU, a torch function that mixes in float64
    constants): the tolerance of the dtype then applies alone. Float32 inputs: the
    reference must run in float32, as it always had to."""
    try:
        low = run_low()
    except Exception:
        if not returned:
            raise
        return {}
    noise = {k: low.grads[k] - g for k, g in reference.grads.items()}
    noise |= {k: low.intermediates[k] - g for k, g in reference.intermediates.items()}
    return noise


def batch_size(arrays: dict) -> int | None:
    """The batch size a diagnosis may name (``hand = 5 × autograd with m = 5``): the
    leading dimension of the first array of ``arrays`` that has two dimensions or more
    (rows of samples, as ``X`` is); None when there is none, or it holds one row."""
    for value in arrays.values():
        shape = np.shape(value)
        if len(shape) >= 2:
            return shape[0] if shape[0] >= 2 else None
    return None
