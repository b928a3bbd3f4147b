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
from dataclasses import dataclass, field, replace

import numpy as np

from handgrad.bookkeeping.errors import check_finite_params
from handgrad.compare.check import arguments, fd_plan
from handgrad.compare.check.case import gradients_case
from handgrad.compare.check.core import Judging, Side, judge
from handgrad.compare.check.decide import largest, peak
from handgrad.compare.check.diagnose import diagnose_layers
from handgrad.compare.check.repeats import REPEAT_NOTE, changed
from handgrad.compare.check.report import Entry, GradReport, settle
from handgrad.compare.check.tolerances import FIRST_CALL_SCREEN
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
from handgrad.compare.check.validate import check_unchanged, checked_alone, snapshot
from handgrad.compare.check.wide import (
    Float32Only,
    as_float64,
    float64_hand,
    in_own_dtype,
    require_float64,
)
from handgrad.compare.transfer import dtype_name

FIRST_NOTE = ("autograd disagrees with the first call (a fresh model, the batch in reversed "
              "order), not with a later one: state set up by the first call?")
CLAMP_NOTE = ("torch's BCELoss clamps p(1 - p) at 1e-12 in its gradient, and some outputs "
              "saturate here")
IN_PLACE_NOTE = "loss_and_grads changed this parameter in place"


@dataclass
class GradientsCheck:
    """One ``check_gradients``: the model under test, its twin (or None: built from the
    spec), the batch and the options (``fd`` already checked)."""

    hand: object
    X: object
    y: object
    torch_model: object = None
    device: str = "cpu"
    fd: str | None = "auto"
    fd_seed: int = 0


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
            ``"auto"``: every coordinate up to ``MAX_COORDS`` parameters, 8 random
            directions per tensor up to ``JOINT_WORK`` (batch x parameters), beyond that
            one direction through all of them, and per tensor where autograd disagrees
            (``compare.check.fd_options``).
        fd_seed: seeds the random directions.

    Returns:
        a ``GradReport`` (``.verdict``, ``.ok``, ``.failures``, ``.first_bad_layer``, ...).
    """
    X = arguments.batch(X, "X")
    y = arguments.batch(y, "y")
    arguments.device(device)
    fd = arguments.fd(fd)
    fd_seed = arguments.seed(fd_seed, "fd_seed")
    check = GradientsCheck(hand, X, y, torch_model, device, fd, fd_seed)
    lock = getattr(hand, "lock", None)  # a handmade model: other threads' passes wait;
    with lock if hasattr(lock, "__enter__") else checked_alone(  # else: one check at a time
            getattr(hand, "params", hand), "the model's params"):
        report = _check_either(check)
    if not report.ok:  # kept for report.save (a passing check costs no copy)
        report.case = gradients_case(hand, X, y, device=device, fd=fd, fd_seed=fd_seed,
                                     torch_model=torch_model)
    return report


def _check_either(check: GradientsCheck) -> GradReport:
    """The check in the model's dtype, and float32 also in float64 (compare.check.wide);
    the built or given twin is always the reference."""
    return in_own_dtype(check, _model_dtype(check.hand), _run_check, _float64_check,
                        "a float64 copy of the model")


def _float64_check(check: GradientsCheck) -> GradReport:
    """The check of a float64 copy of a float32 model (``Float32Only`` if it cannot run)."""
    wide = replace(check, hand=float64_hand(check.hand), X=as_float64(np.asarray(check.X)))
    if check.torch_model is not None:
        try:
            wide.torch_model = copy.deepcopy(check.torch_model).double()
        except Exception as exc:
            raise Float32Only(f"a float64 copy of torch_model failed: {exc}") from None
    try:
        grads = wide.hand.loss_and_grads(wide.X, wide.y)[1]
    except Exception as exc:
        raise Float32Only(f"loss_and_grads raised {type(exc).__name__} in float64: "
                          f"{exc}") from None
    require_float64(grads, "loss_and_grads")
    return _run_check(wide)


# ---------------------------------------------------------------------------------------
# The check in the model's own dtype, step by step


def _run_check(check: GradientsCheck) -> GradReport:
    """``check_gradients`` in the model's own dtype: the steps, in order."""
    dtype = _model_dtype(check.hand)
    twin = twin_for(check.hand, check.torch_model, check.device)
    ref = twin_reference(check.hand, twin, check.X, check.y, dtype)
    device = str(next(twin.parameters()).device)
    data = {"X": check.X, "y": check.y}
    data_before = snapshot(data)
    try:
        calls = _calls(check.hand, check.X, check.y)
    except arguments.Unjudgeable:  # a value no reference can judge: said, not reported
        raise
    except Exception as exc:  # a broken backward is a finding, not a crash
        return _broken(GradReport(dtype=dtype, device=device), ref.grads,
                       f"loss_and_grads raised {type(exc).__name__}: {exc}")
    check_unchanged(data_before, data, "the data", "loss_and_grads")  # as check_model's
    _bound_rounding(check, twin, ref, dtype)
    sides = _Sides(calls.judged.side(), ref, dtype, device, twin_dtype(twin), len(check.X),
                   has_deltas=calls.judged.deltas is not None)
    sides.leave_out_clamped(clamped_rows(check.hand, check.X, check.y))
    differences = _Differences(check, calls.judged.grads, ref, dtype)
    sides.fd_plan = differences.plan
    report = differences.judged(sides)
    _add_notes(report, differences, sides)
    _fail_on_calls(report, check, calls, sides)
    if report.verdict == "fail":
        _diagnose_layers(report, check, ref)
    if differences.plan is None or differences.error is not None:
        report.references = ["autograd"]
    if differences.error is not None:
        report.entries.append(differences.error)
    return report


