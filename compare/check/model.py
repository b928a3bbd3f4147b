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

import numpy as np
import torch

from handgrad.compare.check.core import Side, judge, mark_repeats
from handgrad.compare.check.finite_diff import FD_STEP, perturb_in_place, signature_of
from handgrad.compare.check.replay import model_case
from handgrad.compare.check.report import GradReport, settle
from handgrad.compare.check.torch_side import device_of, grads_of, to_numpy, to_tensor
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
    in_both,
    require_float64,
)

FD_STEP_FLOAT32 = 5e-3  # float32's optimal central-difference step, eps^(1/3) ~ 4.9e-3


def _unpack(result, what: str):
    """``(loss, grads)`` or ``(loss, grads, intermediates)`` -> the three (``{}`` if none)."""
    if not isinstance(result, tuple) or len(result) not in (2, 3):
        raise TypeError(f"{what} must return (loss, grads) or (loss, grads, intermediates), "
                        f"got {type(result).__name__}"
                        + (f" of length {len(result)}" if isinstance(result, tuple) else ""))
    loss, grads, *rest = result
    inter = rest[0] if rest else {}
    if not isinstance(grads, dict) or not isinstance(inter, dict):
        raise TypeError(f"{what}'s grads and intermediates must be dicts keyed by name, got "
                        f"{type(grads).__name__} and {type(inter).__name__}")
    if np.size(loss) != 1:
        raise ValueError(f"{what}'s loss must be a scalar, got shape {np.shape(loss)}")
    return float(np.ravel(loss)[0]), grads, inter


def _dtype_of(params: dict) -> str:
    return "float32" if any(p.dtype == np.float32 for p in params.values()) else "float64"


def _torch_reference(torch_loss, params, X, y, dev, low: bool) -> tuple[Side, list[str]]:
    """autograd of ``torch_loss`` in float64; with ``low``, ``noise`` is its float32 rounding."""
    ref, walk_back = _torch_run(torch_loss, params, X, y, dev, torch.float64)
    if low:
        ref32, _ = _torch_run(torch_loss, params, X, y, dev, torch.float32)
        ref.noise = {k: ref32.grads[k] - g for k, g in ref.grads.items()}
        ref.noise |= {k: ref32.intermediates[k] - g for k, g in ref.intermediates.items()}
    return ref, walk_back


def _torch_run(torch_loss, params, X, y, dev, dtype) -> tuple[Side, list[str]]:
    params_t = {k: to_tensor(v, dev, requires_grad=True, dtype=dtype) for k, v in params.items()}
    out = torch_loss(params_t, to_tensor(X, dev, dtype=dtype), to_tensor(y, dev, dtype=dtype))
    loss_t, inter_t = out if isinstance(out, tuple) and len(out) == 2 else (out, {})
    if not isinstance(loss_t, torch.Tensor) or loss_t.numel() != 1:
        shape = tuple(loss_t.shape) if isinstance(loss_t, torch.Tensor) else type(loss_t).__name__
        raise ValueError(f"torch_loss must return a scalar tensor (the loss) or (loss, dict "
                         f"of intermediates), got {shape}")
    if not isinstance(inter_t, dict) or not all(isinstance(v, torch.Tensor)
                                                for v in inter_t.values()):
        raise TypeError("torch_loss's intermediates must be a dict name -> tensor")
    check_requires_grad({"(the loss)": loss_t, **inter_t}, "torch_loss's")
    wrt = {**{("p", k): v for k, v in params_t.items()},
           **{("i", k): v for k, v in inter_t.items()}}
    grads = grads_of(loss_t.reshape(()), None, wrt)
    side = Side(to_numpy(loss_t).item(), {k: grads[("p", k)] for k in params_t},
                {k: grads[("i", k)] for k in inter_t})
    return side, list(reversed(list(inter_t)))


