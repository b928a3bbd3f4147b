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

The work goes where it tells something (``handgrad bench`` times it against gradcheck's
fast mode; docs/benchmarks.md quotes the run): one twin run (the twin built from a spec
is kept for the next check of that spec in the thread), whose rounding ``term_bounds``
bounds; two hand calls, the judged one after another batch, and a third only where the
check fails; finite differences along one joint direction for large models, per tensor
where autograd disagrees. A float32 model is checked in float64 too (``wide.py``).

Threads: the check holds a handmade model's ``lock`` from start to end (other threads'
passes on it wait); a model without one is refused at once (RuntimeError) while another
thread checks it.

This is the door for handmade models; ``check_model`` and ``check_layer`` are the doors for
a user's own code. All three go through ``compare.check.core.judge`` and return the same
``GradReport``.
"""

from __future__ import annotations

import copy

import numpy as np

from handgrad.compare.check import fd_plan
from handgrad.compare.check.core import REPEAT_NOTE, Side, judge
from handgrad.compare.check.diagnose import diagnose_layers
from handgrad.compare.check.replay import gradients_case
from handgrad.compare.check.report import Entry, GradReport, settle
from handgrad.compare.check.twin import (
    bounded,
    clamped_rows,
    measure_rounding,
    reversed_batch,
    term_bounds,
    twin_dtype,
    twin_for,
    twin_reference,
)
from handgrad.compare.check.validate import checked_alone
from handgrad.compare.check.wide import (
    Float32Only,
    as_float64,
    float64_hand,
    in_both,
    require_float64,
)
from handgrad.compare.transfer import dtype_name
from handgrad.handmade.mlp import check_finite_params

FIRST_NOTE = ("autograd disagrees with the first call (a fresh model, the batch in reversed "
              "order), not with a later one: state set up by the first call?")
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


def _calls(hand, X, y) -> tuple[tuple, tuple, dict[str, str]]:
    """``(first, judged, notes)``: two calls' ``(loss, grads, deltas)``, and notes per entry.

    The first is on a fresh model with the batch in reversed order (its deltas put back in
    order); the judged one comes after it, so that state kept from a call before (gradients
    added into kept arrays, a cache of another batch) shows as a disagreement with
    autograd. Calls that change ``params`` in place get a note for every entry (and
    ``params`` is restored).
    """
    before = {k: np.array(v, copy=True) for k, v in hand.params.items()}
    loss, grads, deltas = _call(hand, *reversed_batch(X, y))  # another batch first
    first = (loss, grads, deltas and {k: d[::-1] for k, d in deltas.items()})
    judged = _call(hand, X, y)
    changed = [k for k, v in before.items() if not np.array_equal(v, hand.params[k])]
    for k in changed:
        hand.params[k][...] = before[k]
    return first, judged, ({k: "loss_and_grads changed this parameter in place"
                            for k in before} if changed else {})


def _unlike(first, judged, dtype: str) -> list[str]:
    """The gradients and deltas of the first call that differ from the judged call's by more
    than the order of the batch can (a screen: autograd decides which is wrong)."""
    def peak(v) -> float:  # max |v| without a temporary array; NaN stays NaN
        return max(float(np.max(v)), -float(np.min(v))) if np.size(v) else 0.0

    tol, out = (1e-10 if dtype == "float64" else 1e-4), []
    for mine, ref in ((first[1], judged[1]), (first[2] or {}, judged[2] or {})):
        scale = max((peak(v) for v in ref.values()), default=0.0)
        out += [k for k, v in ref.items() if k not in mine or np.shape(mine[k]) != np.shape(v)
                or not peak(np.subtract(mine[k], v, dtype=np.float64)) <= tol * scale]
    return out


def _repeat_notes(hand, X, y, first) -> dict[str, str]:
    """Notes for the entries that one more identical call changes (asked where the check
    fails: is that call repeatable, or does it keep state?)."""
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
            ``"auto"``: every coordinate up to ``fd_plan.MAX_COORDS`` parameters, 8 random
            directions per tensor up to ``fd_plan.JOINT_WORK`` (batch x parameters), beyond that
            one direction through all of them, and per tensor where autograd disagrees.
        fd_seed: seeds the random directions.

    Returns:
        a ``GradReport`` (``.verdict``, ``.ok``, ``.failures``, ``.first_bad_layer``, ...).
    """
    if fd not in (None, "auto", "coords", "directions"):
        raise ValueError(f"fd must be 'auto', 'coords', 'directions' or None, got {fd!r}")
    lock = getattr(hand, "lock", None)  # a handmade model: other threads' passes wait;
    with lock if hasattr(lock, "__enter__") else checked_alone(  # else: one check at a time
            getattr(hand, "params", hand), "the model's params"):
        report = _check_either(hand, X, y, torch_model, device, fd, fd_seed)
    if not report.ok:  # kept for report.save (a passing check costs no copy)
        report.case = gradients_case(hand, X, y, device=device, fd=fd, fd_seed=fd_seed,
                                     torch_model=torch_model)
    return report


def _check_either(hand, X, y, torch_model, device, fd, fd_seed) -> GradReport:
    """The check in the model's dtype, and float32 also in float64 (compare.check.wide)."""
    if _model_dtype(hand) == "float32":  # logic in float64, rounding in float32
        return in_both(lambda with_fd: _check(hand, X, y, torch_model, device,
                                              fd if with_fd else None, fd_seed),
                       lambda: _check_float64(hand, X, y, torch_model, device, fd, fd_seed),
                       "a float64 copy of the model")
    return _check(hand, X, y, torch_model, device, fd, fd_seed)


