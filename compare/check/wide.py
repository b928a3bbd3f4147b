"""float32 code checked in float64 too: a logic error shows there at the 1e-12 level.

In float32 a mistake hides under rounding: a sum of a few hundred float32 terms is only
good to ~1e-5 relative, so a check in float32 alone cannot tell a 1e-3 slip in one entry,
or a wrong but tiny gradient, from rounding. Every door therefore runs the same code a
second time in float64 when the code accepts it:

* ``check_gradients``: a float64 copy of the model (``params`` cast, everything else
  copied), and of a given float32 twin;
* ``check_model``: the arrays of ``params`` replaced by float64 copies for the duration
  (the originals put back, the very same objects), and float X cast;
* ``check_layer``: float64 copies of the float inputs.

``in_both`` merges the two reports. The float64 check decides logic: an entry that fails
there fails the float32 report too ("fails in float64 too"). The float32 check then judges
rounding only, against the measured float32 rounding of the torch reference on the same
inputs, without finite differences (the float64 check ran them). An entry that fails only
in float32 keeps its fail with a note: the code is right in float64 but its float32 numbers
are off by more than float32's rounding (an overflow, a lost cast, an unstable formula).

Code that returns float32 gradients for float64 inputs, or raises, runs only in float32:
its report says so, and what it therefore cannot resolve.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Callable

import numpy as np

from handgrad.compare.check.references import relative_errors
from handgrad.compare.check.report import Entry, GradReport

ONLY_FLOAT32 = ("this code runs only in float32 ({why}): a mistake smaller than float32's "
                "rounding of these sums (relative ~1e-5 to 1e-3) cannot be told from "
                "rounding here; make it accept float64 to check it at the 1e-12 level")


class Float32Only(Exception):
    """The code cannot run in float64; the message says why."""


def in_both(run32: Callable[[bool], GradReport], run64: Callable[[], GradReport],
            how: str) -> GradReport:
    """The float32 report ``run32(with_fd)`` merged with the float64 one ``run64()``.

    ``run64`` raises ``Float32Only`` where the code cannot run in float64; then the float32
    check runs with its finite differences and says what it cannot resolve.
    """
    try:
        wide = run64()
    except Float32Only as exc:
        report = run32(True)
        report.notes.append(ONLY_FLOAT32.format(why=exc))
        return report
    report = run32(False)
    merge(report, wide, how)
    return report


def in_own_dtype(check, dtype: str, run_check: Callable, float64_check: Callable,
                 how: str, has_reference: bool = True) -> GradReport:
    """A door's check in the code's own ``dtype``; float32 code also in float64 (``in_both``).

    ``run_check(check)`` runs it as given, ``float64_check(check)`` on float64 copies
    (``how`` says which). The float32 run leaves its finite differences to the float64 one
    where a torch reference judges it (``has_reference``): a float32 difference quotient
    resolves little, the float64 one resolves the logic.
    """
    if dtype != "float32":
        return run_check(check)

    def in_float32(with_fd: bool) -> GradReport:
        keep_fd = with_fd or not has_reference
        return run_check(check if keep_fd else dataclasses.replace(check, fd=None))

    return in_both(in_float32, lambda: float64_check(check), how)


def merge(report: GradReport, wide: GradReport, how: str) -> None:
    """Fold the float64 report ``wide`` into the float32 ``report`` (see the module)."""
    report.float64, found = wide, {e.name: e for e in wide.entries}
    for entry in report.entries:
        other = found.get(entry.name)
        if other is None:
            continue
        if other.status == "fail":
            entry.fail(f"fails in float64 too ({relative_errors(other)}): a mistake, not float32 "
                       "rounding" + (f"; {other.note}" if other.note else ""))
            entry.diagnosis = entry.diagnosis or other.diagnosis
        elif entry.status == "fail" and other.status == "pass":
            entry.note = ((entry.note + "; ") if entry.note else "") + (
                "passes in float64: the float32 numbers alone are off (an overflow, a lost "
                "cast, a formula unstable in float32?)")
        elif other.status == "inconclusive" and entry.status == "pass":
            entry.note = ((entry.note + "; ") if entry.note else "") + (
                f"in float64: {other.reason}")
    extra = [e for e in wide.entries if e.name not in {x.name for x in report.entries}
             and e.status == "fail"]
    report.entries += [Entry(e.name, e.kind, e.layer, status="fail",
                             note=f"in float64: {e.note or 'fails'}") for e in extra]
    report.notes.append(f"checked in float64 too, on {how}: {wide.verdict}"
                        + ("" if wide.verdict == "pass" else
                           f" ({', '.join(e.name for e in wide.entries if not e.ok)})"))


def as_float64(value):
    """A float64 copy of a float ndarray; anything else unchanged."""
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
        return value.astype(np.float64)
    return value


def require_float64(grads: dict, what: str) -> None:
    """``Float32Only`` unless every gradient in ``grads`` came back as float64."""
    low = sorted(k for k, g in grads.items() if np.asarray(g).dtype != np.float64)
    if low:
        raise Float32Only(f"{what} returned {low} in {np.asarray(grads[low[0]]).dtype} for "
                          "float64 inputs")


@contextlib.contextmanager
def float64_params(params: dict):
    """``params``' float32 arrays replaced by float64 copies inside; the very same arrays
    put back after (so a user's dict is as it was, views and all)."""
    originals = dict(params)
    try:
        for key, value in originals.items():
            params[key] = as_float64(value)
        yield params
    finally:
        params.clear()
        params.update(originals)


def float64_copy(model):
    """A deep copy of a handmade-style ``model`` whose ``params`` are float64 (its loss then
    runs in float64); a plain ``dtype`` attribute follows (a property follows ``params``)."""
    clone = copy.deepcopy(model)
    for key, value in clone.params.items():
        clone.params[key] = np.array(value, dtype=np.float64)
    if hasattr(clone, "dtype"):
        with contextlib.suppress(AttributeError):
            clone.dtype = np.dtype(np.float64)
    return clone


def float64_hand(hand):
    """``float64_copy(hand)``, or ``Float32Only`` saying why none can be made."""
    try:
        clone = float64_copy(hand)
    except Exception as exc:
        raise Float32Only(f"a float64 copy of the model failed: {type(exc).__name__}: "
                          f"{exc}") from None
    return clone
