"""A check, saved and rerun: ``report.save(path)``, ``load_case(path)``, ``replay(path)``.

Every door records what it checked in ``report.case``: which door, the arrays (the
parameters, the batch, a layer's inputs and the upstream gradient ``dout`` it drew) and the
settings (seeds, ``fd``, ``device``). ``report.save(path)`` writes two files, no pickle:

    <path>.npz    the arrays (``numpy.savez``; loaded with ``allow_pickle=False``)
    <path>.json   the door, the settings, the model's spec and class, the verdict and the
                  table, every entry's figures, the tolerances and their reasons, the
                  versions of Python, NumPy, torch and handgrad

``replay(path)`` reruns a ``check_gradients`` case whose model is a handmade class that
can be rebuilt from its spec (``handmade.MLP`` and subclasses importable by name with the
same constructor). A ``check_model`` or ``check_layer`` case checks the user's own
functions, which are not saved: ``load_case(path)`` gives its arrays and settings to rerun
it in Python (``case.arrays["X"]``, ``case.params``, ``case.meta["seed"]``).
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from handgrad.bookkeeping.atomic import atomic_path, write_json_atomic
from handgrad.compare.check.tolerances import AUTOGRAD, FINITE_DIFF

FORMAT = 1  # the layout of the two files; bumped when it changes
PARAM = "param:"  # array names of parameters; "input:" for a layer's inputs, "dout:i"


@dataclass
class Case:
    """What a door checked: ``door``, the arrays by name, and JSON-ready settings."""

    door: str  # "check_gradients", "check_model" or "check_layer"
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)  # the saved verdict, table and entries

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The parameters by their own names (``check_gradients``, ``check_model``)."""
        return {k[len(PARAM):]: v for k, v in self.arrays.items() if k.startswith(PARAM)}

    @property
    def inputs(self) -> dict[str, np.ndarray]:
        """A layer's inputs by name, in the order ``forward`` takes them."""
        return {k[6:]: v for k, v in self.arrays.items() if k.startswith("input:")}


def _copy(value):
    return np.array(value, copy=True)


def gradients_case(hand, X, y, *, device, fd, fd_seed, torch_model) -> Case:
    meta = {"device": str(device), "fd": fd, "fd_seed": fd_seed,
            "class": f"{type(hand).__module__}:{type(hand).__qualname__}",
            "torch_model": None if torch_model is None else type(torch_model).__qualname__}
    for name in ("sizes", "activations", "loss", "reduction"):
        if hasattr(hand, name):
            meta[name] = np.ravel(getattr(hand, name)).tolist()
    arrays = {"X": _copy(X), "y": _copy(y)} | {PARAM + k: _copy(v)
                                                for k, v in hand.params.items()}
    return Case("check_gradients", arrays, meta)


def model_case(params, X, y, *, seed, fd, device) -> Case:
    arrays = {"X": _copy(X), "y": _copy(y)} | {PARAM + k: _copy(v) for k, v in params.items()}
    return Case("check_model", arrays, {"seed": seed, "fd": fd, "device": str(device)})


def layer_case(inputs, douts, *, no_grad, seed, fd, device) -> Case:
    arrays = ({f"input:{k}": _copy(v) for k, v in inputs.items()}
              | {f"dout:{i}": _copy(d) for i, d in enumerate(douts)})
    return Case("check_layer", arrays, {"seed": seed, "fd": fd, "device": str(device),
                                        "no_grad": list(no_grad)})


