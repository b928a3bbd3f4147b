"""``check_layer``: any NumPy layer or function in CS231n form, against torch and FD.

    forward(*inputs) -> (out, cache)          out: an array, or a tuple of arrays
    backward(dout, cache) -> grads            a tuple in the order of inputs, or a dict
    torch_fn(*tensors) -> tensor(s)           the same computation in torch; optional

The upstream gradient ``dout`` is seeded random, never all ones: with a uniform ``dout``
the checked quantity is ``Σ out``, whose gradient hides mistakes that cancel over a row
(batch norm's dx is the classic one). The references are torch's vector-Jacobian product
with the same ``dout``, and central finite differences of ``f = Σ_k <forward(inputs)_k,
dout_k>``, evaluated in float64 on copies of the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from handgrad.compare.check import arguments
from handgrad.compare.check.case import layer_case
from handgrad.compare.check.core import Judging, Side, judge
from handgrad.compare.check.finite_diff import perturb_in_place, signature_of
from handgrad.compare.check.found_kinks import one_sided, settle_found_kinks
from handgrad.compare.check.precision import (
    batch_size,
    returned_precision,
    rounding_noise,
)
from handgrad.compare.check.repeats import mark_repeats
from handgrad.compare.check.report import GradReport, settle
from handgrad.compare.check.tolerances import EPS, fd_step
from handgrad.compare.check.torch_side import device_of, grads_of, to_numpy, to_tensor
from handgrad.compare.check.user_calls import call_user, original, spelled
from handgrad.compare.check.validate import (
    as_grad_dict,
    as_outputs,
    check_float_arrays,
    check_grad_shapes,
    check_requires_grad,
    check_unchanged,
    snapshot,
)
from handgrad.compare.check.wide import Float32Only, as_float64, in_own_dtype, require_float64

TORCH = "torch_fn (the torch reference)"
VALUE_SIDES = "forward and torch_fn"


@dataclass
class LayerCheck:
    """One ``check_layer``: the code under test, its torch reference, the inputs and the
    options (``fd`` already checked, ``device`` resolved)."""

    forward: object
    backward: object
    inputs: dict
    torch_fn: object = None
    no_grad: tuple = ()
    seed: int = 0
    fd: str | None = "auto"
    device: torch.device = torch.device("cpu")
    kinks: object = None

    @property
    def grad_names(self) -> list[str]:
        """The inputs whose gradient ``backward`` returns, in order."""
        return [k for k in self.inputs if k not in self.no_grad]

    @property
    def dtype(self) -> str:
        low = any(self.inputs[k].dtype == np.float32 for k in self.grad_names)
        return "float32" if low else "float64"

    def run_forward(self, inputs=None):
        """``forward(*inputs)``, checked: ``(outputs as a tuple of arrays, cache)``."""
        given = self.inputs if inputs is None else inputs
        call = spelled("forward", list(given), list(given.values()), {})
        result = call_user(self.forward, "your forward", call, *given.values())
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError("forward must return (out, cache), as CS231n layers do; got "
                            f"{type(result).__name__}")
        return as_outputs(result[0], "forward"), result[1]

    def run_backward(self, douts, cache) -> tuple[dict, tuple]:
        """``backward(dout, cache)`` on copies of ``douts`` (a tuple when there are several
        outputs): ``(the gradients as a dict, the copies given)``."""
        given = tuple(d.copy() for d in douts)
        call = spelled("backward", ["dout"], [given if len(douts) > 1 else given[0]], {})
        grads = call_user(self.backward, "your backward", call + " with a random dout",
                          given if len(douts) > 1 else given[0], cache)
        grads = as_grad_dict(grads, self.grad_names, "backward")
        grads = {name: arguments.gradient_value(grad, name, self.inputs[name], "backward",
                                                "input")
                 for name, grad in grads.items()}
        return grads, given


def _flat(arrays) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(a, np.float64)) for a in arrays])


def _torch_reference(check: LayerCheck, outs, douts, returned: str | None) -> Side:
    """torch's VJP in float64; for float32 inputs, or code that returns a lower precision
    than its inputs (``returned``), ``noise`` is its rounding in that precision."""
    ref = _torch_run(check, outs, douts, torch.float64)
    low = returned or (check.dtype if check.dtype == "float32" else None)
    if low is not None:
        ref.noise = rounding_noise(ref, lambda: _torch_run(check, outs, douts,
                                                           getattr(torch, low)),
                                   returned=returned is not None)
    return ref


def _torch_outputs(check: LayerCheck, tensors: dict, outs) -> tuple:
    """``torch_fn``'s outputs as a tuple, each checked against forward's."""
    call = spelled("torch_fn", list(tensors), list(tensors.values()), {})
    result = call_user(check.torch_fn, TORCH, call, *tensors.values())
    t_outs = tuple(result) if isinstance(result, (tuple, list)) else (result,)
    if len(t_outs) != len(outs):
        raise ValueError(f"torch_fn returned {len(t_outs)} output(s); forward returned "
                         f"{len(outs)}")
    for i, (t, o) in enumerate(zip(t_outs, outs)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"torch_fn's output {i} must be a tensor (keep it in torch: no "
                            f".item() or .numpy()), got {type(t).__name__}")
        if tuple(t.shape) != o.shape:
            raise ValueError(f"torch_fn's output {i} has shape {tuple(t.shape)}; forward's "
                             f"has {o.shape}")
    check_requires_grad({str(i): t for i, t in enumerate(t_outs)}, "torch_fn's output")
    return t_outs


def _torch_run(check: LayerCheck, outs, douts, dtype) -> Side:
    device = check.device
    names = check.grad_names
    tensors = {k: to_tensor(v, device, requires_grad=k in names, dtype=dtype)
               for k, v in check.inputs.items()}
    t_outs = _torch_outputs(check, tensors, outs)
    douts_t = [torch.tensor(d, dtype=t.dtype, device=device) for d, t in zip(douts, t_outs)]
    grads = grads_of(list(t_outs), douts_t, {k: tensors[k] for k in names})
    return Side(_flat(to_numpy(t) for t in t_outs), grads)


def check_layer(forward, backward, inputs, torch_fn=None, *, no_grad=(), seed=0, fd="auto",  # noqa: PLR0913 (public door: keyword options as torch.autograd.gradcheck's)
                device="cpu", kinks=None) -> GradReport:
    """Check ``backward`` against torch's vector-Jacobian product and finite differences.

    Args:
        forward: ``forward(*inputs.values()) -> (out, cache)``.
        backward: ``backward(dout, cache) -> grads``; ``dout`` is a tuple when ``forward``
            returns several outputs; ``grads`` a tuple in the order of ``inputs`` (less
            ``no_grad``) or a dict keyed by their names.
        inputs: dict name -> ndarray, in the order ``forward`` takes them.
        torch_fn: ``torch_fn(*tensors) -> tensor(s)``, the same computation; None for finite
            differences alone.
        no_grad: names of inputs whose gradient ``backward`` does not return (labels, a
            mask, a parameter dict).
        seed: seeds the upstream gradient and the random directions.
        fd: ``"auto"``, ``"coords"``, ``"directions"`` or None.
        device: where ``torch_fn`` runs.
        kinks: ``kinks(*inputs) -> array(s)`` whose signs mark the layer's non-smooth points
            (e.g. ``lambda x: x`` for relu); finite-difference steps that change a sign
            are left out and counted.

    Returns:
        a ``GradReport`` with one entry per input (kind ``"input"``) and the output.


    Raises:
        ObjectCallError: forward, backward or torch_fn raised; the message names which, and
            the call (``compare.check.user_calls``); the original exception is
            ``__cause__``.
    """
    arguments.required_callable(forward, "forward", "forward(*inputs) -> (out, cache)")
    arguments.required_callable(backward, "backward", "backward(dout, cache) -> grads")
    inputs = arguments.inputs(inputs, forward)
    no_grad = arguments.no_grad(no_grad, list(inputs))
    check_float_arrays(inputs, "inputs", skip=no_grad)
    arguments.optional_callable(torch_fn, "torch_fn", "torch_fn(*tensors) -> tensor(s)")
    seed = arguments.seed(seed)
    fd = arguments.fd(fd)
    arguments.device(device)
    arguments.optional_callable(kinks, "kinks", "kinks(*inputs) -> array(s)")
    if torch_fn is None and fd is None:
        raise ValueError("nothing to compare with: give torch_fn, or leave fd on")
    check = LayerCheck(forward, backward, inputs, torch_fn, no_grad, seed, fd,
                       device_of(device), kinks)
    report = _check_either(check)
    if report.case is not None:  # the settings as given (the float32 run may skip fd)
        report.case.meta["fd"] = fd
    return report


def _check_either(check: LayerCheck) -> GradReport:
    """The check in the inputs' dtype, and float32 also in float64 (compare.check.wide)."""
    return in_own_dtype(check, check.dtype, _run_check, _float64_check,
                        "float64 copies of the inputs", has_reference=check.torch_fn is not None)


