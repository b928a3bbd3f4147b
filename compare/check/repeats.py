"""The same call twice: code under test must give the same numbers on the same input.

A backward that adds into kept arrays, or keeps a cache of the call before, gives other
numbers the second time. Each door calls the code under test a second time, identically,
and fails the entries whose numbers changed (``REPEAT_RTOL``).
"""

from __future__ import annotations

import numpy as np

from handgrad.compare.check.tolerances import REPEAT_RTOL

REPEAT_NOTE = ("changed between two identical calls (accumulating into the gradient arrays? "
               "state kept from the call before?)")


def changed(first: dict, again: dict) -> list[str]:
    """The names whose array in ``again`` differs from the one in ``first`` (both present,
    of the same shape) by more than ``REPEAT_RTOL``, relative."""
    out = []
    for name, before in first.items():
        after = again.get(name)
        if before is None or after is None or np.shape(before) != np.shape(after):
            continue
        same = np.allclose(np.asarray(after, np.float64), np.asarray(before, np.float64),
                           rtol=REPEAT_RTOL, atol=0.0, equal_nan=True)
        if not same:
            out.append(name)
    return out


def mark_repeats(report, first: dict, again: dict) -> None:
    """Fail the entries of ``report`` whose array a second identical call changed."""
    names = set(changed(first, again))
    for entry in report.entries:
        if entry.name in names:
            entry.fail(REPEAT_NOTE)
