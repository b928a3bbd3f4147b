"""The doors' arguments, checked before any work, and the user's return values, named.

Every door (``check_layer``, ``check_model``, ``check_object``, ``check_gradients``) calls
these first. A refused argument is a TypeError (the wrong kind of thing) or a ValueError
(the right kind, a wrong value) whose message names the argument, shows what was given
(its type and a short repr) and says what is accepted:

    seed      an int >= 0 (a NumPy integer too; not a bool, a float or a str)
    fd        "auto", "coords", "directions" or None (``fd_options.check_fd_option``)
    device    "cpu", "cuda", "cuda:N" or a torch.device (``torch_ref.resolve_device``)
    kinks     None or a callable
    no_grad   an input's name, or an iterable of them (names of ``inputs``)
    torch_fn, torch_loss   None or a callable
    inputs    a dict name -> array-like, a tuple/list of array-likes (named after forward's
              parameters), or one array (named ``x``)
    X, y      array-likes of real numbers, finite

Array-likes are taken as NumPy takes them: ``np.asarray`` turns lists, tuples, Python
numbers and NumPy scalars into arrays (Python floats become float64); an ndarray is kept as
it is, the very object. So both twins and both references see the same numbers.

A value returned by the user's code that cannot be judged is named by the functions at the
end (``loss_value``, ``gradient_value``, ``kinks_value``, ``loss_tensor``): which call
returned it, what came and what was expected. Their errors are ``UnjudgeableType`` and
``UnjudgeableValue`` (a TypeError and a ValueError, both ``Unjudgeable``), so that a door
that reports a broken call as a finding can still let these through. ``explained`` chains
an error raised inside NumPy, torch or Python under one that says what the door was doing.
"""

from __future__ import annotations

import contextlib
import inspect
import reprlib

import numpy as np
import torch

from handgrad.compare.check.fd_options import check_fd_option
from handgrad.compare.check.validate import check_grad_shapes
from handgrad.torch_ref import resolve_device

_SHORT = reprlib.Repr()
_SHORT.maxstring = 40
_SHORT.maxother = 40
_SHORT.maxlist = 4
_SHORT.maxtuple = 4
_SHORT.maxdict = 4
_SHORT.maxlevel = 2

REAL_KINDS = "biuf"  # NumPy dtype kinds of real numbers (bool, int, unsigned, float)


def shown(value) -> str:
    """What was given, for a message: its type and a short repr (``str '0'``,
    ``ndarray float64 (3, 2)``)."""
    if isinstance(value, (np.ndarray, torch.Tensor)):
        dtype = str(value.dtype).removeprefix("torch.")
        return f"{type(value).__name__} {dtype} {tuple(value.shape)}"
    return f"{type(value).__name__} {_SHORT.repr(value)}"


@contextlib.contextmanager
def explained(doing: str):
    """Run the body; a TypeError or ValueError raised inside NumPy, torch or Python is
    raised again, of the same kind, as ``"<doing>: <Error>: <message>"``, the original
    chained as ``__cause__``. Any other exception passes unchanged."""
    try:
        yield
    except (TypeError, ValueError) as exc:
        kind = TypeError if isinstance(exc, TypeError) else ValueError
        raise kind(f"{doing}: {type(exc).__name__}: {exc}") from exc


class Unjudgeable(Exception):
    """A value returned by the user's code that no reference can be compared with."""


class UnjudgeableType(Unjudgeable, TypeError):
    """The wrong kind of value returned (None, a string for a loss or a gradient)."""


class UnjudgeableValue(Unjudgeable, ValueError):
    """The right kind, a wrong value (a loss of several values, NaN; another shape)."""


# -----------------------------------------------------------------------------------------
# The options


