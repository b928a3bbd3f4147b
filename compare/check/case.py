"""What a door checked, kept to save and rerun it: a ``Case``, and the names of the code.

Every door records, for a check that does not pass, which door ran, the arrays it checked
(the parameters, the batch, a layer's inputs and the upstream gradient ``dout`` it drew)
and its settings (seeds, ``fd``, ``device``). The user's code is recorded by name, as
``module:qualname``, so that a rerun can import it again from the current folder:

    forward, backward, torch_fn, kinks     check_layer
    loss_and_grads, torch_loss, kinks      check_model (and where its ``params`` dict lives)
    the model's class                      check_gradients (rebuilt from its spec)
    the layer object's class               check_object (its state kept beside it:
                                           ``compare.check.object_state``)

A function that cannot be imported again (a lambda, a function defined inside another, a
method of an object that no module names, anything defined in a script run as
``__main__``) is recorded with the reason, which the rerun then says.

This module imports no door: saving and loading (``case_files``) and rerunning
(``replay``) build on it.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field

import numpy as np

from handgrad.compare.check.object_state import Unsaved, encode_value, read_state

PARAM = "param:"  # array names of parameters
INPUT = "input:"  # array names of a layer's inputs
DOUT = "dout:"  # array names of a layer's upstream gradients
CALL = "call:"  # array names of arrays passed to a layer object by keyword


@dataclass
class Case:
    """What a door checked: ``door``, the arrays by name, and JSON-ready settings."""

    door: str  # "check_gradients", "check_model", "check_layer" (or a later door)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)  # the saved verdict, table and entries

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The parameters by their own names (``check_gradients``, ``check_model``)."""
        return _with_prefix(self.arrays, PARAM)

    @property
    def inputs(self) -> dict[str, np.ndarray]:
        """A layer's inputs by name, in the order ``forward`` takes them."""
        return _with_prefix(self.arrays, INPUT)

    @property
    def douts(self) -> list[np.ndarray]:
        """A layer's upstream gradients, in the order of its outputs."""
        found = _with_prefix(self.arrays, DOUT)
        return [found[str(i)] for i in range(len(found))]


def _with_prefix(arrays: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def _copy(value):
    return np.array(value, copy=True)


# ---------------------------------------------------------------------------------------
# The user's code, by name


def code_name(obj) -> dict | None:
    """``{"name": "module:qualname", "why": ""}`` for a function, class or bound method;
    ``"why"`` says, in words, why it cannot be imported again (empty when it can).
    None for None."""
    if obj is None:
        return None
    owner = getattr(obj, "__self__", None)
    if owner is not None and not isinstance(owner, type(sys)):  # a bound method
        return _method_name(obj, owner)
    module = getattr(obj, "__module__", None) or "?"
    qualname = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return {"name": f"{module}:{qualname}", "why": _why_not_importable(module, qualname)}


def _method_name(method, owner) -> dict:
    module = type(owner).__module__
    found = _global_name(owner, module)
    qualname = f"{found or type(owner).__qualname__ + '()'}.{method.__name__}"
    why = _why_not_importable(module, qualname)
    if not why and found is None:
        why = (f"it is a method of a {type(owner).__qualname__} object that no module-level "
               f"name of {module} holds")
    return {"name": f"{module}:{qualname}", "why": why}


def _why_not_importable(module: str, qualname: str) -> str:
    if module == "__main__":
        return ("it was defined in a script run as __main__, which cannot be imported "
                "again: move it into a module")
    if "<lambda>" in qualname:
        return "it is a lambda, which has no name to import: define it with def in a module"
    if "<locals>" in qualname:
        return ("it was defined inside another function, which a rerun cannot reach: "
                "define it at the top level of a module")
    return ""


def _global_name(obj, module: str) -> str | None:
    """The name under which ``module`` holds ``obj`` at its top level, if any."""
    space = vars(sys.modules[module]) if module in sys.modules else {}
    return next((name for name, value in space.items() if value is obj), None)


def params_location(params: dict, loss_and_grads) -> str | None:
    """Where a rerun finds the dict that ``loss_and_grads`` reads: ``module:NAME`` (a
    module-level dict of the function's module) or ``module:OWNER.attribute`` (an
    attribute of the object whose method it is); None when neither holds it."""
    owner = getattr(loss_and_grads, "__self__", None)
    if owner is not None:
        module = type(owner).__module__
        holder = _global_name(owner, module)
        attribute = next((k for k, v in getattr(owner, "__dict__", {}).items()
                          if v is params), None)
        if holder is not None and attribute is not None:
            return f"{module}:{holder}.{attribute}"
        return None
    module = getattr(loss_and_grads, "__module__", None)
    name = _global_name(params, module) if module else None
    return None if name is None else f"{module}:{name}"


def import_code(name: str, what: str):
    """The object ``module:qualname`` names, imported from the current folder first.

    ValueError saying which module is needed when it cannot be imported."""
    module_name, _, qualname = name.partition(":")
    if os.getcwd() not in sys.path:  # as `python -m` does: a module in the current folder
        sys.path.insert(0, os.getcwd())
    try:
        found = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"{what} ({name}) cannot be imported: the module {module_name!r} "
                         f"is needed ({exc}); run the replay from the folder that holds it, "
                         "or install it") from None
    for part in qualname.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ValueError(f"{what} ({name}): the module {module_name!r} has no "
                             f"{qualname!r} (renamed or removed since the check was "
                             "saved?)") from None
    return found


