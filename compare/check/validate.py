"""Clear errors before anything is compared: names, shapes, dtypes, purity, devices.

Each error names the argument, says what was expected and what came. These checks serve
``check_model`` and ``check_layer``, whose arguments are a user's own code and arrays.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np


def check_float_arrays(arrays: dict, what: str, skip=()) -> None:
    """Each value of ``arrays`` (except ``skip``) must be a floating-point ndarray."""
    if not isinstance(arrays, dict) or not arrays:
        raise TypeError(f"{what} must be a non-empty dict name -> ndarray, got "
                        f"{type(arrays).__name__}")
    for name, value in arrays.items():
        if name in skip:
            continue
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{what}[{name!r}] must be a NumPy array, got "
                            f"{type(value).__name__}")
        if value.dtype not in (np.float32, np.float64):
            raise TypeError(f"{what}[{name!r}] must be a float32 or float64 array (its "
                            f"gradient is checked), got dtype {value.dtype}"
                            + ("; name it in no_grad=(...) if its gradient is not computed"
                               if what == "inputs" and value.dtype.kind != "f" else ""))
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{what}[{name!r}] holds NaN/Inf values; expected finite numbers")


def check_names(got: dict, expected, what: str, against: str) -> None:
    """``got``'s keys must be exactly ``expected``: list the missing and the extra names."""
    missing = [k for k in expected if k not in got]
    extra = [k for k in got if k not in set(expected)]
    if missing or extra:
        raise ValueError(f"{what} must have the names of {against}: missing {missing}, "
                         f"extra {extra}")


def check_grad_shapes(grads: dict, arrays: dict, what: str, of: str) -> None:
    """Each gradient must have its array's shape; a transposed one is named as such."""
    for name, target in arrays.items():
        shape = np.shape(grads[name])
        want = np.shape(target)
        if shape == want:
            continue
        hint = ": transposed?" if shape == want[::-1] and len(want) == 2 else ""
        raise ValueError(f"{what}: grad {name} {shape} for {of} {name} {want}{hint}")


def snapshot(arrays: dict) -> dict:
    """Copies of the arrays of ``arrays``, to tell later whether a call changed them."""
    return {k: np.array(v, copy=True) for k, v in arrays.items() if isinstance(v, np.ndarray)}


def check_unchanged(before: dict, arrays: dict, what: str, by: str) -> None:
    """ValueError naming the first array of ``arrays`` that ``by`` changed in place."""
    for name, old in before.items():
        if not np.array_equal(old, arrays[name], equal_nan=True):
            raise ValueError(f"{by} changed {what}[{name!r}] in place; it must leave its "
                             "arguments as they were (work on a copy)")


def as_grad_dict(grads, names: list[str], what: str) -> dict:
    """A backward's result (a tuple in the order of ``names``, or a dict) as a dict."""
    if isinstance(grads, dict):
        check_names(grads, names, f"{what}'s gradients", "the inputs that take a gradient")
        return dict(grads)
    if isinstance(grads, np.ndarray) and len(names) == 1:
        grads = (grads,)
    if not isinstance(grads, (tuple, list)):
        raise TypeError(f"{what} must return a tuple of gradients (one per input: {names}) "
                        f"or a dict keyed by their names, got {type(grads).__name__}")
    if len(grads) != len(names):
        raise ValueError(f"{what} returned {len(grads)} gradient(s); expected {len(names)}, "
                         f"one for each of {names} (name inputs without a gradient in "
                         "no_grad=(...))")
    return dict(zip(names, grads))


def as_outputs(out, what: str) -> tuple[np.ndarray, ...]:
    """A forward's output (an array, a NumPy float scalar, a Python float such as a loss,
    or a tuple of them) as arrays (a Python float as a 0-d float64 array)."""
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    outs = tuple(np.asarray(o) if isinstance(o, (np.floating, float)) else o for o in outs)
    for i, o in enumerate(outs):
        if not isinstance(o, np.ndarray) or o.dtype.kind != "f":
            got = f"dtype {o.dtype}" if isinstance(o, np.ndarray) else type(o).__name__
            raise TypeError(f"{what} output {i} must be a floating-point NumPy array (or a "
                            f"NumPy or Python float), got {got}")
    return outs


def check_requires_grad(tensors: dict, what: str) -> None:
    """Each tensor must be part of the autograd graph (else it has no gradient to compare)."""
    for name, t in tensors.items():
        if not t.requires_grad:
            raise ValueError(f"{what} {name!r} is not part of the autograd graph (detached, "
                             "or computed without the tensors given): it has no gradient")


_CHECKING: dict[int, int] = {}  # id(params) -> the thread checking it now
_CHECKING_LOCK = threading.Lock()


@contextlib.contextmanager
def checked_alone(obj, what: str):
    """Mark ``obj`` (a dict whose arrays a check perturbs in place) as being checked by this
    thread; RuntimeError at once when another thread is checking it (its finite
    differences would read this thread's perturbations, and the reverse)."""
    me = threading.get_ident()
    key = id(obj)
    with _CHECKING_LOCK:
        owner = _CHECKING.get(key)
        if owner is not None and owner != me:
            raise RuntimeError(f"{what} is being checked in another thread right now: a check "
                               "perturbs its arrays in place, so two at once would read each "
                               "other's perturbations; check one at a time, or give each "
                               "thread its own copy")
        _CHECKING[key] = me
    try:
        yield
    finally:
        if owner is None:  # the outermost check of this thread lets go
            with _CHECKING_LOCK:
                _CHECKING.pop(key, None)