def _broken(report: GradReport, names, note: str) -> GradReport:
    report.entries = [Entry(k, "param", _layer_of(k), status="fail", note=note) for k in names]
    return report


def _bound_rounding(check: GradientsCheck, twin, ref: Side, dtype: str) -> None:
    """The reference's rounding: bounded from the terms' magnitudes, or measured on the
    batch reversed where no bound is known (``compare.check.twin``)."""
    if dtype == "float64":
        ref.bounds = term_bounds(check.hand, ref)
        if not bounded(ref):  # then measure the twin's rounding
            measure_rounding(twin, check.X, check.y, ref)
    else:  # float32: sums that cancel round at float32's eps relative to their terms
        ref.bounds = term_bounds(check.hand, ref, "float32")


# ---------------------------------------------------------------------------------------
# Calling the model: twice, the first on another batch


@dataclass
class _Call:
    """One call's ``loss``, ``grads`` and ``deltas`` (copied: a later call may reuse them)."""

    loss: float
    grads: dict[str, np.ndarray]
    deltas: dict[str, np.ndarray] | None

    def side(self, rows=None) -> Side:
        """This call as the hand side; deltas only on ``rows`` when given."""
        deltas = self.deltas or {}
        if rows is not None:
            deltas = {k: d[rows] for k, d in deltas.items()}
        return Side(self.loss, self.grads, deltas)

    def arrays(self) -> dict[str, np.ndarray]:
        return {**self.grads, **(self.deltas or {})}


@dataclass
class _Calls:
    """``first``: a fresh model on the batch in reversed order (its deltas put back in
    order); ``judged``: the call after it, on the batch; ``notes``: per entry, a finding
    about the calls (they changed ``params`` in place)."""

    first: _Call
    judged: _Call
    notes: dict[str, str] = field(default_factory=dict)


