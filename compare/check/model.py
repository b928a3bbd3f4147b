"""``check_model``: a whole model in the user's own names and layouts, against torch and FD.

    params                 dict name -> ndarray, any names, any layout (W as (in, out) is fine)
    loss_and_grads(X, y)   -> (loss, grads) with grads keyed like params, or
                           -> (loss, grads, {"h1": dL/dh1, ...}) to localize a mistake
    torch_loss(params_t, X_t, y_t)
                           -> loss (a scalar tensor), or (loss, {"h1": h1, ...}); optional

Finite differences perturb the arrays of ``params`` in place (``θ ± h e``) and restore
them bit for bit, so any object whose loss reads that dict works, views included; they
run in the arrays' own dtype (float32 params: float32 differences, whose error estimate
then rarely lets them decide: autograd does). The
torch function gets float64 leaf tensors under the same names and layouts; the reference
gradients of its named intermediates come from ``torch.autograd.grad``, and the report's
``first_bad`` names the first one that disagrees walking back from the loss (the reverse
of the order ``torch_loss`` returns them in).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from handgrad.compare.check import arguments
from handgrad.compare.check.case import model_case
from handgrad.compare.check.core import Judging, Side, judge
from handgrad.compare.check.finite_diff import perturb_in_place, signature_of
from handgrad.compare.check.found_kinks import OneSided, one_sided, settle_found_kinks
from handgrad.compare.check.precision import Returned, returned_precision, rounding_noise
from handgrad.compare.check.repeats import mark_repeats
from handgrad.compare.check.report import GradReport, settle
from handgrad.compare.check.tolerances import EPS, fd_step
from handgrad.compare.check.torch_side import device_of, grads_of, to_numpy, to_tensor
from handgrad.compare.check.user_calls import call_user, original, spelled
from handgrad.compare.check.validate import (
    check_float_arrays,
    check_grad_shapes,
    check_names,
    check_requires_grad,
    check_unchanged,
    checked_alone,
    snapshot,
)
from handgrad.compare.check.wide import (
    Float32Only,
    as_float64,
    float64_params,
    in_own_dtype,
    require_float64,
)


@dataclass
class ModelCheck:
    """One ``check_model``: the code under test, its torch reference, the batch and the
    options (``fd`` already checked, ``device`` resolved)."""

    params: dict
    loss_and_grads: object
    X: object
    y: object
    torch_loss: object = None
    seed: int = 0
    fd: str | None = "auto"
    device: torch.device = torch.device("cpu")
    kinks: object = None

    @property
    def dtype(self) -> str:
        return _dtype_of(self.params)

    def call(self):
        """``loss_and_grads(X, y)``, checked: ``(loss, grads, intermediates)``."""
        return _unpack(self.call_raw(), "loss_and_grads")

    def call_raw(self):
        """``loss_and_grads(X, y)`` as returned (an exception in it named as the user's)."""
        call = spelled("loss_and_grads", ["X", "y"], [self.X, self.y], {})
        return call_user(self.loss_and_grads, "your loss_and_grads", call, self.X, self.y)


def _unpack(result, what: str):
    """``(loss, grads)`` or ``(loss, grads, intermediates)`` -> the three (``{}`` if none)."""
    if not isinstance(result, tuple) or len(result) not in (2, 3):
        raise TypeError(f"{what} must return (loss, grads) or (loss, grads, intermediates), "
                        f"got {type(result).__name__}"
                        + (f" of length {len(result)}" if isinstance(result, tuple) else ""))
    loss, grads, *rest = result
    intermediates = rest[0] if rest else {}
    if not isinstance(grads, dict) or not isinstance(intermediates, dict):
        raise TypeError(f"{what}'s grads and intermediates must be dicts keyed by name, got "
                        f"{type(grads).__name__} and {type(intermediates).__name__}")
    return arguments.loss_value(loss, what), grads, intermediates


def _dtype_of(params: dict) -> str:
    return "float32" if any(p.dtype == np.float32 for p in params.values()) else "float64"


def _torch_reference(check: ModelCheck, returned: str | None) -> tuple[Side, list[str]]:
    """autograd of ``torch_loss`` in float64; for float32 params, or code that returns a
    lower precision than its params (``returned``), ``noise`` is its rounding there (the
    same run in that dtype, measured)."""
    ref, walk_back = _torch_run(check, torch.float64)
    low = returned or (check.dtype if check.dtype == "float32" else None)
    if low is not None:
        ref.noise = rounding_noise(ref, lambda: _torch_run(check, getattr(torch, low))[0],
                                   returned=returned is not None)
    return ref, walk_back


def _torch_outputs(check: ModelCheck, params_t: dict, dtype):
    """``torch_loss``'s ``(loss, intermediates)``, each checked."""
    device = check.device
    X_t = to_tensor(check.X, device, dtype=dtype)
    y_t = to_tensor(check.y, device, dtype=dtype)
    call = spelled("torch_loss", ["params", "X", "y"], [params_t, X_t, y_t], {})
    out = call_user(check.torch_loss, "torch_loss (the torch reference)", call, params_t, X_t,
                    y_t)
    loss_t = out
    inter_t = {}
    if isinstance(out, tuple) and len(out) == 2:
        loss_t, inter_t = out
    arguments.loss_tensor(loss_t, "torch_loss")  # a finite one-element tensor, or refused
    if not isinstance(inter_t, dict) or not all(isinstance(v, torch.Tensor)
                                                for v in inter_t.values()):
        raise TypeError("torch_loss's intermediates must be a dict name -> tensor")
    check_requires_grad({"(the loss)": loss_t, **inter_t}, "torch_loss's")
    return loss_t, inter_t


def _torch_run(check: ModelCheck, dtype) -> tuple[Side, list[str]]:
    params_t = {k: to_tensor(v, check.device, requires_grad=True, dtype=dtype)
                for k, v in check.params.items()}
    loss_t, inter_t = _torch_outputs(check, params_t, dtype)
    wrt = {("param", k): v for k, v in params_t.items()}
    wrt |= {("intermediate", k): v for k, v in inter_t.items()}
    grads = grads_of(loss_t.reshape(()), None, wrt)
    side = Side(to_numpy(loss_t).item(),
                {k: grads[("param", k)] for k in params_t},
                {k: grads[("intermediate", k)] for k in inter_t})
    return side, list(reversed(list(inter_t)))


def check_model(params, loss_and_grads, X, y, torch_loss=None, *, seed=0, fd="auto",  # noqa: PLR0913 (public door: keyword options as torch.autograd.gradcheck's)
                device="cpu", kinks=None) -> GradReport:
    """Check ``loss_and_grads``'s gradients against torch autograd and finite differences.

    Args:
        params: the user's dict name -> float ndarray, read by ``loss_and_grads``.
        loss_and_grads: ``(X, y) -> (loss, grads[, intermediates])`` (CS231n's ``net.loss``).
        X, y: the batch, passed through unchanged (to torch as float64 / int64 tensors).
        torch_loss: ``(params_t, X_t, y_t) -> loss`` or ``(loss, intermediates)``; None for
            finite differences alone.
        seed: seeds the random directions of the finite differences.
        fd: ``"auto"``, ``"coords"``, ``"directions"`` or None (no finite differences).
        device: where ``torch_loss`` runs (``"cpu"``, ``"cuda"``, ``"cuda:N"``).
        kinks: ``kinks(X, y) -> array(s)`` (reading ``params``) whose signs mark non-smooth
            points, e.g. ``lambda X, y: X @ params["W1"] + params["b1"]`` for a ReLU
            layer; finite-difference steps that change a sign are left out and counted.

    Returns:
        a ``GradReport``: one entry per parameter (kind ``"param"``), the loss, and one per
        intermediate walking back from the loss (``report.first_bad`` names the first bad).


    Raises:
        ObjectCallError: loss_and_grads or torch_loss raised; the message names which, and
            the call (``compare.check.user_calls``); the original exception is
            ``__cause__``.
    """
    check_float_arrays(params, "params")
    arguments.required_callable(loss_and_grads, "loss_and_grads", "(X, y) -> (loss, grads)")
    X = arguments.batch(X, "X")
    y = arguments.batch(y, "y")
    arguments.optional_callable(torch_loss, "torch_loss", "(params_t, X_t, y_t) -> loss")
    seed = arguments.seed(seed)
    fd = arguments.fd(fd)
    arguments.device(device)
    arguments.optional_callable(kinks, "kinks", "kinks(X, y) -> array(s)")
    if torch_loss is None and fd is None:
        raise ValueError("nothing to compare with: give torch_loss, or leave fd on")
    check = ModelCheck(params, loss_and_grads, X, y, torch_loss, seed, fd, device_of(device),
                       kinks)
    with checked_alone(params, "params"):  # one thread at a time on these arrays
        report = _check_either(check)
    if not report.ok:  # kept for report.save
        report.case = model_case(check)
    return report


def _check_either(check: ModelCheck) -> GradReport:
    """The check in ``params``' dtype, and float32 also in float64 (compare.check.wide)."""
    return in_own_dtype(check, check.dtype, _run_check, _float64_check,
                        "float64 copies of params", has_reference=check.torch_loss is not None)


def _float64_check(check: ModelCheck) -> GradReport:
    """The check with ``params``' arrays swapped for float64 copies (``Float32Only`` if the
    code cannot run so: it casts, or keeps its own references to the arrays)."""
    wide = replace(check, X=as_float64(check.X))  # a float ndarray cast; else as given
    with float64_params(check.params):
        try:
            grads = wide.call()[1]
        except Exception as exc:
            exc = original(exc)
            raise Float32Only(f"loss_and_grads raised {type(exc).__name__} with float64 "
                              f"params: {exc}") from None
        require_float64(grads, "loss_and_grads")
        return _run_check(wide)


def _run_check(check: ModelCheck) -> GradReport:
    """``check_model`` in ``params``' own dtype: the steps, in order."""
    hand, returned = _hand_side(check)
    judged_at = returned.dtype if returned else check.dtype
    ref, walk_back = _reference_side(check, hand, returned and returned.dtype)
    fd_results = _finite_differences(check, hand, judged_at)
    _, again_grads, again_intermediates = check.call()  # a second identical call
    report = judge(hand, ref, fd_results, _judging(check, ref, fd_results, walk_back, judged_at))
    report.dtype = check.dtype
    settle_found_kinks(report, hand, ref, fd_results, _probe(check, judged_at), judged_at)
    mark_repeats(report, {**hand.grads, **hand.intermediates},
                 {**again_grads, **again_intermediates})
    _add_notes(report, check, hand, ref, fd_results)
    if returned:
        report.notes.append(returned.note)
    return report


def _probe(check: ModelCheck, judged_at: str):
    """``probe(name, i)``: the one-sided differences of the loss along ``params[name]``'s
    entry ``i`` (``compare.check.found_kinks``), written in place and restored; no kink is
    found in arrays that cannot hold a float64 step (float32 params: the float64 run of
    ``compare.check.wide`` looks there)."""
    def probe(name: str, index: int) -> OneSided:
        theta = check.params[name]
        if theta.dtype != np.float64:  # the entry keeps its verdict
            return OneSided(0.0, 0.0, float("inf"))
        return one_sided(lambda: check.call()[0], theta, index, EPS[judged_at])
    return probe


def _hand_side(check: ModelCheck) -> tuple[Side, Returned | None]:
    """The code under test, called once: its loss, gradients and intermediates, after
    checking that it left its arguments alone and named and shaped its gradients; and
    the precision it returned, where lower than ``params``'."""
    params = check.params
    data = {"X": check.X, "y": check.y}
    before = snapshot(params)
    data_before = snapshot(data)
    raw = check.call_raw()
    loss, grads, intermediates = _unpack(raw, "loss_and_grads")
    check_unchanged(before, params, "params", "loss_and_grads")
    check_unchanged(data_before, data, "the data", "loss_and_grads")
    check_names(grads, list(params), "loss_and_grads's grads", "params")
    grads = {k: arguments.gradient_value(grads[k], k, params[k], "loss_and_grads")
             for k in params}
    returned = returned_precision(check.dtype, {"loss_and_grads": [raw[0], *grads.values()]},
                                  "params")
    hand = Side(loss, {k: np.array(grads[k], copy=True) for k in params},
                {k: np.array(v, copy=True) for k, v in intermediates.items()})
    return hand, returned


def _reference_side(check: ModelCheck, hand: Side,
                    returned: str | None) -> tuple[Side | None, list[str] | None]:
    """torch's side and the intermediates' walk-back order (None without ``torch_loss``)."""
    if check.torch_loss is None:
        return None, None
    ref, walk_back = _torch_reference(check, returned)
    if hand.intermediates or ref.intermediates:
        check_names(hand.intermediates, list(ref.intermediates),
                    "loss_and_grads's intermediates", "torch_loss's intermediates")
        check_grad_shapes(hand.intermediates, ref.intermediates, "loss_and_grads",
                          "intermediate")
    return ref, walk_back


def _finite_differences(check: ModelCheck, hand: Side, judged_at: str) -> dict | None:
    """Central differences of the loss, ``params`` perturbed in place (None: ``fd=None``);
    a loss returned in a lower precision than ``params`` (``judged_at``) is differenced
    with that precision's step and rounding."""
    if check.fd is None:
        return None
    signature = None
    if check.kinks is not None:
        kinks = arguments.checked_kinks(check.kinks)  # not stored: the case names the user's

        def signature():
            return signature_of(kinks, check.X, check.y)
    return perturb_in_place(lambda: check.call()[0], check.params, hand.grads,
                            signature=signature, method=check.fd,
                            step=fd_step(judged_at), seed=check.seed, eps=EPS[judged_at])


def _judging(check: ModelCheck, ref, fd_results, walk_back, judged_at: str) -> Judging:
    """How ``judge`` reads this check: at ``judged_at``, the precision the code returned."""
    method = next(iter(fd_results.values())).method if fd_results else None
    return Judging(dtype=judged_at, device=str(check.device) if ref is not None else "cpu",
                   kind="param", walk_back=walk_back, fd_method=method,
                   n_samples=np.shape(check.X)[0] if np.ndim(check.X) else None,
                   value_sides="loss_and_grads and torch_loss")


def _add_notes(report: GradReport, check: ModelCheck, hand: Side, ref, fd_results) -> None:
    if fd_results and not any(np.any(r.fd) for r in fd_results.values()):
        report.notes.append("the loss did not change when params were perturbed: does "
                            "loss_and_grads read the very arrays of params (not copies)?")
    if hand.intermediates and ref is None:
        report.notes.append(f"intermediates {list(hand.intermediates)} not compared: they "
                            "need torch_loss")


def assert_model_match(params, loss_and_grads, X, y, torch_loss=None, *,
                       allow_inconclusive=False, **kwargs) -> GradReport:
    """``check_model`` for a pytest: raises AssertionError with the report table on
    ``"fail"`` and on ``"inconclusive"`` (``allow_inconclusive=True``: a warning instead)."""
    __tracebackhide__ = True
    return settle(check_model(params, loss_and_grads, X, y, torch_loss, **kwargs),
                  allow_inconclusive)