def check_model(params, loss_and_grads, X, y, torch_loss=None, *, seed=0, fd="auto",
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
    """
    check_float_arrays(params, "params")
    if fd not in (None, "auto", "coords", "directions"):
        raise ValueError(f"fd must be 'auto', 'coords', 'directions' or None, got {fd!r}")
    if torch_loss is None and fd is None:
        raise ValueError("nothing to compare with: give torch_loss, or leave fd on")
    dev = device_of(device)
    run = (loss_and_grads, y, torch_loss, seed, dev, kinks)
    with checked_alone(params, "params"):  # one thread at a time on these arrays
        report = _check_either(params, X, run, fd, torch_loss)
    if not report.ok:  # kept for report.save
        report.case = model_case(params, X, y, seed=seed, fd=fd, device=dev)
    return report


def _check_either(params, X, run, fd, torch_loss) -> GradReport:
    """The check in ``params``' dtype, and float32 also in float64 (compare.check.wide)."""
    if _dtype_of(params) == "float32":
        return in_both(lambda with_fd: _check_model(params, X, *run, fd if with_fd or
                                                    torch_loss is None else None),
                       lambda: _float64_model(params, X, *run, fd),
                       "float64 copies of params")
    return _check_model(params, X, *run, fd)


def _float64_model(params, X, loss_and_grads, y, torch_loss, seed, dev, kinks, fd):
    """The check with ``params``' arrays swapped for float64 copies (``Float32Only`` if the
    code cannot run so: it casts, or keeps its own references to the arrays)."""
    X64 = as_float64(X)  # a float ndarray cast; anything else as given
    with float64_params(params):
        try:
            grads = _unpack(loss_and_grads(X64, y), "loss_and_grads")[1]
        except Exception as exc:
            raise Float32Only(f"loss_and_grads raised {type(exc).__name__} with float64 "
                              f"params: {exc}") from None
        require_float64(grads, "loss_and_grads")
        return _check_model(params, X64, loss_and_grads, y, torch_loss, seed, dev, kinks, fd)


def _check_model(params, X, loss_and_grads, y, torch_loss, seed, dev, kinks,
                 fd) -> GradReport:
    """``check_model`` in ``params``' own dtype."""
    before, data_before = snapshot(params), snapshot({"X": X, "y": y})
    loss, grads, inter = _unpack(loss_and_grads(X, y), "loss_and_grads")
    check_unchanged(before, params, "params", "loss_and_grads")
    check_unchanged(data_before, {"X": X, "y": y}, "the data", "loss_and_grads")
    check_names(grads, list(params), "loss_and_grads's grads", "params")
    check_grad_shapes(grads, params, "loss_and_grads", "param")
    hand = Side(loss, {k: np.array(grads[k], copy=True) for k in params},
                {k: np.array(v, copy=True) for k, v in inter.items()})

    ref, walk_back = None, None
    if torch_loss is not None:
        ref, walk_back = _torch_reference(torch_loss, params, X, y, dev,
                                          _dtype_of(params) == "float32")
        if inter or ref.intermediates:
            check_names(inter, list(ref.intermediates), "loss_and_grads's intermediates",
                        "torch_loss's intermediates")
            check_grad_shapes(inter, ref.intermediates, "loss_and_grads", "intermediate")
    fd_results = None
    if fd is not None:
        step = FD_STEP_FLOAT32 if _dtype_of(params) == "float32" else FD_STEP
        fd_results = perturb_in_place(
            lambda: _unpack(loss_and_grads(X, y), "loss_and_grads")[0], params, hand.grads,
            method=fd, step=step, seed=seed,
            signature=None if kinks is None else lambda: signature_of(kinks, X, y))
    again = _unpack(loss_and_grads(X, y), "loss_and_grads")  # a second identical call
    method = next(iter(fd_results.values())).method if fd_results else None
    report = judge(hand, ref, fd_results, dtype=_dtype_of(params),
                   device=str(dev) if ref is not None else "cpu", kind="param",
                   walk_back=walk_back, fd_method=method,
                   n_samples=np.shape(X)[0] if np.ndim(X) else None)
    mark_repeats(report, {**hand.grads, **hand.intermediates}, {**again[1], **again[2]})
    if fd_results and not any(np.any(r.fd) for r in fd_results.values()):
        report.notes.append("the loss did not change when params were perturbed: does "
                            "loss_and_grads read the very arrays of params (not copies)?")
    if inter and ref is None:
        report.notes.append(f"intermediates {list(inter)} not compared: they need torch_loss")
    return report


def assert_model_match(params, loss_and_grads, X, y, torch_loss=None, *, allow_inconclusive=False,
                       **kwargs) -> GradReport:
    """``check_model`` for a pytest: raises AssertionError with the report table on
    ``"fail"`` and on ``"inconclusive"`` (``allow_inconclusive=True``: a warning instead)."""
    __tracebackhide__ = True
    return settle(check_model(params, loss_and_grads, X, y, torch_loss, **kwargs),
                  allow_inconclusive)
