"""The user's code called by a door: an exception it raises is named, never passed raw.

Every door calls code it did not write: the user's forward, backward, ``loss_and_grads``
or loss, and the torch reference. An exception raised inside any of them becomes one
``ObjectCallError`` whose message names the side that raised (``your forward``,
``torch_fn (the torch reference)``) and the call, its arguments shown as dtype and shape,
with the original exception chained as ``__cause__`` (its traceback is printed above the
error's, as ``raise ... from exc`` does).
"""

from __future__ import annotations

import numpy as np


class ObjectCallError(RuntimeError):
    """The user's code (forward, backward, loss) or the torch reference raised: the message
    names the side and the call; the original exception is ``__cause__``."""


def describe(value) -> str:
    """``float64 (4, 3)`` for an array, ``{'W': float64 (3, 2)}`` for a dict of them, the
    type name otherwise (``float``)."""
    if isinstance(value, np.ndarray) or (hasattr(value, "dtype") and hasattr(value, "shape")):
        return f"{str(value.dtype).removeprefix('torch.')} {tuple(value.shape)}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in value.items()) + "}"
    return type(value).__name__


def names_its_errors(function):
    """Mark ``function`` as the judge's own wrapper of the user's code, which names the
    user's exceptions itself (``check_object``'s calls through ``check_layer``): its own
    errors (a value refused) pass through ``call_user`` as they are."""
    function.names_its_errors = True
    return function


def call_user(function, side: str, call: str, *args, **kwargs):
    """``function(*args, **kwargs)``; an exception becomes an ``ObjectCallError`` naming
    ``side`` (whose code raised) and ``call`` (how it was called)."""
    if getattr(function, "names_its_errors", False):
        return function(*args, **kwargs)
    try:
        return function(*args, **kwargs)
    except ObjectCallError:
        raise  # named already, by the call inside (check_object's calls through check_layer)
    except Exception as exc:
        raise ObjectCallError(f"{side} raised {type(exc).__name__}: {exc}\n"
                              f"    in the call {call}") from exc


def original(exc: BaseException) -> BaseException:
    """The exception the user's code raised: ``exc``'s cause when ``exc`` is the
    ``ObjectCallError`` that names it, else ``exc`` itself."""
    if isinstance(exc, ObjectCallError) and exc.__cause__ is not None:
        return exc.__cause__
    return exc


def spelled(method: str, names, values, kwargs: dict) -> str:
    """``layer.forward(x: float64 (4, 3), training=True)``: a call, as the error shows it."""
    parts = [f"{n}: {describe(v)}" for n, v in zip(names, values)]
    parts += [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{method}({', '.join(parts)})"