def _versions() -> dict:
    import torch
    try:
        from importlib.metadata import version
        handgrad = version("handgrad")
    except Exception:  # not installed: running from a checkout
        handgrad = None
    return {"python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "handgrad": handgrad}


def save(report, path) -> tuple[Path, Path]:
    """Write ``report`` and its case as ``<path>.npz`` and ``<path>.json``; both paths."""
    case = report.case
    if case is None and report.ok:
        raise ValueError("this check passed: a passing check keeps no copy of its arrays, so "
                         "there is nothing to save or replay")
    if case is None:
        raise ValueError("this report has no case to save (it was not made by check_gradients, "
                         "check_model or check_layer)")
    base = Path(os.fspath(path))
    if base.suffix in (".npz", ".json"):
        base = base.with_suffix("")
    if base.is_dir():
        raise IsADirectoryError(f"path {str(base)!r} is a folder: give a file name "
                                "(the two files get .npz and .json)")
    base.parent.mkdir(parents=True, exist_ok=True)
    npz, meta = base.with_suffix(".npz"), base.with_suffix(".json")
    with atomic_path(npz) as tmp, open(tmp, "wb") as f:
        np.savez(f, **case.arrays)
    tolerances = {f"{ref} {dtype}": asdict(tol) for ref, table in
                  (("autograd", AUTOGRAD), ("finite differences", FINITE_DIFF))
                  for dtype, tol in table.items()}
    write_json_atomic(meta, {
        "format": FORMAT, "door": case.door, "settings": case.meta, "arrays": npz.name,
        "verdict": report.verdict, "table": str(report), "dtype": report.dtype,
        "entries": report.records(),  # NaN/Inf written as null (write_json_atomic)
        "tolerances": tolerances, "versions": _versions()})
    return npz, meta


def load_case(path) -> Case:
    """The ``Case`` saved at ``path`` (either file's name, or the name without suffix)."""
    base = Path(os.fspath(path))
    if base.suffix in (".npz", ".json"):
        base = base.with_suffix("")
    npz, meta = base.with_suffix(".npz"), base.with_suffix(".json")
    for p in (meta, npz):
        if not p.is_file():
            raise FileNotFoundError(f"no saved check at {str(p)!r} (report.save writes "
                                    "<path>.npz and <path>.json)")
    try:
        record = json.loads(meta.read_text())
        door, settings = record["door"], record["settings"]
    except (ValueError, KeyError) as exc:
        raise ValueError(f"{str(meta)!r} is not a saved handgrad check: {exc}") from None
    try:
        with np.load(npz, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:
        raise ValueError(f"{str(npz)!r} cannot be read as the arrays of a saved check: "
                         f"{exc}") from None
    return Case(door, arrays, settings, record)


def rebuild_model(case: Case):
    """The handmade model of a ``check_gradients`` case, its parameters loaded.

    Raises ``ValueError`` saying why when the case checks other code (rerun it in Python)."""
    if case.door != "check_gradients":
        raise ValueError(f"this case checks your own code with {case.door}, which a saved "
                         "file cannot hold: rerun it in Python with compare.load_case(path)")
    meta = case.meta
    module, _, qualname = meta.get("class", "").partition(":")
    if module == "__main__":
        raise ValueError(f"the model's class {qualname!r} was defined in a script (__main__), "
                         "which cannot be imported again: move it into a module, or rerun "
                         "the check in Python with compare.load_case(path)")
    if os.getcwd() not in sys.path:  # as `python -m` does: a module in the current folder
        sys.path.insert(0, os.getcwd())
    try:
        cls = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        model = cls(meta["sizes"], meta["activations"], meta["loss"][0],
                    reduction=meta.get("reduction", ["mean"])[0],
                    dtype=case.params[next(iter(case.params))].dtype)
    except Exception as exc:
        raise ValueError(f"cannot rebuild the model {meta.get('class')!r} from its spec "
                         f"({type(exc).__name__}: {exc}): rerun it in Python with "
                         "handgrad.compare.load_case(path)") from None
    for key, value in case.params.items():
        model.params[key][...] = value
    return model


def replay(path):
    """Rerun a saved ``check_gradients`` case: ``(new report, saved case)``."""
    from handgrad.compare.check.gradcheck import check_gradients

    case = load_case(path)
    model = rebuild_model(case)
    meta = case.meta
    report = check_gradients(model, case.arrays["X"], case.arrays["y"], device=meta["device"],
                             fd=meta["fd"], fd_seed=meta["fd_seed"])
    return report, case