def _call(hand, X, y) -> _Call:
    loss, grads = hand.loss_and_grads(X, y)
    loss = arguments.loss_value(loss, "loss_and_grads")
    if not isinstance(grads, dict):
        raise TypeError(f"grads must be a dict keyed like params, got {type(grads).__name__}")
    grads = {k: arguments.gradient_value(g, k, None, "loss_and_grads") for k, g in grads.items()}
    deltas = getattr(hand, "deltas", None)
    if deltas is not None:
        deltas = {f"delta[{i}]": np.array(d, copy=True)
                  for i, d in enumerate(deltas) if d is not None}
    return _Call(loss, {k: np.array(g, copy=True) for k, g in grads.items()}, deltas)


def _calls(hand, X, y) -> _Calls:
    """Two calls: the first on the batch in reversed order, then the judged one, so that
    state kept from a call before (gradients added into kept arrays, a cache of another
    batch) shows as a disagreement with autograd. Calls that change ``params`` in place
    get a note for every entry (and ``params`` is restored)."""
    before = {k: np.array(v, copy=True) for k, v in hand.params.items()}
    first = _call(hand, *reversed_batch(X, y))  # another batch first
    if first.deltas:
        first.deltas = {k: d[::-1] for k, d in first.deltas.items()}
    judged = _call(hand, X, y)
    moved = [k for k, v in before.items() if not np.array_equal(v, hand.params[k])]
    for key in moved:
        hand.params[key][...] = before[key]
    notes = {k: IN_PLACE_NOTE for k in before} if moved else {}
    return _Calls(first, judged, notes)


def _unlike(first: _Call, judged: _Call, dtype: str) -> list[str]:
    """The gradients and deltas of the first call that differ from the judged call's by
    more than the order of the batch can (``FIRST_CALL_SCREEN``; autograd decides which
    is wrong)."""
    screen = FIRST_CALL_SCREEN[dtype]
    out = []
    pairs = ((first.grads, judged.grads), (first.deltas or {}, judged.deltas or {}))
    for mine, reference in pairs:
        scale = largest(reference.values())
        for key, value in reference.items():
            if key not in mine or np.shape(mine[key]) != np.shape(value):
                out.append(key)
            elif not peak(np.subtract(mine[key], value, dtype=np.float64)) <= screen * scale:
                out.append(key)
    return out


def _fail_on_calls(report: GradReport, check: GradientsCheck, calls: _Calls,
                   sides: _Sides) -> None:
    """Fail the entries the calls give away: ``params`` changed in place, a first call that
    autograd disagrees with, or (where the check fails) a third call that differs."""
    notes = dict(calls.notes)
    in_place = bool(notes)  # every entry says so already: no more calls
    unlike = [] if in_place else _unlike(calls.first, calls.judged, sides.dtype)
    if unlike:
        notes = _first_call_notes(report, calls, sides, unlike)
    if report.verdict == "fail" and not in_place:
        notes |= _repeat_notes(report, check, calls.judged)
    for entry in report.entries:
        if entry.name in notes:
            entry.fail(notes[entry.name])


def _first_call_notes(report: GradReport, calls: _Calls, sides: _Sides,
                      unlike: list[str]) -> dict[str, str]:
    """The first call differs on ``unlike``: where autograd says it is the wrong one
    (deltas compared where judged)."""
    passed = {e.name for e in report.entries if e.status != "fail"}
    first = sides.judge(None, calls.first.side(sides.rows))
    return {e.name: FIRST_NOTE for e in first.entries
            if e.name in unlike and e.name in passed and e.status == "fail"}


def _repeat_notes(report: GradReport, check: GradientsCheck, judged: _Call) -> dict[str, str]:
    """Notes for the entries that one more identical call changes (asked where the check
    fails: is that call repeatable, or does it keep state?)."""
    try:
        again = _call(check.hand, check.X, check.y)
    except Exception as exc:  # raised only now: say so where it counts
        return {e.name: f"loss_and_grads raised {type(exc).__name__} when called "
                        f"again: {exc}" for e in report.entries if e.status == "fail"}
    return {name: REPEAT_NOTE for name in changed(judged.arrays(), again.arrays())}


# ---------------------------------------------------------------------------------------
# The two sides as judged, and the finite differences


