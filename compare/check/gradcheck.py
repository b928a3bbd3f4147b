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

from compare.check.core import Side, judge
from compare.check.diagnose import diagnose_layers
from compare.check.finite_diff import finite_differences
from compare.check.report import Entry, GradReport
from compare.spec import Spec
from compare.transfer import dtype_name, hand_to_torch, to_numpy64
from handmade.mlp import check_finite_params


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


def _twin_dtype(twin) -> str:
    """The dtype a twin computes in (any module: read from its first parameter)."""
    return dtype_name(next(twin.parameters()).dtype)


def _broken(report: GradReport, names, exc: Exception) -> GradReport:
    note = f"loss_and_grads raised {type(exc).__name__}: {exc}"
    report.entries = [Entry(k, "param", _layer_of(k), ok=False, note=note) for k in names]
    return report


def check_gradients(hand, X, y, *, torch_model=None, device="cpu", fd="auto",
                    fd_seed=0) -> GradReport:
    """Check ``hand``'s ``loss_and_grads`` against autograd and finite differences.

    Args:
        hand: object with ``params`` and ``loss_and_grads(X, y)``; optionally ``deltas``.
        X: inputs ``(m, n_in)``; y: labels as the loss reads them.
        torch_model: the twin to use (any ``torch.nn.Module`` whose ``state_dict`` has the
            keys and shapes of ``hand.params``, with ``loss_and_grads(X, y)`` and, to compare
            deltas, ``deltas``); its parameters are overwritten with ``hand``'s. Without
            one, a float64 ``TorchMLP`` is built on ``device`` from ``hand``'s ``sizes``,
            ``activations``, ``loss`` and ``reduction``.
        device: where the built twin runs (``"cpu"``, ``"cuda"``, ``"cuda:N"``).
        fd: ``"auto"``, ``"coords"``, ``"directions"`` or ``None`` (no finite differences).
        fd_seed: seeds the random directions.

    Returns:
        a ``GradReport`` (``.ok``, ``.failures``, ``.first_bad_layer``, ``.entries``).
    """
    if fd not in (None, "auto", "coords", "directions"):
        raise ValueError(f"fd must be 'auto', 'coords', 'directions' or None, got {fd!r}")
    dtype = _model_dtype(hand)
    twin = torch_model if torch_model is not None else Spec.of(hand).torch(
        dtype="float64", device=device)
    hand_to_torch(hand, twin)
    twin_device = str(next(twin.parameters()).device)
    ref_loss, ref_grads = twin.loss_and_grads(X, y)
    ref = Side(float(ref_loss), {k: to_numpy64(v) for k, v in ref_grads.items()},
               {f"delta[{i}]": to_numpy64(d) for i, d in enumerate(getattr(twin, "deltas", []))})

    try:
        loss, grads = hand.loss_and_grads(X, y)
        deltas = getattr(hand, "deltas", None)
        if not isinstance(grads, dict):
            raise TypeError(f"grads must be a dict keyed like params, got {type(grads).__name__}")
    except Exception as exc:  # a broken backward is a finding, not a crash
        return _broken(GradReport(dtype=dtype, device=twin_device), ref.grads, exc)
    # copies: a later call (finite differences) may write into reused gradient arrays
    hand_side = Side(loss, {k: np.array(g, copy=True) for k, g in grads.items()},
                     {f"delta[{i}]": np.array(d, copy=True) for i, d in enumerate(deltas or [])
                      if d is not None})
    walk_back = ([f"delta[{i}]" for i in reversed(range(len(ref.intermediates)))]
                 if deltas is not None else None)

    fd_results, fd_error = None, None
    usable = all(k in grads and np.shape(grads[k]) == g.shape for k, g in ref.grads.items())
    if fd is not None and usable:
        try:
            fd_results = finite_differences(hand, X, y, hand_side.grads, method=fd,
                                            seed=fd_seed)
        except Exception as exc:  # the loss failed at a perturbed point: report, go on
            fd_error = Entry("finite differences", "loss", None, ok=False,
                             note=f"raised {type(exc).__name__}: {exc}")
    method = next(iter(fd_results.values())).method if fd_results else None
    report = judge(hand_side, ref, fd_results, dtype=dtype, device=twin_device, kind="param",
                   layer_of=_layer_of, walk_back=walk_back, intermediate_kind="delta",
                   fd_method=method, autograd_dtype=_twin_dtype(twin), n_samples=len(X))
    bad = {e.name for e in report.entries if not e.ok}
    if bad:
        found = diagnose_layers(hand, X, y, report, ref.intermediates, ref.grads)
        for entry in report.entries:
            if entry.name in found and entry.name in bad:
                entry.diagnosis = found[entry.name]
    if fd is None or not usable or fd_error is not None:
        report.references = ["autograd"]
    if fd_error is not None:
        report.entries.append(fd_error)
    return report


def assert_gradients_match(hand, X, y, **kwargs) -> GradReport:
    """``check_gradients`` for a user's own pytest: raises AssertionError with the table."""
    report = check_gradients(hand, X, y, **kwargs)
    if not report.ok:
        raise AssertionError("\n" + str(report))
    return report


def _layer_of(key: str) -> int | None:
    """``layers.{l}.weight`` and ``delta[{l}]`` -> l; None for other names."""
    if key.startswith("delta[") and key.endswith("]"):
        return int(key[6:-1])
    parts = key.split(".")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None
