"""The judge: a hand-derived gradient against torch autograd and finite differences.

``check_gradients(hand, X, y)`` compares, for every parameter and every layer delta
``dL/dZ_l``, the handmade numbers with

1. torch autograd on the twin (float64, on ``device``), and
2. central finite differences of the handmade loss (float64; parameters only),

and returns a ``GradReport``: per entry the normwise and the max elementwise relative
error, pass/fail against the tolerances of ``compare.check.tolerances``, the names of the
parameters that disagree, and ``first_bad_layer``, the first layer counting back from the
output whose delta disagrees (its index ``l`` as in ``layers.{l}``), which localizes a bug.

``hand`` is anything with a ``params`` dict and ``loss_and_grads(X, y) -> (loss, grads)``;
``deltas`` (a list of ``(m, out_l)`` arrays) is compared when present. A backward that
raises, or returns missing or misshapen gradients, is reported, not raised.

This is the door for handmade models; ``check_model`` and ``check_layer`` are the doors for
a user's own code. All three go through ``compare.check.core.judge`` and return the same
``GradReport``.
"""

from __future__ import annotations

import numpy as np

from compare.check.core import REPEAT_NOTE, Side, judge
from compare.check.diagnose import diagnose_layers
from compare.check.finite_diff import finite_differences
from compare.check.report import Entry, GradReport, settle
from compare.check.twin import (
    clamped_rows,
    reversed_batch,
    term_bounds,
    twin_dtype,
    twin_for,
    twin_reference,
)
from compare.transfer import dtype_name
from handmade.mlp import check_finite_params

CLAMP_NOTE = ("torch's BCELoss clamps p(1 - p) at 1e-12 in its gradient, and some outputs "
              "saturate here")


def _model_dtype(hand) -> str:
    params = getattr(hand, "params", None)
    if not isinstance(params, dict) or not params:
        raise TypeError("hand must have a non-empty params dict (name -> ndarray)")
    kinds = {np.asarray(p).dtype for p in params.values()}
    if len(kinds) != 1:
        raise TypeError(f"hand's parameters mix dtypes {sorted(map(str, kinds))}")
    dtype = kinds.pop()
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"hand's parameters must be float32 or float64, got {dtype}")
    check_finite_params(params, what="hand's parameter")  # nothing to check against NaN
    return dtype_name(dtype)


def _broken(report: GradReport, names, note: str) -> GradReport:
    report.entries = [Entry(k, "param", _layer_of(k), status="fail", note=note) for k in names]
    return report


def _call(hand, X, y):
    """``(loss, grads copied, deltas copied)`` of one call: a later call may reuse arrays."""
    loss, grads = hand.loss_and_grads(X, y)
    if not isinstance(grads, dict):
        raise TypeError(f"grads must be a dict keyed like params, got {type(grads).__name__}")
    deltas = getattr(hand, "deltas", None)
    return (loss, {k: np.array(g, copy=True) for k, g in grads.items()},
            None if deltas is None else {f"delta[{i}]": np.array(d, copy=True)
                                         for i, d in enumerate(deltas) if d is not None})


def _repeat_and_purity(hand, X, y, first, before: dict) -> dict[str, str]:
    """Notes for the entries that a second identical call (after another batch) changes,
    or that the calls changed in place (then ``params`` is restored from ``before``)."""
    changed = [k for k, v in before.items() if not np.array_equal(v, hand.params[k])]
    if changed:
        for k in changed:
            hand.params[k][...] = before[k]
        return {k: "loss_and_grads changed this parameter in place" for k in before}
    hand.loss_and_grads(*reversed_batch(X, y))  # another batch in between
    _, grads, deltas = _call(hand, X, y)
    again = {**grads, **(deltas or {})}
    return {k: REPEAT_NOTE for k, v in {**first[1], **(first[2] or {})}.items()
            if k in again and np.shape(again[k]) == np.shape(v)
            and not np.allclose(again[k], v, rtol=1e-12, atol=0.0, equal_nan=True)}


