"""A layer object's state, kept without pickle: ``read_state(obj)`` and ``rebuild(cls, ...)``.

A ``check_object`` case keeps the object as it stood before the check, attribute by
attribute (its ``__dict__``):

    an ndarray (any dtype but object) or a NumPy scalar    an array in the .npz, named
                                                           ``state:<attribute>``
    None, bool, int, float (finite), str                   itself, in the .json
    lists, tuples and dicts of those (arrays inside too)   tagged JSON: a tuple is
                                                           ``{"tuple": [...]}``, a dict
                                                           ``{"dict": [[key, value], ...]}``,
                                                           an array inside one
                                                           ``{"array": "state:<attr>/<n>"}``

Anything else (another object, a function, a file, an ndarray subclass, a NaN) is not
kept: the case lists those attributes with the reason, and the rerun refuses to build a
half-rebuilt object. The rebuilt object is ``cls.__new__(cls)`` with the kept attributes
set on its ``__dict__``: its ``__init__`` does not run, so nothing it would draw (random
weights) replaces the saved values. An object whose attributes live in ``__slots__`` cannot
be rebuilt this way and is refused.
"""

from __future__ import annotations

import math

import numpy as np

STATE = "state:"  # array names of the object's state


class Unsaved(Exception):
    """A value that neither the .npz nor the .json can keep; the message says what it is."""


def _kind(value) -> str:
    kind = type(value)
    return f"a {kind.__module__}.{kind.__qualname__} object"


def _slot_names(obj) -> list[str]:
    """The ``__slots__`` attributes ``obj`` has set (``__dict__``, ``__weakref__`` aside)."""
    names = []
    for kind in type(obj).__mro__:
        slots = vars(kind).get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name):
                names.append(name)
    return names


class _Writer:
    """Encodes one value, collecting its arrays under ``base`` (``state:<attribute>``)
    and, inside containers, ``base/0``, ``base/1``, ..."""

    def __init__(self, base: str, arrays: dict):
        self.base = base
        self.arrays = arrays
        self.count = 0

    def array(self, value, top: bool) -> dict:
        if type(value) is not np.ndarray and not isinstance(value, np.generic):
            raise Unsaved(f"{_kind(value)} (an ndarray subclass)")
        if np.asarray(value).dtype == object:
            raise Unsaved("an array of Python objects (dtype object)")
        key = self.base if top else f"{self.base}/{self.count}"
        self.count += 1
        self.arrays[key] = np.array(value, copy=True)
        return {"array": key, "scalar": isinstance(value, np.generic)}

    def encode(self, value, top: bool = False):
        """``value`` as JSON (arrays stored aside); ``Unsaved`` for what cannot be kept."""
        if value is None or type(value) in (bool, int, str):  # exact: an Enum is not kept
            return value
        if type(value) is float:
            if not math.isfinite(value):
                raise Unsaved(f"the float {value} (JSON keeps finite numbers only)")
            return value
        if isinstance(value, (np.ndarray, np.generic)):
            return self.array(value, top)
        if type(value) in (list, tuple):
            items = [self.encode(v) for v in value]
            return items if type(value) is list else {"tuple": items}
        if type(value) is dict:
            return {"dict": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        raise Unsaved(_kind(value) if not callable(value) else
                      f"a function or other callable ({_kind(value)})")


def encode_value(value, base: str, arrays: dict):
    """``value`` as tagged JSON, its arrays added to ``arrays`` under ``base``;
    ``Unsaved`` (nothing added) for what cannot be kept."""
    kept: dict[str, np.ndarray] = {}
    encoded = _Writer(base, kept).encode(value, top=True)
    arrays |= kept
    return encoded


def read_state(obj) -> tuple[dict, dict]:
    """``(arrays, record)``: the state's arrays by their npz names, and the JSON record
    ``{"json": {attribute: encoded value}, "unsaved": {attribute: why}}``."""
    arrays: dict[str, np.ndarray] = {}
    record: dict = {"json": {}, "unsaved": {}}
    for name in _slot_names(obj):
        record["unsaved"][name] = "a __slots__ attribute (a rerun rebuilds __dict__ alone)"
    for name, value in getattr(obj, "__dict__", {}).items():
        try:
            record["json"][name] = encode_value(value, STATE + name, arrays)
        except Unsaved as exc:
            record["unsaved"][name] = str(exc)
    return arrays, record


def decode_value(value, arrays: dict):
    """The value ``encode_value`` wrote, its arrays taken (copied) from ``arrays``."""
    if isinstance(value, list):
        return [decode_value(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "array" in value:
        array = np.array(arrays[value["array"]], copy=True)
        return array[()] if value.get("scalar") else array
    if "tuple" in value:
        return tuple(decode_value(v, arrays) for v in value["tuple"])
    return {decode_value(k, arrays): decode_value(v, arrays) for k, v in value["dict"]}


def unsaved_message(record: dict) -> str:
    """Empty when the whole state was kept; otherwise which attributes were not, and why."""
    unsaved = record.get("unsaved", {})
    if not unsaved:
        return ""
    listed = "; ".join(f"{name!r}: {why}" for name, why in unsaved.items())
    return (f"the attributes {sorted(unsaved)} could not be saved ({listed}): only arrays "
            "and JSON values (None, bool, int, float, str, and lists, tuples and dicts of "
            "them) are kept, and a half-rebuilt object is never rerun")


def rebuild(cls, record: dict, arrays: dict):
    """``cls.__new__(cls)`` with the saved attributes set on its ``__dict__``.

    ValueError saying why when it cannot be rebuilt (attributes not kept, __slots__)."""
    why = unsaved_message(record)
    if why:
        raise ValueError(why)
    try:
        obj = cls.__new__(cls)
    except Exception as exc:
        raise ValueError(f"{cls.__qualname__}.__new__({cls.__qualname__}) raised "
                         f"{type(exc).__name__}: {exc}") from None
    if not hasattr(obj, "__dict__"):
        raise ValueError(f"{cls.__qualname__} keeps its attributes in __slots__, without a "
                         "__dict__: a rerun cannot set its state")
    for name, value in record["json"].items():
        vars(obj)[name] = decode_value(value, arrays)
    return obj