@dataclass
class _Sides:
    """The hand side and the twin's, and how ``judge`` reads them."""

    hand: Side
    ref: Side
    dtype: str
    device: str
    autograd_dtype: str
    n_samples: int
    has_deltas: bool = False  # the model keeps its deltas: compare them
    rows: np.ndarray | None = None  # the samples whose deltas are compared (None: all)
    fd_plan: str | None = None  # the finite differences' plan, named when none ran

    def leave_out_clamped(self, saturated: np.ndarray | None) -> None:
        """Where torch's bce clamp is active, deltas follow the clamp or the derivative:
        compare deltas on the other samples only."""
        if saturated is None:
            return
        self.rows = ~saturated
        for side in (self.hand, self.ref):
            side.intermediates = {k: d[self.rows] for k, d in side.intermediates.items()}

    def judge(self, fd_results: dict | None, hand: Side | None = None) -> GradReport:
        method = self.fd_plan
        if fd_results:
            method = next(iter(fd_results.values())).method
        walk_back = None
        if self.has_deltas:
            walk_back = [f"delta[{i}]" for i in reversed(range(len(self.ref.intermediates)))]
        how = Judging(dtype=self.dtype, device=self.device, kind="param", layer_of=_layer_of,
                      walk_back=walk_back, intermediate_kind="delta", fd_method=method,
                      autograd_dtype=self.autograd_dtype, n_samples=self.n_samples,
                      contract="autograd",
                      ref_deviates=CLAMP_NOTE if self.rows is not None else "")
        return judge(hand or self.hand, self.ref, fd_results, how)


class _Differences:
    """The finite differences of ``check_gradients``: planned (``fd_plan``), run, and run
    again per tensor where autograd disagrees and they have none yet."""

    def __init__(self, check: GradientsCheck, grads: dict, ref: Side, dtype: str):
        self.check = check
        self.grads = grads
        self.dtype = dtype
        usable = all(k in grads and np.shape(grads[k]) == g.shape for k, g in ref.grads.items())
        self.plan = None
        if check.fd is not None and usable:
            self.plan = fd_plan.plan(check.fd, check.hand.params, len(check.X))
        self.results, self.error = self._run(grads, self.plan)
        self.joint = None
        if self.results is not None:
            self.joint = self.results.pop("*", None)

    def _run(self, grads: dict, plan):
        check = self.check
        return fd_plan.differences(check.hand, check.X, check.y, grads, plan, check.fd_seed,
                                   self.dtype)

    def judged(self, sides: _Sides) -> GradReport:
        """The report; where autograd fails a tensor that has no differences of its own
        (a joint difference passed), they are run for it and the report judged again."""
        report = sides.judge(self.results)
        missing = [e.name for e in report.entries
                   if e.kind == "param" and e.status == "fail" and self.results is not None
                   and e.name in self.grads and e.name not in self.results]
        if missing and self.error is None:  # where autograd disagrees, differences tell
            more, self.error = self._run({k: self.grads[k] for k in missing}, "directions")
            if more:
                self.results = {**self.results, **more}
                report = sides.judge(self.results)
        return report


def _add_notes(report: GradReport, differences: _Differences, sides: _Sides) -> None:
    if differences.joint is not None:
        report.notes.append(fd_plan.joint_note(differences.joint, differences.results,
                                               len(differences.grads)))
    if sides.rows is not None:
        report.notes.append(f"deltas compared on the {int(sides.rows.sum())} of "
                            f"{sides.n_samples} samples where torch's bce clamp is not active")


def _diagnose_layers(report: GradReport, check: GradientsCheck, ref: Side) -> None:
    """The slips a layered model's failing deltas show (``diagnose_layers``)."""
    found = diagnose_layers(check.hand, check.X, check.y, report, ref.intermediates,
                            ref.grads)
    for entry in report.entries:
        if entry.name in found and entry.status == "fail":
            entry.diagnosis = found[entry.name]


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