def seed(value, name: str = "seed") -> int:
    """``value`` as a Python int: an int or NumPy integer >= 0 (bools are refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= 0 (it seeds NumPy's random generator), "
                        f"got {shown(value)}")
    if value < 0:
        raise ValueError(f"{name} must be an int >= 0 (it seeds NumPy's random generator), "
                         f"got {int(value)}")
    return int(value)


def fd(value, name: str = "fd"):
    """``value`` unchanged, when it is one of ``fd_options.FD_OPTIONS``."""
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} must be 'auto', 'coords', 'directions' or None, "
                        f"got {shown(value)}")
    check_fd_option(value)
    return value


def device(value, name: str = "device") -> torch.device:
    """``value`` as a torch.device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a torch.device
    (a bare int, which torch would read as a CUDA index, is refused)."""
    if not isinstance(value, (str, torch.device)):
        raise TypeError(f"{name} must be 'cpu', 'cuda', 'cuda:N' or a torch.device, "
                        f"got {shown(value)}")
    return resolve_device(value)


def required_callable(value, name: str, called_as: str):
    """``value`` unchanged when it is callable; ``called_as`` says how it is called."""
    if not callable(value):
        raise TypeError(f"{name} must be a callable {called_as}, got {shown(value)}")
    return value


def optional_callable(value, name: str, called_as: str):
    """``value`` unchanged when it is None or callable; ``called_as`` says how it is called
    (``"torch_fn(*tensors) -> tensor(s)"``)."""
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be None or a callable {called_as}, got {shown(value)}")
    return value


def no_grad(value, names, name: str = "no_grad") -> tuple[str, ...]:
    """``value`` as a tuple of input names: None, one name, or an iterable of names, each
    one of ``names`` (the inputs' names)."""
    if value is None:
        return ()
    items = (value,) if isinstance(value, str) else value
    accepted = f"an input's name or an iterable of them (the inputs: {list(names)})"
    try:
        items = tuple(items)
    except TypeError:
        raise TypeError(f"{name} must be {accepted}, got {shown(value)}") from None
    wrong = [item for item in items if not isinstance(item, str)]
    if wrong:
        raise TypeError(f"{name} must be {accepted}; {shown(wrong[0])} is not a name")
    unknown = [item for item in items if item not in names]
    if unknown:
        raise ValueError(f"{name} names {unknown} are not in inputs {list(names)}; {name} "
                         "must be an input's name or an iterable of them")
    return items


# -----------------------------------------------------------------------------------------
# The data


def array_like(value, name: str) -> np.ndarray:
    """``value`` as NumPy takes it (``np.asarray``; an ndarray is returned as it is),
    holding real numbers: a ragged list, a string, None or objects are refused."""
    if isinstance(value, np.ndarray):
        array = value
    else:
        if value is None or isinstance(value, (str, bytes, dict, set)):
            raise TypeError(f"{name} must be an array of numbers (an ndarray, or a list, "
                            f"tuple or number NumPy turns into one), got {shown(value)}")
        with explained(f"{name}: np.asarray could not make one array of {shown(value)} "
                       "(rows of different lengths?)"):
            array = np.asarray(value)
    if array.dtype.kind not in REAL_KINDS:
        raise TypeError(f"{name} must hold real numbers (bool, int or float), got "
                        f"{shown(value)} of dtype {array.dtype}")
    return array


def batch(value, name: str) -> np.ndarray:
    """``X`` or ``y``: an array-like of real numbers (``array_like``), finite."""
    array = array_like(value, name)
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} must be finite; it holds {bad} NaN/Inf value(s)")
    return array


def inputs(value, forward=None, name: str = "inputs") -> dict[str, np.ndarray]:
    """``value`` as a dict name -> ndarray, in the order ``forward`` takes them: a dict of
    array-likes (string keys), a tuple/list of array-likes (named after ``forward``'s
    parameters), or one ndarray or NumPy scalar (named ``x``)."""
    if isinstance(value, (np.ndarray, np.generic)):
        value = {"x": value}
    elif isinstance(value, (tuple, list)):
        value = dict(zip(_parameter_names(forward, len(value)), value))
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict name -> array (in the order forward takes "
                        f"them), a tuple or list of arrays, or one ndarray; got {shown(value)}")
    if not value:
        raise ValueError(f"{name} must hold at least one array, got an empty "
                         f"{type(value).__name__}")
    wrong = [k for k in value if not isinstance(k, str)]
    if wrong:
        raise TypeError(f"{name}' names must be strings, got {shown(wrong[0])}")
    return {k: array_like(v, f"{name}[{k!r}]") for k, v in value.items()}


def _parameter_names(forward, n: int) -> list[str]:
    """The first ``n`` positional parameter names of ``forward`` (a method's ``self`` is
    bound already); ``x0, x1, ...`` where the signature does not give ``n`` names."""
    try:
        parameters = inspect.signature(forward).parameters.values()
    except (TypeError, ValueError):
        parameters = []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [p.name for p in parameters if p.kind in kinds]
    return names[:n] if len(names) >= n else [f"x{i}" for i in range(n)]


# -----------------------------------------------------------------------------------------
# What the user's code returned


