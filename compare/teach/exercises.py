"""Exercise answers checked in a notebook: a verdict that says what is wrong, not only False.

    answer("dW", my_dW, reference)   # prints "dW: right (max relative error 3.1e-16)"
                                     # or raises WrongAnswer: "dW: shape (2, 3), expected
                                     # (3, 2): the right numbers transposed"

In a student notebook (``python -m tools.student``) each answer starts as ``...``: ``answer``
(and ``require``, for a check that uses an answer before comparing it) then raises
``NotDone``, which a notebook shows as one line ("losses1: not done yet ...") with no
traceback, and the rest of the check cell does not run.

``reference`` is an independent witness (torch autograd, a closed form, handgrad's own
model): the learner's array is compared entry by entry within ``rtol`` (relative to the
largest reference entry, so that entries that cancel to ~0 are not judged against
themselves), and a wrong answer is explained with ``compare.check.diagnose`` (a constant
factor such as 2 or 1/m, a sign, a transpose, a missing sum over the samples, the rows
that are wrong).
"""

from __future__ import annotations

import re

import numpy as np

from handgrad.compare.check.diagnose import diagnose as _diagnose

RTOL = 1e-6  # an answer computed in float64 by another route agrees to ~1e-15; 1e-6 also
#              admits float32 work (eps 1.2e-7 times a few operations)


def diagnose(mine, ref, n_samples=None) -> str | None:
    """The judge's diagnosis, in an exercise's words (yours, the expected)."""
    why = _diagnose(mine, ref, n_samples=n_samples)
    if not why:
        return why
    why = re.sub(r"\bhand\b", "yours", why)
    return re.sub(r"\b(torch )?autograd\b", "the expected", why)


class WrongAnswer(AssertionError):
    """An exercise answer that does not match; the message says how it differs."""


class NotDone(WrongAnswer):
    """An exercise whose answer is still the blank ``...`` of the student notebook."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: the one line that says what to do."""
        return [f"{type(self).__name__}: {self}"]


def require(**answers) -> None:
    """Raise ``NotDone`` naming each answer that is still ``...``; do nothing otherwise.

    ``require(W0x=W0x, b0x=b0x)`` at the top of a check cell that uses the answers before
    ``answer`` compares them.
    """
    blank = [name for name, value in answers.items() if value is Ellipsis]
    if blank:
        raise NotDone(f"{', '.join(blank)}: not done yet (still ...): write your answer in "
                      "the cell above, run it, then run this check again")


def answer(name: str, got, expected, *, rtol: float = RTOL, n_samples: int | None = None,
           quiet: bool = False) -> bool:
    """Check one answer; print the verdict (unless ``quiet``); raise ``WrongAnswer`` if wrong.

    Args:
        name: what the answer is, as the exercise names it ("dW", "delta of layer 1").
        got: the learner's array or number; expected: the witness's.
        rtol: allowed difference, relative to ``max|expected|`` (and at least 1e-300).
        n_samples: the batch size, so that a factor m or 1/m can be named.
    """
    require(**{name: got})
    if got is None:
        raise WrongAnswer(f"{name}: no answer yet (the cell still returns None)")
    try:
        mine = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{name}: expected numbers, got {type(got).__name__}") from None
    ref = np.asarray(expected, dtype=np.float64)
    if mine.shape != ref.shape:
        why = diagnose(mine, ref, n_samples=n_samples) or "different numbers"
        raise WrongAnswer(f"{name}: shape {mine.shape}, expected {ref.shape}: {why}")
    if not np.all(np.isfinite(mine)):
        raise WrongAnswer(f"{name}: holds NaN or Inf")
    scale = max(float(np.max(np.abs(ref))) if ref.size else 0.0, 1e-300)
    err = float(np.max(np.abs(mine - ref))) / scale if ref.size else 0.0
    if err <= rtol:
        if not quiet:
            print(f"{name}: right (max difference {err:.1e} of the largest entry)")
        return True
    why = diagnose(mine, ref, n_samples=n_samples)
    wrong = int(np.sum(np.abs(mine - ref) > rtol * scale))
    raise WrongAnswer(f"{name}: wrong in {wrong} of {ref.size} entries (max difference "
                      f"{err:.1e} of the largest entry)" + (f": {why}" if why else ""))