def _float64_check(check: LayerCheck) -> GradReport:
    """The check on float64 copies of the inputs (``Float32Only`` if the layer cannot)."""
    wide = replace(check, inputs={k: as_float64(v) for k, v in check.inputs.items()})
    try:
        outs, cache = wide.run_forward()
        grads, _ = wide.run_backward(tuple(np.zeros_like(o) for o in outs), cache)
    except Exception as exc:
        exc = original(exc)
        raise Float32Only(f"forward or backward raised {type(exc).__name__} on float64 "
                          f"inputs: {exc}") from None
    require_float64({k: v for k, v in grads.items() if k in wide.grad_names}, "backward")
    return _run_check(wide)


def _run_check(check: LayerCheck) -> GradReport:
    """``check_layer`` in the inputs' own dtype: the steps, in order."""
    hand, outs, douts = _hand_side(check)
    returned = returned_precision(check.dtype, {"forward": outs,
                                                      "backward": hand.grads.values()})
    judged_at = returned.dtype if returned else check.dtype
    ref = None
    if check.torch_fn is not None:
        ref = _torch_reference(check, outs, douts, returned and returned.dtype)
    fd_results = _finite_differences(check, hand, douts, judged_at)
    _, cache = check.run_forward()  # a second identical call
    again, _ = check.run_backward(douts, cache)
    method = next(iter(fd_results.values())).method if fd_results else None
    judging = Judging(dtype=judged_at, device=str(check.device) if ref is not None else "cpu",
                      kind="input", value_name="output", fd_method=method,
                      n_samples=batch_size(check.inputs), value_sides=VALUE_SIDES)
    report = judge(hand, ref, fd_results, judging)
    report.dtype = check.dtype
    settle_found_kinks(report, hand, ref, fd_results, _probe(check, douts, judged_at),
                       judged_at)
    mark_repeats(report, hand.grads, again)
    if returned:
        report.notes.append(returned.note)
    if not report.ok:  # kept for report.save, with the upstream gradient drawn
        report.case = layer_case(check, douts)
    return report