def loss_value(value, call: str = "loss_and_grads") -> float:
    """A loss returned by ``call``, as a Python float: one real number, finite."""
    expected = "expected the loss: one finite real number (a float, or an array of size 1)"
    if value is None or isinstance(value, (str, bytes)):
        raise UnjudgeableType(f"{call} returned {shown(value)} as its loss; {expected}")
    array = _returned_array(value, f"{call} returned {shown(value)} as its loss; {expected}")
    if array.dtype.kind not in REAL_KINDS:
        raise UnjudgeableType(f"{call} returned {shown(value)} as its loss; {expected}")
    if array.size != 1:
        raise UnjudgeableValue(f"{call} returned a loss of shape {array.shape}, not a scalar; "
                               f"{expected} (reduce it: mean or sum)")
    loss = float(array.reshape(()))
    if not np.isfinite(loss):
        raise UnjudgeableValue(f"{call} returned the loss {loss}; {expected}: the references "
                               "cannot be compared with it")
    return loss


def gradient_value(value, name: str, like, call: str, of: str = "param"):
    """The gradient of ``name`` (an ``of``: ``"param"`` or ``"input"``) returned by
    ``call``, as an ndarray: an array-like of numbers with ``like``'s shape (a transposed
    one is named as such); any shape where ``like`` is None."""
    expected = ("expected an array of numbers" if like is None
                else f"expected an array of shape {np.shape(like)}")
    if value is None or isinstance(value, (str, bytes, dict)):
        raise UnjudgeableType(f"{call} returned {shown(value)} as the gradient of {name!r}; "
                              f"{expected}")
    array = _returned_array(value, f"{call} returned {shown(value)} as the gradient of "
                                   f"{name!r}; {expected}")
    if array.dtype.kind not in REAL_KINDS or array.dtype.kind == "b":
        raise UnjudgeableType(f"{call} returned the gradient of {name!r} as {shown(value)} of "
                              f"dtype {array.dtype}; {expected}")
    if like is not None:
        with _unjudgeable():
            check_grad_shapes({name: array}, {name: like}, call, of)
    return array


def kinks_value(value, call: str = "kinks", shapes=None) -> list[np.ndarray]:
    """What ``kinks`` returned: an array-like of real numbers, or a list/tuple of them,
    whose signs mark the non-smooth points; with the same ``shapes`` as on the first call
    (a sign pattern of another length cannot be compared)."""
    parts = list(value) if isinstance(value, (list, tuple)) else [value]
    expected = "expected an array of numbers (or a list of them) whose signs mark the kinks"
    arrays = []
    for i, part in enumerate(parts):
        if part is None or isinstance(part, (str, bytes, dict)):
            raise UnjudgeableType(f"{call} returned {shown(part)} (part {i}); {expected}")
        arrays.append(_returned_array(part, f"{call} returned {shown(part)} (part {i}); "
                                            f"{expected}"))
        if arrays[-1].dtype.kind not in REAL_KINDS:
            raise UnjudgeableType(f"{call} returned {shown(part)} of dtype {arrays[-1].dtype} "
                                  f"(part {i}); {expected}")
    got = [a.shape for a in arrays]
    if shapes is not None and got != list(shapes):
        raise UnjudgeableValue(f"{call} returned shapes {got} here but {list(shapes)} on its "
                               "first call: its output must have one shape wherever it is "
                               "called (one sign per non-smooth point)")
    return arrays


def loss_tensor(value, call: str = "torch_loss") -> torch.Tensor:
    """The loss a torch reference returned: a tensor of one element (keep it in torch:
    no ``.item()``), finite."""
    expected = f"{call} must return a scalar tensor (the loss; keep it in torch: no .item())"
    if not isinstance(value, torch.Tensor):
        raise UnjudgeableType(f"{expected}, got {shown(value)}")
    if value.numel() != 1:
        raise UnjudgeableValue(f"{expected}, got a tensor of shape {tuple(value.shape)}")
    if not bool(torch.isfinite(value.detach()).all()):
        raise UnjudgeableValue(f"{expected}, finite; got {value.item()}")
    return value


def checked_kinks(kinks, call: str = "kinks"):
    """``kinks`` (None passes through) wrapped so that each output is checked by
    ``kinks_value``, with the shapes of its first call."""
    if kinks is None:
        return None
    shapes = []

    def signs(*args):
        arrays = kinks_value(kinks(*args), call, shapes if shapes else None)
        if not shapes:
            shapes.extend(a.shape for a in arrays)
        return arrays
    return signs


def _returned_array(value, message: str) -> np.ndarray:
    """``np.asarray(value)``; NumPy's error chained under ``message``."""
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise UnjudgeableValue(f"{message}: {type(exc).__name__}: {exc}") from exc


@contextlib.contextmanager
def _unjudgeable():
    """A ValueError of ``validate`` (a gradient's shape) raised as ``UnjudgeableValue``."""
    try:
        yield
    except ValueError as exc:
        raise UnjudgeableValue(str(exc)) from None
