"""A case on disk: ``save(report, path)`` writes two files, ``load_case(path)`` reads them.

    <path>.npz    the arrays (``numpy.savez``; loaded with ``allow_pickle=False``)
    <path>.json   the door, the settings, the names of the code, the model's spec and
                  class, the verdict and the table, every entry's figures, the tolerances
                  and their reasons, the versions of Python, NumPy, torch and handgrad

A ``check_object`` case adds the object's state as it stood before the check: its array
attributes in the .npz as ``state:<attribute>``, the rest as tagged JSON, and the names of
the attributes that could not be kept (``compare.check.object_state``).

No pickle: a saved case holds numbers and names, never code. Rerunning one is
``compare.check.replay``'s business; this module imports no door.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict
from pathlib import Path

import numpy as np

from handgrad.bookkeeping.atomic import atomic_path, write_json_atomic
from handgrad.compare.check.case import Case
from handgrad.compare.check.tolerances import AUTOGRAD, FINITE_DIFF

FORMAT = 3  # the layout of the two files; bumped when it changes (2: the code by name;
#              3: a check_object case keeps the object's state and settings)


def _versions() -> dict:
    import torch
    try:
        from importlib.metadata import version
        handgrad = version("handgrad")
    except Exception:  # not installed: running from a checkout
        handgrad = None
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "handgrad": handgrad,
    }


def _base(path) -> Path:
    """``path`` without a ``.npz`` or ``.json`` suffix."""
    base = Path(os.fspath(path))
    if base.suffix in (".npz", ".json"):
        base = base.with_suffix("")
    return base


def _tolerances() -> dict:
    tables = (("autograd", AUTOGRAD), ("finite differences", FINITE_DIFF))
    return {f"{reference} {dtype}": asdict(tolerance)
            for reference, table in tables for dtype, tolerance in table.items()}


def save(report, path) -> tuple[Path, Path]:
    """Write ``report`` (a ``GradReport``) and its case as ``<path>.npz`` and
    ``<path>.json``; both paths."""
    case = report.case
    if case is None and report.ok:
        raise ValueError("this check passed: a passing check keeps no copy of its arrays, so "
                         "there is nothing to save or replay")
    if case is None:
        raise ValueError("this report has no case to save (it was not made by one of the "
                         "judge's doors)")
    base = _base(path)
    if base.is_dir():
        raise IsADirectoryError(f"path {str(base)!r} is a folder: give a file name "
                                "(the two files get .npz and .json)")
    base.parent.mkdir(parents=True, exist_ok=True)
    npz = base.with_suffix(".npz")
    meta = base.with_suffix(".json")
    with atomic_path(npz) as tmp, open(tmp, "wb") as f:
        np.savez(f, **case.arrays)
    write_json_atomic(meta, {
        "format": FORMAT,
        "door": case.door,
        "settings": case.meta,
        "arrays": npz.name,
        "verdict": report.verdict,
        "table": str(report),
        "dtype": report.dtype,
        "entries": report.records(),  # NaN/Inf written as null (write_json_atomic)
        "tolerances": _tolerances(),
        "versions": _versions(),
    })
    return npz, meta


def load_case(path) -> Case:
    """The ``Case`` saved at ``path`` (either file's name, or the name without suffix)."""
    base = _base(path)
    npz = base.with_suffix(".npz")
    meta = base.with_suffix(".json")
    for p in (meta, npz):
        if not p.is_file():
            raise FileNotFoundError(f"no saved check at {str(p)!r} (report.save writes "
                                    "<path>.npz and <path>.json)")
    try:
        record = json.loads(meta.read_text())
        door = record["door"]
        settings = record["settings"]
    except (ValueError, KeyError) as exc:
        raise ValueError(f"{str(meta)!r} is not a saved handgrad check: {exc}") from None
    try:
        with np.load(npz, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:
        raise ValueError(f"{str(npz)!r} cannot be read as the arrays of a saved check: "
                         f"{exc}") from None
    return Case(door, arrays, settings, record)