def _hand_side(check: LayerCheck) -> tuple[Side, tuple, tuple]:
    """The code under test, called once on a seeded random upstream gradient ``dout``
    (never all ones): ``(hand side, outputs, douts)``, after checking that it left its
    arguments alone and shaped its gradients."""
    before = snapshot(check.inputs)
    outs, cache = check.run_forward()
    rng = np.random.default_rng(check.seed)
    douts = tuple(rng.standard_normal(o.shape).astype(o.dtype) for o in outs)
    grads, given = check.run_backward(douts, cache)
    check_unchanged(before, check.inputs, "inputs", "forward or backward")
    check_unchanged(dict(enumerate(douts)), dict(enumerate(given)), "dout", "backward")
    names = check.grad_names
    check_grad_shapes(grads, {k: check.inputs[k] for k in names}, "backward", "input")
    hand = Side(_flat(outs), {k: np.array(grads[k], copy=True) for k in names})
    return hand, outs, douts


def _float64_copies(check: LayerCheck) -> dict:
    """The inputs, those that take a gradient as float64 copies (to be perturbed)."""
    names = check.grad_names
    return {k: np.array(v, dtype=np.float64) if k in names else v
            for k, v in check.inputs.items()}


def _projection(check: LayerCheck, copies: dict, douts):
    """``f() = Σ_k <forward(copies)_k, dout_k>``, the scalar whose gradient backward gives."""
    douts64 = [np.asarray(d, np.float64) for d in douts]

    def projected() -> float:
        outs_now, _ = check.run_forward(copies)
        return sum(float(np.sum(np.asarray(o, np.float64) * d))
                   for o, d in zip(outs_now, douts64))
    return projected


def _probe(check: LayerCheck, douts, judged_at: str):
    """``probe(name, i)``: the one-sided differences of ``f`` along input ``name``'s entry
    ``i`` (``compare.check.found_kinks``), on fresh float64 copies of the inputs."""
    copies = _float64_copies(check)
    projected = _projection(check, copies, douts)

    def probe(name: str, index: int):
        return one_sided(projected, copies[name], index, EPS[judged_at])
    return probe


def _finite_differences(check: LayerCheck, hand: Side, douts, judged_at: str) -> dict | None:
    """Central differences of ``f = Σ_k <forward(inputs)_k, dout_k>`` on float64 copies of
    the inputs (None: ``fd=None``); outputs returned in a lower precision than the inputs
    (``judged_at``) are differenced with that precision's step and rounding."""
    if check.fd is None:
        return None
    names = check.grad_names
    copies = _float64_copies(check)
    projected = _projection(check, copies, douts)
    low = judged_at != check.dtype
    options = {"step": fd_step(judged_at), "eps": EPS[judged_at]} if low else {}
    signature = None
    if check.kinks is not None:
        kinks = arguments.checked_kinks(check.kinks)  # not stored: the case names the user's

        def signature():
            return signature_of(kinks, *copies.values())
    return perturb_in_place(projected, {k: copies[k] for k in names}, hand.grads,
                            signature=signature, method=check.fd, seed=check.seed, **options)


def assert_layer_match(forward, backward, inputs, torch_fn=None, *, allow_inconclusive=False,
                       **kwargs) -> GradReport:
    """``check_layer`` for a pytest: raises AssertionError with the report table on
    ``"fail"`` and on ``"inconclusive"`` (``allow_inconclusive=True``: a warning instead)."""
    __tracebackhide__ = True
    return settle(check_layer(forward, backward, inputs, torch_fn, **kwargs), allow_inconclusive)