def check_gradients(hand, X, y, *, torch_model=None, device="cpu", fd="auto",
                    fd_seed=0) -> GradReport:
    """Check ``hand``'s ``loss_and_grads`` against autograd and finite differences.

    Args:
        hand: object with ``params`` and ``loss_and_grads(X, y)``; optionally ``deltas``.
        X: inputs ``(m, n_in)``; y: labels as the loss reads them.
        torch_model: the twin to use (any ``torch.nn.Module`` whose ``state_dict`` has the
            keys and shapes of ``hand.params``, with ``loss_and_grads(X, y)`` and, to compare
            deltas, ``deltas``); its parameters are overwritten with ``hand``'s. When both
            say their ``sizes``, ``activations``, ``loss`` and ``reduction``, they must
            agree (ValueError otherwise). Without one, a float64 ``TorchMLP`` is built on
            ``device`` from ``hand``'s spec.
        device: where the built twin runs (``"cpu"``, ``"cuda"``, ``"cuda:N"``).
        fd: ``"auto"``, ``"coords"``, ``"directions"`` or ``None`` (no finite differences).
        fd_seed: seeds the random directions.

    Returns:
        a ``GradReport`` (``.verdict``, ``.ok``, ``.failures``, ``.first_bad_layer``, ...).
    """
    if fd not in (None, "auto", "coords", "directions"):
        raise ValueError(f"fd must be 'auto', 'coords', 'directions' or None, got {fd!r}")
    dtype = _model_dtype(hand)
    twin = twin_for(hand, torch_model, device)
    ref = twin_reference(hand, twin, X, y, dtype)
    report = GradReport(dtype=dtype, device=str(next(twin.parameters()).device))
    before = {k: np.array(v, copy=True) for k, v in hand.params.items()}
    try:
        first = _call(hand, X, y)
        repeat = _repeat_and_purity(hand, X, y, first, before)
    except Exception as exc:  # a broken backward is a finding, not a crash
        return _broken(report, ref.grads, f"loss_and_grads raised {type(exc).__name__}: {exc}")
    loss, grads, deltas = first
    hand_side = Side(loss, grads, deltas or {})
    ref.bounds = term_bounds(hand, ref) if dtype == "float64" else {}
    saturated = clamped_rows(hand, X, y)
    if saturated is not None:  # deltas there follow torch's clamp or the derivative: skip them
        for side in (hand_side, ref):
            side.intermediates = {k: d[~saturated] for k, d in side.intermediates.items()}
    walk_back = ([f"delta[{i}]" for i in reversed(range(len(ref.intermediates)))]
                 if deltas is not None else None)

    fd_results, fd_error = None, None
    usable = all(k in grads and np.shape(grads[k]) == g.shape for k, g in ref.grads.items())
    if fd is not None and usable:
        try:
            fd_results = finite_differences(hand, X, y, grads, method=fd, seed=fd_seed)
        except Exception as exc:  # the loss failed at a perturbed point: report, go on
            fd_error = Entry("finite differences", "loss", None, status="fail",
                             note=f"raised {type(exc).__name__}: {exc}")
    method = next(iter(fd_results.values())).method if fd_results else None
    report = judge(hand_side, ref, fd_results, dtype=dtype, device=report.device,
                   kind="param", layer_of=_layer_of, walk_back=walk_back,
                   intermediate_kind="delta", fd_method=method, autograd_dtype=twin_dtype(twin),
                   n_samples=len(X), contract="autograd",
                   ref_deviates=CLAMP_NOTE if saturated is not None else "")
    if saturated is not None:
        report.notes.append(f"deltas compared on the {int((~saturated).sum())} of {len(X)} "
                            "samples where torch's bce clamp is not active")
    for entry in report.entries:
        if entry.name in repeat:
            entry.fail(repeat[entry.name])
    if report.verdict == "fail":
        found = diagnose_layers(hand, X, y, report, ref.intermediates, ref.grads)
        for entry in report.entries:
            if entry.name in found and entry.status == "fail":
                entry.diagnosis = found[entry.name]
    if fd is None or not usable or fd_error is not None:
        report.references = ["autograd"]
    if fd_error is not None:
        report.entries.append(fd_error)
    return report


def assert_gradients_match(hand, X, y, *, allow_inconclusive=False, **kwargs) -> GradReport:
    """``check_gradients`` for a user's own pytest: raises AssertionError with the table.

    Raises on ``"fail"`` and on ``"inconclusive"`` (a check that proves nothing must not pass
    silently); ``allow_inconclusive=True`` accepts the latter with a warning.
    """
    return settle(check_gradients(hand, X, y, **kwargs), allow_inconclusive)


def _layer_of(key: str) -> int | None:
    """``layers.{l}.weight`` and ``delta[{l}]`` -> l; None for other names."""
    if key.startswith("delta[") and key.endswith("]"):
        return int(key[6:-1])
    parts = key.split(".")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None