def _check_float64(hand, X, y, torch_model, device, fd, fd_seed) -> GradReport:
    """The check of a float64 copy of a float32 ``hand`` (``Float32Only`` if it cannot run)."""
    wide, X64 = float64_hand(hand), as_float64(np.asarray(X))
    if torch_model is not None:
        try:
            torch_model = copy.deepcopy(torch_model).double()
        except Exception as exc:
            raise Float32Only(f"a float64 copy of torch_model failed: {exc}") from None
    try:
        grads = wide.loss_and_grads(X64, y)[1]
    except Exception as exc:
        raise Float32Only(f"loss_and_grads raised {type(exc).__name__} in float64: "
                          f"{exc}") from None
    require_float64(grads, "loss_and_grads")
    return _check(wide, X64, y, torch_model, device, fd, fd_seed)


def _check(hand, X, y, torch_model, device, fd, fd_seed) -> GradReport:
    """``check_gradients`` in the model's own dtype."""
    dtype = _model_dtype(hand)
    twin = twin_for(hand, torch_model, device)
    ref = twin_reference(hand, twin, X, y, dtype)
    report = GradReport(dtype=dtype, device=str(next(twin.parameters()).device))
    try:
        fresh, first, notes = _calls(hand, X, y)
    except Exception as exc:  # a broken backward is a finding, not a crash
        return _broken(report, ref.grads, f"loss_and_grads raised {type(exc).__name__}: {exc}")
    loss, grads, deltas = first
    hand_side = Side(loss, grads, deltas or {})
    if dtype == "float64":
        ref.bounds = term_bounds(hand, ref)
        if not bounded(ref):  # then measure the twin's rounding
            measure_rounding(twin, X, y, ref)
    else:  # float32: sums that cancel round at float32's eps relative to their terms
        ref.bounds = term_bounds(hand, ref, "float32")
    saturated = clamped_rows(hand, X, y)
    if saturated is not None:  # deltas there follow torch's clamp or the derivative: skip them
        for side in (hand_side, ref):
            side.intermediates = {k: d[~saturated] for k, d in side.intermediates.items()}
    walk_back = ([f"delta[{i}]" for i in reversed(range(len(ref.intermediates)))]
                 if deltas is not None else None)

    usable = all(k in grads and np.shape(grads[k]) == g.shape for k, g in ref.grads.items())
    plan = None if fd is None or not usable else fd_plan.plan(fd, hand.params, len(X))
    fd_results, fd_error = fd_plan.differences(hand, X, y, grads, plan, fd_seed, dtype)
    joint = fd_results.pop("*", None) if fd_results is not None else None

    def judged(fd_results, hand_side=hand_side) -> GradReport:
        method = next(iter(fd_results.values())).method if fd_results else plan
        return judge(hand_side, ref, fd_results, dtype=dtype, device=report.device,
                     kind="param", layer_of=_layer_of, walk_back=walk_back,
                     intermediate_kind="delta", fd_method=method,
                     autograd_dtype=twin_dtype(twin), n_samples=len(X), contract="autograd",
                     ref_deviates=CLAMP_NOTE if saturated is not None else "")
    report = judged(fd_results)
    missing = [e.name for e in report.entries if e.kind == "param" and e.status == "fail"
               and fd_results is not None and e.name in grads and e.name not in fd_results]
    if missing and fd_error is None:  # where autograd disagrees, finite differences tell
        more, fd_error = fd_plan.differences(hand, X, y, {k: grads[k] for k in missing},
                                      "directions", fd_seed, dtype)
        if more:
            fd_results = {**fd_results, **more}
            report = judged(fd_results)
    if joint is not None:
        report.notes.append(fd_plan.joint_note(joint, fd_results, len(grads)))
    if saturated is not None:
        report.notes.append(f"deltas compared on the {int((~saturated).sum())} of {len(X)} "
                            "samples where torch's bce clamp is not active")
    in_place = bool(notes)  # the calls changed params: every entry says so, no more calls
    unlike = [] if in_place else _unlike(fresh, first, dtype)
    if unlike:  # the first call differs: is it wrong? (deltas compared where judged)
        rows = slice(None) if saturated is None else ~saturated
        side = Side(fresh[0], fresh[1], {k: d[rows] for k, d in (fresh[2] or {}).items()})
        passed = {e.name for e in report.entries if e.status != "fail"}
        notes = {e.name: FIRST_NOTE for e in judged(None, side).entries
                 if e.name in unlike and e.name in passed and e.status == "fail"}
    if report.verdict == "fail" and not in_place:
        try:
            notes |= _repeat_notes(hand, X, y, first)
        except Exception as exc:  # raised only now: say so where it counts
            notes |= {e.name: f"loss_and_grads raised {type(exc).__name__} when called "
                      f"again: {exc}" for e in report.entries if e.status == "fail"}
    for entry in report.entries:
        if entry.name in notes:
            entry.fail(notes[entry.name])
    if report.verdict == "fail":
        found = diagnose_layers(hand, X, y, report, ref.intermediates, ref.grads)
        for entry in report.entries:
            if entry.name in found and entry.status == "fail":
                entry.diagnosis = found[entry.name]
    if plan is None or fd_error is not None:
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
