"""A saved check, rerun: ``replay(path)`` -> ``(new report, saved case)``.

``report.save(path)`` (``compare.check.case_files``) writes what a door checked; ``replay``
loads it and calls the same door again on the same arrays with the same settings, the
user's code imported again by the names the case recorded (``compare.check.case``):

* ``check_gradients``: the model's class, rebuilt from its spec (``handmade.MLP`` and
  subclasses importable by name with the same constructor), its parameters loaded;
* ``check_model``: ``loss_and_grads``, ``torch_loss`` and ``kinks``, and the ``params``
  dict that ``loss_and_grads`` reads (a module-level dict, or an attribute of the object
  whose method it is), its arrays overwritten in place with the saved ones;
* ``check_layer``: ``forward``, ``backward``, ``torch_fn`` and ``kinks``, on the saved
  inputs (the upstream gradient is drawn again from the saved seed);
* ``check_object``: the layer's class, imported again, and a new instance of it
  (``cls.__new__(cls)``, its ``__init__`` not run) given the state the object had before
  the check (``compare.check.object_state``), then checked with the saved inputs and
  settings (``forward_kwargs``, ``backward_kwargs``, ``no_grad``, ``params``/``grads``
  given as attribute names, ``torch_fn``, ``kinks``, seed, ``fd``). A state or a setting
  that could not be saved (an attribute holding another object, a callable in
  ``params=``) is named, and the rerun refuses: a half-rebuilt object is never checked.

Modules are imported from the current folder first (as ``python -m`` does). A case whose
code cannot be imported says which module it needs, or why it cannot be (a lambda, a
function defined inside another, a script run as ``__main__``).

A door joins by adding its rerun to ``RERUN``: a function ``Case -> GradReport``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from handgrad.compare.check.case import Case, import_code, importable
from handgrad.compare.check.case_files import load_case, save
from handgrad.compare.check.gradcheck import check_gradients
from handgrad.compare.check.layer import check_layer
from handgrad.compare.check.model import check_model
from handgrad.compare.check.object_state import decode_value, rebuild
from handgrad.compare.check.objects import check_object
from handgrad.compare.check.report import GradReport

__all__ = ["RERUN", "Case", "load_case", "rebuild_model", "rebuild_object", "replay", "rerun",
           "save"]


def rebuild_model(case: Case):
    """The handmade model of a ``check_gradients`` case, its parameters loaded.

    Raises ``ValueError`` saying why when it cannot be rebuilt."""
    if case.door != "check_gradients":
        raise ValueError(f"this case checks your own code with {case.door}, not a handmade "
                         "model: rerun it with handgrad verify --replay, or rerun it in "
                         "Python with handgrad.load_case(path)")
    meta = case.meta
    module, _, qualname = meta.get("class", "").partition(":")
    if module == "__main__":
        raise ValueError(f"the model's class {qualname!r} was defined in a script (__main__), "
                         "which cannot be imported again: move it into a module, or rerun "
                         "the check in Python with handgrad.load_case(path)")
    try:
        cls = import_code(meta.get("class", ""), "the model's class")
        model = cls(meta["sizes"], meta["activations"], meta["loss"][0],
                    reduction=meta.get("reduction", ["mean"])[0],
                    dtype=case.params[next(iter(case.params))].dtype)
    except Exception as exc:
        raise ValueError(f"cannot rebuild the model {meta.get('class')!r} from its spec "
                         f"({type(exc).__name__}: {exc}): rerun it in Python with "
                         "handgrad.load_case(path)") from None
    for key, value in case.params.items():
        model.params[key][...] = value
    return model


def _rerun_gradients(case: Case) -> GradReport:
    model = rebuild_model(case)
    meta = case.meta
    return check_gradients(model, case.arrays["X"], case.arrays["y"], device=meta["device"],
                           fd=meta["fd"], fd_seed=meta["fd_seed"])


def _code(case: Case, name: str):
    """The function the case recorded as ``name`` (None where none was given)."""
    code = case.meta.get("code")
    if code is None:
        raise ValueError(f"this {case.door} case was saved without the names of its code "
                         "(an older handgrad): rerun it in Python with "
                         "handgrad.load_case(path)")
    return importable(code.get(name), name)


def _saved_params(case: Case) -> dict:
    """The ``params`` dict that the case's ``loss_and_grads`` reads, its arrays set to the
    saved ones in place (views of them stay views)."""
    where = case.meta.get("params_at")
    if where is None:
        raise ValueError("check_model's params cannot be found again: keep params in a "
                         "module-level dict of the module that defines loss_and_grads (or "
                         "as an attribute of the module-level object whose method it is)")
    params = import_code(where, "params")
    saved = case.params
    if not isinstance(params, dict) or set(params) != set(saved):
        raise ValueError(f"params ({where}) no longer has the saved names {sorted(saved)}")
    for key, value in saved.items():
        if np.shape(params[key]) != value.shape:
            raise ValueError(f"params[{key!r}] ({where}) has shape {np.shape(params[key])}; "
                             f"the saved one has {value.shape}")
        params[key][...] = value
    return params


def _rerun_model(case: Case) -> GradReport:
    loss_and_grads = _code(case, "loss_and_grads")
    torch_loss = _code(case, "torch_loss")
    kinks = _code(case, "kinks")
    params = _saved_params(case)
    meta = case.meta
    return check_model(params, loss_and_grads, case.arrays["X"], case.arrays["y"], torch_loss,
                       seed=meta["seed"], fd=meta["fd"], device=meta["device"], kinks=kinks)


def _rerun_layer(case: Case) -> GradReport:
    forward = _code(case, "forward")
    backward = _code(case, "backward")
    torch_fn = _code(case, "torch_fn")
    kinks = _code(case, "kinks")
    meta = case.meta
    return check_layer(forward, backward, case.inputs, torch_fn, no_grad=meta["no_grad"],
                       seed=meta["seed"], fd=meta["fd"], device=meta["device"], kinks=kinks)


def _object_refused(case: Case, why: str) -> ValueError:
    record = case.meta.get("class") or {"name": "?"}
    return ValueError(f"this case checks a {record['name']} object with check_object: it "
                      f"cannot be rebuilt: {why}; rerun check_object in Python on "
                      "handgrad.load_case(path).inputs")


def rebuild_object(case: Case):
    """The layer object of a ``check_object`` case: its class imported again, its saved
    state (as it stood before the check) set on a new instance's ``__dict__``.

    Raises ``ValueError`` saying why when it cannot be rebuilt."""
    record = case.meta.get("class") or {"name": "?", "why": "no class was recorded"}
    if record["why"]:
        raise _object_refused(case, f"its class cannot be imported again: {record['why']}")
    if case.meta.get("state") is None or case.meta.get("call") is None:
        raise _object_refused(case, "it was saved without its state and settings (an "
                                    "older handgrad)")
    try:
        cls = import_code(record["name"], "the layer's class")
        return rebuild(cls, case.meta["state"], case.arrays)
    except ValueError as exc:
        raise _object_refused(case, str(exc)) from None


def _object_settings(case: Case) -> dict:
    """``check_object``'s keyword arguments, as saved; ValueError naming those that were
    not (callables in ``params=``, objects in ``forward_kwargs``)."""
    call = case.meta["call"]
    if call["unsaved"]:
        listed = "; ".join(f"{k}: {why}" for k, why in call["unsaved"].items())
        raise _object_refused(case, f"the settings {sorted(call['unsaved'])} could not be "
                                    f"saved ({listed})")
    meta = case.meta
    return {
        "params": call["params"],
        "grads": call["grads"],
        "forward_kwargs": decode_value(call["forward_kwargs"], case.arrays),
        "backward_kwargs": decode_value(call["backward_kwargs"], case.arrays),
        "no_grad": tuple(call["no_grad"]),
        "kinks": importable(call["kinks"], "kinks"),
        "seed": meta["seed"],
        "fd": meta["fd"],
        "device": meta["device"],
    }


def _rerun_object(case: Case) -> GradReport:
    layer = rebuild_object(case)
    settings = _object_settings(case)
    torch_fn = importable(case.meta["call"]["torch_fn"], "torch_fn")
    inputs = {k: case.inputs[k] for k in case.meta["call"]["inputs"]}
    return check_object(layer, inputs, torch_fn, **settings)


RERUN: dict[str, Callable[[Case], GradReport]] = {
    "check_gradients": _rerun_gradients,
    "check_model": _rerun_model,
    "check_layer": _rerun_layer,
    "check_object": _rerun_object,
}


def rerun(case: Case) -> GradReport:
    """The door of ``case`` run again on its arrays and settings."""
    door = RERUN.get(case.door)
    if door is None:
        raise ValueError(f"a {case.door} case cannot be rerun by this version of handgrad "
                         f"(it reruns {', '.join(RERUN)}): rerun it in Python with "
                         "handgrad.load_case(path)")
    return door(case)


def replay(path) -> tuple[GradReport, Case]:
    """Rerun the check saved at ``path``: ``(new report, saved case)``."""
    case = load_case(path)
    return rerun(case), case