def importable(record: dict | None, what: str):
    """The code that ``record`` (from ``code_name``) names, or None for None; ValueError
    saying why when it was not importable when saved."""
    if record is None:
        return None
    if record["why"]:
        raise ValueError(f"{what} ({record['name']}) cannot be rerun: {record['why']}")
    return import_code(record["name"], what)


# ---------------------------------------------------------------------------------------
# One record per door


def gradients_case(hand, X, y, *, device, fd, fd_seed, torch_model) -> Case:
    """A ``check_gradients`` case: the model's class and spec, its parameters, the batch."""
    meta = {
        "device": str(device),
        "fd": fd,
        "fd_seed": fd_seed,
        "class": f"{type(hand).__module__}:{type(hand).__qualname__}",
        "torch_model": None if torch_model is None else type(torch_model).__qualname__,
    }
    for name in ("sizes", "activations", "loss", "reduction"):
        if hasattr(hand, name):
            meta[name] = np.ravel(getattr(hand, name)).tolist()
    arrays = {"X": _copy(X), "y": _copy(y)}
    arrays |= {PARAM + k: _copy(v) for k, v in hand.params.items()}
    return Case("check_gradients", arrays, meta)


def model_case(check) -> Case:
    """A ``check_model`` case from its ``ModelCheck``."""
    arrays = {"X": _copy(check.X), "y": _copy(check.y)}
    arrays |= {PARAM + k: _copy(v) for k, v in check.params.items()}
    meta = {
        "seed": check.seed,
        "fd": check.fd,
        "device": str(check.device),
        "code": {
            "loss_and_grads": code_name(check.loss_and_grads),
            "torch_loss": code_name(check.torch_loss),
            "kinks": code_name(check.kinks),
        },
        "params_at": params_location(check.params, check.loss_and_grads),
    }
    return Case("check_model", arrays, meta)


def layer_case(check, douts) -> Case:
    """A ``check_layer`` case from its ``LayerCheck`` and the upstream gradients drawn."""
    arrays = {INPUT + k: _copy(v) for k, v in check.inputs.items()}
    arrays |= {f"{DOUT}{i}": _copy(d) for i, d in enumerate(douts)}
    meta = {
        "seed": check.seed,
        "fd": check.fd,
        "device": str(check.device),
        "no_grad": list(check.no_grad),
        "code": {
            "forward": code_name(check.forward),
            "backward": code_name(check.backward),
            "torch_fn": code_name(check.torch_fn),
            "kinks": code_name(check.kinks),
        },
    }
    return Case("check_layer", arrays, meta)


def object_case(layer, case: Case, call: dict | None = None) -> Case:
    """A ``check_object`` case from the ``check_layer`` case its run left.

    ``layer`` is the object as it stood before the check (``check_object``'s pristine
    copy): its class is recorded by name and its state attribute by attribute
    (``compare.check.object_state``). ``call`` holds ``check_object``'s other arguments:
    ``inputs`` (the input names, in forward's order), ``forward_kwargs``,
    ``backward_kwargs``, ``no_grad``, ``params``, ``grads``, ``torch_fn`` and ``kinks``.
    The check ran through wrappers that no module names, so the layer case's code names
    are dropped; the seeds, ``fd`` and ``device`` are kept."""
    meta = {k: v for k, v in case.meta.items() if k not in ("code", "no_grad")}
    meta["class"] = code_name(type(layer))
    arrays, meta["state"] = read_state(layer)
    names = list(case.inputs) if call is None else call["inputs"]
    arrays |= {INPUT + k: case.arrays[INPUT + k] for k in names}
    arrays |= {k: v for k, v in case.arrays.items() if k.startswith(DOUT)}
    meta["call"] = None if call is None else _object_call(call, arrays)
    return Case("check_object", arrays, meta, case.report)


def _object_call(call: dict, arrays: dict) -> dict:
    """``check_object``'s settings as JSON (arrays in keyword arguments added to
    ``arrays`` as ``call:<name>``); what cannot be kept is listed under ``"unsaved"``."""
    saved: dict = {"inputs": list(call["inputs"]), "no_grad": list(call["no_grad"]),
                   "unsaved": {}}
    for what in ("forward_kwargs", "backward_kwargs"):
        try:
            saved[what] = encode_value(call[what], CALL + what, arrays)
        except Unsaved as exc:
            saved["unsaved"][what] = f"it holds {exc}"
    for what in ("params", "grads"):
        spec = call[what]
        held = [] if spec is None else [k for k, v in spec.items() if not isinstance(v, str)]
        if held:
            saved["unsaved"][what] = (
                f"{what}[{held[0]!r}] is a callable, and callables cannot be saved: give "
                f"attribute names ({what}={{'W': 'weights'}}) to make the case replayable")
        else:
            saved[what] = spec
    saved["torch_fn"] = code_name(call["torch_fn"])
    saved["kinks"] = code_name(call["kinks"])
    return saved
