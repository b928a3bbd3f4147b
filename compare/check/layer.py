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

import numpy as np
import torch

from handgrad.compare.check.core import Side, judge, mark_repeats
from handgrad.compare.check.finite_diff import perturb_in_place, signature_of
from handgrad.compare.check.replay import layer_case
from handgrad.compare.check.report import GradReport, settle
from handgrad.compare.check.torch_side import device_of, grads_of, to_numpy, to_tensor
from handgrad.compare.check.validate import (
    as_grad_dict,
    as_outputs,
    check_float_arrays,
    check_grad_shapes,
    check_requires_grad,
    check_unchanged,
    snapshot,
)
from handgrad.compare.check.wide import Float32Only, as_float64, in_both, require_float64


def _forward(forward, values):
    result = forward(*values)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError("forward must return (out, cache), as CS231n layers do; got "
                        f"{type(result).__name__}")
    return as_outputs(result[0], "forward"), result[1]


def _flat(arrays) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(a, np.float64)) for a in arrays])


def _torch_reference(torch_fn, inputs, grad_names, outs, douts, dev, low: bool) -> Side:
    """torch's VJP in float64; with ``low``, ``noise`` is its float32 rounding (measured)."""
    ref = _torch_run(torch_fn, inputs, grad_names, outs, douts, dev, torch.float64)
    if low:
        ref32 = _torch_run(torch_fn, inputs, grad_names, outs, douts, dev, torch.float32)
        ref.noise = {k: ref32.grads[k] - g for k, g in ref.grads.items()}
    return ref


def _torch_run(torch_fn, inputs, grad_names, outs, douts, dev, dtype) -> Side:
    tensors = {k: to_tensor(v, dev, requires_grad=k in grad_names, dtype=dtype)
               for k, v in inputs.items()}
    result = torch_fn(*tensors.values())
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
    douts_t = [torch.tensor(d, dtype=t.dtype, device=dev) for d, t in zip(douts, t_outs)]
    grads = grads_of(list(t_outs), douts_t, {k: tensors[k] for k in grad_names})
    return Side(_flat(to_numpy(t) for t in t_outs), grads)


def check_layer(forward, backward, inputs, torch_fn=None, *, no_grad=(), seed=0, fd="auto",
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
    """
    if not isinstance(inputs, dict) or not inputs:
        raise TypeError(f"inputs must be a non-empty dict name -> ndarray, got "
                        f"{type(inputs).__name__}")
    no_grad = (no_grad,) if isinstance(no_grad, str) else tuple(no_grad)
    unknown = [k for k in no_grad if k not in inputs]
    if unknown:
        raise ValueError(f"no_grad names {unknown} are not in inputs {list(inputs)}")
    check_float_arrays(inputs, "inputs", skip=no_grad)
    if fd not in (None, "auto", "coords", "directions"):
        raise ValueError(f"fd must be 'auto', 'coords', 'directions' or None, got {fd!r}")
    if torch_fn is None and fd is None:
        raise ValueError("nothing to compare with: give torch_fn, or leave fd on")
    grad_names = [k for k in inputs if k not in no_grad]
    dev = device_of(device)
    run = (forward, backward, torch_fn, grad_names, seed, dev, kinks)
    if any(inputs[k].dtype == np.float32 for k in grad_names):  # see compare.check.wide
        report = in_both(lambda with_fd: _check_layer(*run, inputs, fd if with_fd or torch_fn
                                                      is None else None),
                         lambda: _float64_layer(*run, inputs, fd),
                         "float64 copies of the inputs")
    else:
        report = _check_layer(*run, inputs, fd)
    if report.case is not None:  # the settings as given (the float32 run may skip fd)
        report.case.meta |= {"fd": fd, "no_grad": list(no_grad)}
    return report


def _float64_layer(forward, backward, torch_fn, grad_names, seed, dev, kinks, inputs, fd):
    """The check on float64 copies of the inputs (``Float32Only`` if the layer cannot)."""
    wide = {k: as_float64(v) for k, v in inputs.items()}
    try:
        outs, cache = _forward(forward, wide.values())
        grads = as_grad_dict(backward(tuple(np.zeros_like(o) for o in outs) if len(outs) > 1
                                      else np.zeros_like(outs[0]), cache), grad_names,
                             "backward")
    except Exception as exc:
        raise Float32Only(f"forward or backward raised {type(exc).__name__} on float64 "
                          f"inputs: {exc}") from None
    require_float64({k: v for k, v in grads.items() if k in grad_names}, "backward")
    return _check_layer(forward, backward, torch_fn, grad_names, seed, dev, kinks, wide, fd)


def _check_layer(forward, backward, torch_fn, grad_names, seed, dev, kinks, inputs,
                 fd) -> GradReport:
    """``check_layer`` in the inputs' own dtype."""
    before = snapshot(inputs)
    outs, cache = _forward(forward, inputs.values())
    rng = np.random.default_rng(seed)
    douts = tuple(rng.standard_normal(o.shape).astype(o.dtype) for o in outs)
    given = tuple(d.copy() for d in douts)  # backward must leave dout as it was
    grads = as_grad_dict(backward(given if len(outs) > 1 else given[0], cache), grad_names,
                         "backward")
    check_unchanged(before, inputs, "inputs", "forward or backward")
    check_unchanged(dict(enumerate(douts)), dict(enumerate(given)), "dout", "backward")
    check_grad_shapes(grads, {k: inputs[k] for k in grad_names}, "backward", "input")
    hand = Side(_flat(outs), {k: np.array(grads[k], copy=True) for k in grad_names})

    dtype = "float32" if any(inputs[k].dtype == np.float32 for k in grad_names) else "float64"
    ref = (_torch_reference(torch_fn, inputs, grad_names, outs, douts, dev, dtype == "float32")
           if torch_fn is not None else None)
    fd_results = None
    if fd is not None:
        copies = {k: np.array(v, dtype=np.float64) if k in grad_names else v
                  for k, v in inputs.items()}
        douts64 = [np.asarray(d, np.float64) for d in douts]

        def projected() -> float:  # f = Σ_k <out_k, dout_k>
            outs_now, _ = _forward(forward, copies.values())
            return sum(float(np.sum(np.asarray(o, np.float64) * d))
                       for o, d in zip(outs_now, douts64))

        fd_results = perturb_in_place(
            projected, {k: copies[k] for k in grad_names}, hand.grads, method=fd, seed=seed,
            signature=None if kinks is None else lambda: signature_of(kinks, *copies.values()))
    _, cache2 = _forward(forward, inputs.values())  # a second identical call
    again = as_grad_dict(backward(tuple(d.copy() for d in douts) if len(outs) > 1
                                  else douts[0].copy(), cache2), grad_names, "backward")
    method = next(iter(fd_results.values())).method if fd_results else None
    report = judge(hand, ref, fd_results, dtype=dtype,
                   device=str(dev) if ref is not None else "cpu", kind="input",
                   value_name="output", fd_method=method)
    mark_repeats(report, hand.grads, again)
    if not report.ok:  # kept for report.save, with the upstream gradient drawn
        report.case = layer_case(inputs, douts, no_grad=(), seed=seed, fd=fd, device=dev)
    return report


def assert_layer_match(forward, backward, inputs, torch_fn=None, *, allow_inconclusive=False,
                       **kwargs) -> GradReport:
    """``check_layer`` for a pytest: raises AssertionError with the report table on
    ``"fail"`` and on ``"inconclusive"`` (``allow_inconclusive=True``: a warning instead)."""
    __tracebackhide__ = True
    return settle(check_layer(forward, backward, inputs, torch_fn, **kwargs), allow_inconclusive)
