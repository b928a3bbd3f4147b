"""Where a layer object keeps its parameters and their gradients, for ``check_object``.

The conventions recognised with no configuration, tried in this order:

    c  ``self.get_parameters() -> {name: array}``; the gradients come back from ``backward``
       as ``(dx, {name: grad})`` (or sit in a ``gradients``/``grads`` dict attribute)
    a  a dict attribute ``self.parameters`` or ``self.params``; the gradients in a dict
       attribute ``self.gradients`` or ``self.grads`` with the same keys
    d  parallel lists ``self.params`` and ``self.grads``; each entry is named after the
       attribute holding the same array (``self.W``), else ``params[i]``
    b  array attributes (``self.weights``) whose gradients are the attributes with a ``d``
       prefix after ``backward`` (``self.dweights``), as nnfs writes them
    e  anything else, named: ``params={"W": "weights"}``, ``grads={"W": "dweights"}``, each an
       attribute name (dotted for a nested one: ``"fc.W"``) or a callable ``layer -> array``

A candidate parameter is a float array attribute that neither ``forward`` nor ``backward``
rebinds (``self.inputs`` and ``self.output`` are rebound on every call, parameters are not).
A layer with no such attribute has no parameters (an activation, a loss).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from handgrad.compare.check.arguments import shown
from handgrad.compare.check.user_calls import call_user

LOOKED_FOR = (
    "a get_parameters() method, with backward returning (dx, {name: grad}); "
    "a dict attribute parameters or params, with the gradients in a dict attribute "
    "gradients or grads (the same keys); parallel lists params and grads; array attributes "
    "with a d-prefixed gradient after backward (weights -> dweights)")


@dataclass
class Slots:
    """How to reach each parameter (``where[name](layer) -> array``) and its gradient
    (``grad(layer, returned, name) -> array``, ``returned`` being the dict that ``backward``
    returned, or None); ``convention`` says in words what was found."""

    convention: str
    where: dict[str, Callable]
    grad: Callable | None = None
    unpaired: list[str] = field(default_factory=list)  # array attributes left unchecked

    @property
    def names(self) -> list[str]:
        return list(self.where)


def attribute_path(obj, path: str):
    """``obj.a.b`` for ``path = "a.b"``."""
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def float_array_attributes(obj) -> dict:
    """The float ndarray attributes of ``obj`` (its ``__dict__``), by name."""
    return {k: v for k, v in getattr(obj, "__dict__", {}).items()
            if isinstance(v, np.ndarray) and v.dtype.kind == "f"}


def find_slots(probe, stable: list[str], returned, params=None, grads=None) -> Slots:
    """The parameters of ``probe`` (a copy after one ``forward`` and ``backward``).

    ``stable`` lists its float array attributes that neither call rebound; ``returned`` is the
    parameter-gradient dict ``backward`` returned, or None; ``params``/``grads`` the names
    the user gave (convention e).
    """
    if params is not None:
        return named_slots(probe, params, grads, returned)
    if grads is not None:
        raise TypeError("grads= names the gradients of params=: give params= too")
    for find in (_get_parameters, _dict_attributes, _parallel_lists, _returned_keys,
                 _d_prefixed):
        slots = find(probe, stable, returned)
        if slots is not None:
            return slots
    candidates = [k for k in stable if not (k.startswith("d") and k[1:] in stable)]
    if candidates:
        raise TypeError(nothing_recognised(
            f"found array attributes {candidates} on the layer but no gradients for them",
            candidates))
    if returned:
        raise TypeError(nothing_recognised(
            f"found no parameters for the gradients {list(returned)} that backward returned",
            list(returned)))
    return Slots("no parameters", {})


def nothing_recognised(found: str, names: list[str]) -> str:
    """The error when parameters and gradients could not be paired: what was ``found``,
    what was looked for, and ``params=``/``grads=`` spelled out for ``names``."""
    spelled_params = ", ".join(f"{k!r}: {k!r}" for k in names)
    spelled_grads = ", ".join(f"{k!r}: 'grad_{k}'" for k in names)
    return (f"check_object {found}. It looked for {LOOKED_FOR}. Name them, as attribute "
            f"names or callables layer -> array: check_object(layer, inputs, "
            f"params={{{spelled_params}}}, grads={{{spelled_grads}}}); or params={{}} if the "
            "layer has no parameters")


def _grad_source(probe, returned, names: list[str]):
    """``(grad, words)`` for gradients keyed like ``names``: backward's returned dict, or a
    dict attribute ``gradients``/``grads``; None if neither holds them all."""
    if returned is not None:
        missing = [k for k in names if k not in returned]
        if missing:
            raise ValueError(f"the layer's backward returned gradients for {list(returned)}; "
                             f"missing {missing}")
        return (lambda layer, got, name: got[name]), "returned by backward"
    for attr in ("gradients", "grads"):
        held = getattr(probe, attr, None)
        if isinstance(held, dict) and all(k in held for k in names):
            return (lambda layer, got, name, attr=attr: getattr(layer, attr)[name]), \
                f"in self.{attr}"
    return None


def _need_grads(found, where: str, names: list[str]):
    if found is None:
        raise TypeError(f"check_object found the parameters {names} in {where} but not their "
                        "gradients: it looked for backward returning (dx, {name: grad}) and "
                        "for a dict attribute gradients or grads with the same keys; name "
                        "them with grads={name: attribute name or callable layer -> array}")
    return found


def _get_parameters(probe, stable, returned) -> Slots | None:
    method = getattr(probe, "get_parameters", None)
    if not callable(method):
        return None
    found = call_user(method, "the layer's get_parameters", "layer.get_parameters()")
    if not isinstance(found, dict):
        raise TypeError(f"the layer's get_parameters() must return a dict name -> array, got "
                        f"{type(found).__name__}")
    grad, words = _need_grads(_grad_source(probe, returned, list(found)), "get_parameters()",
                              list(found))
    where = {k: (lambda layer, k=k: layer.get_parameters()[k]) for k in found}
    return Slots(f"parameters from get_parameters(), gradients {words}", where, grad)


def _dict_attributes(probe, stable, returned) -> Slots | None:
    for attr in ("parameters", "params"):
        held = getattr(probe, attr, None)
        if isinstance(held, dict) and held:
            grad, words = _need_grads(_grad_source(probe, returned, list(held)),
                                      f"self.{attr}", list(held))
            where = {k: (lambda layer, k=k, attr=attr: getattr(layer, attr)[k]) for k in held}
            return Slots(f"parameters in self.{attr}, gradients {words}", where, grad)
    return None


def _parallel_lists(probe, stable, returned) -> Slots | None:
    held = getattr(probe, "params", None)
    if not isinstance(held, (list, tuple)) or not held:
        return None
    grads = getattr(probe, "grads", None)
    if not isinstance(grads, (list, tuple)) or len(grads) != len(held):
        raise TypeError(f"the layer's params is a list of {len(held)}; its gradients must be "
                        "a list of the same length in self.grads (parallel lists), or be "
                        "named with params= and grads=")
    names = _list_names(probe, held)
    where = {k: (lambda layer, i=i: layer.params[i]) for i, k in enumerate(names)}
    index = {k: i for i, k in enumerate(names)}
    return Slots("parameters and gradients in the parallel lists self.params, self.grads",
                 where, lambda layer, got, name: layer.grads[index[name]])


def _list_names(probe, items) -> list[str]:
    """Each item named after the one attribute that holds the very same array, else
    ``params[i]``."""
    attributes = {k: v for k, v in vars(probe).items() if k not in ("params", "grads")}
    names = []
    for i, item in enumerate(items):
        holders = [k for k, v in attributes.items() if v is item]
        names.append(holders[0] if len(holders) == 1 else f"params[{i}]")
    return names if len(set(names)) == len(names) else [f"params[{i}]" for i in range(len(items))]


def _d_prefixed(probe, stable, returned) -> Slots | None:
    arrays = float_array_attributes(probe)
    names = [k for k in stable if "d" + k in arrays and arrays["d" + k].shape == arrays[k].shape]
    if not names:
        return None
    where = {k: (lambda layer, k=k: getattr(layer, k)) for k in names}
    unpaired = [k for k in stable if k not in names and k[1:] not in names]
    _refuse_misspelled_gradients(arrays, stable, names, unpaired)
    return Slots(f"parameters {names} with gradients {['d' + k for k in names]}", where,
                 lambda layer, got, name: getattr(layer, "d" + name), unpaired)


def _refuse_misspelled_gradients(arrays: dict, stable: list[str], names: list[str],
                                 unpaired: list[str]) -> None:
    """An array that ``backward`` left under a gradient-like name (``dbias``, ``dB``,
    ``grad_b``) with the shape of a parameter that found no ``d`` partner is that
    parameter's gradient, misspelled: checking the others and leaving it out would pass a
    layer whose gradient was never looked at, so the check stops and names both."""
    paired = {"d" + k for k in names}
    strays = [k for k, v in arrays.items()
              if k not in stable and k not in paired and k != "dinputs"
              and (k.startswith("d") or "grad" in k.lower())
              and any(v.shape == arrays[p].shape for p in unpaired)]
    if not strays:
        return
    guesses = {p: [s for s in strays if arrays[s].shape == arrays[p].shape] for p in unpaired}
    guesses = {p: found for p, found in guesses.items() if found}
    spelled = ", ".join(f"{p!r}: {found[0]!r}" for p, found in guesses.items())
    all_params = ", ".join(f"{k!r}: {k!r}" for k in [*names, *guesses])
    raise TypeError(
        f"backward left {strays} beside the parameters {list(guesses)}, which have no "
        f"d-prefixed gradient ({['d' + p for p in guesses]} were looked for): a misspelled "
        f"gradient name? Name them: params={{{all_params}}}, "
        f"grads={{{', '.join(f'{k!r}: {chr(39)}d{k}{chr(39)}' for k in names)}, {spelled}}}")


def _returned_keys(probe, stable, returned) -> Slots | None:
    """backward returned ``(dx, {name: grad})`` and each name is an array attribute."""
    if returned is None or not returned or not all(k in stable for k in returned):
        return None
    where = {k: (lambda layer, k=k: getattr(layer, k)) for k in returned}
    return Slots(f"parameters {list(returned)} (attributes), gradients returned by backward",
                 where, lambda layer, got, name: got[name])


def check_named(params, grads) -> None:
    """Convention e's ``params``/``grads``, checked before any call: None, or a dict name ->
    attribute name (``"fc.W"``) or callable ``layer -> array``; ``grads`` only with
    ``params``, and with its names."""
    if params is None:
        if grads is not None:
            raise TypeError("grads= names the gradients of params=: give params= too")
        return
    for what, spec in (("params", params), ("grads", grads)):
        if spec is None:
            continue
        if not isinstance(spec, dict):
            raise TypeError(f"{what} must be None or a dict name -> attribute name or "
                            f"callable layer -> array, got {shown(spec)}")
        for name, where in spec.items():
            _locator(where, f"{what}[{name!r}]")
    if grads is not None and set(grads) != set(params):
        raise ValueError(f"grads must be a dict with the names of params {list(params)}, "
                         f"got {list(grads)}")


def named_slots(probe, params, grads, returned) -> Slots:
    """Convention e: ``params``/``grads`` map names to attribute names or callables."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict name -> attribute name or callable layer -> "
                        f"array, got {type(params).__name__}")
    where = {k: _locator(spec, f"params[{k!r}]") for k, spec in params.items()}
    for name, locate in where.items():
        _reach(locate, probe, f"params[{name!r}] = {params[name]!r}")
    if not where:
        return Slots("no parameters (params={})", {})
    return Slots("parameters named by params=", where,
                 _named_grads(probe, params, grads, returned))


def _named_grads(probe, params, grads, returned) -> Callable:
    """The gradients of ``params``: named by ``grads``, else returned by backward, else the
    d-prefixed attributes, else a ``gradients``/``grads`` dict attribute."""
    if grads is not None:
        if not isinstance(grads, dict) or set(grads) != set(params):
            raise ValueError(f"grads must be a dict with the names of params {list(params)}, "
                             f"got {list(grads) if isinstance(grads, dict) else grads!r}")
        locate = {k: _locator(spec, f"grads[{k!r}]") for k, spec in grads.items()}
        for name, find in locate.items():
            _reach(find, probe, f"grads[{name!r}] = {grads[name]!r} (after backward)")
        return lambda layer, got, name: locate[name](layer)
    if returned is not None:
        return _grad_source(probe, returned, list(params))[0]
    prefixed = {k: _d_path(spec) for k, spec in params.items() if isinstance(spec, str)}
    if len(prefixed) == len(params) and all(_reachable(probe, p) for p in prefixed.values()):
        return lambda layer, got, name: attribute_path(layer, prefixed[name])
    return _need_grads(_grad_source(probe, returned, list(params)), "params=", list(params))[0]


def _d_path(path: str) -> str:
    """``"fc.W"`` -> ``"fc.dW"``: the gradient's attribute beside the parameter's."""
    head, _, last = path.rpartition(".")
    return f"{head}.d{last}" if head else f"d{last}"


def _reachable(obj, path: str) -> bool:
    try:
        attribute_path(obj, path)
    except AttributeError:
        return False
    return True


def _locator(spec, what: str) -> Callable:
    if isinstance(spec, str):
        return lambda layer: attribute_path(layer, spec)
    if callable(spec):
        return spec
    raise TypeError(f"{what} must be an attribute name or a callable layer -> array, got "
                    f"{shown(spec)}")


def _reach(locate: Callable, probe, what: str):
    """``locate(probe)``, its failure named as ``what``."""
    return call_user(locate, what, "on the layer after forward and backward", probe)


def put(layer, locate: Callable, value: np.ndarray, name: str) -> None:
    """Give ``layer`` (a fresh copy) the parameter ``value``: written into its array where
    dtype and shape match (views and aliases see it), else the array is replaced by a copy
    of ``value`` wherever the layer holds it (an attribute, a dict or a list item)."""
    held = locate(layer)
    if (isinstance(held, np.ndarray) and held.dtype == value.dtype and held.shape == value.shape
            and held.flags.writeable):
        held[...] = value
    elif not _replace(layer, held, np.array(value, copy=True)):
        raise TypeError(f"check_object cannot give the layer parameter {name!r} as {value.dtype}"
                        f" {value.shape}: its array ({getattr(held, 'dtype', type(held))}) is "
                        "not an attribute, nor in a dict or list attribute; name an attribute"
                        " with params=")
    if not np.array_equal(locate(layer), value):
        raise TypeError(f"parameter {name!r}: the layer does not hold the value written into "
                        "the array found for it (is it a copy, as get_parameters() or a "
                        "callable in params= may return?); name the attribute with params=")


def _replace(layer, old, new) -> int:
    """Replace ``old`` by ``new`` wherever ``layer``'s attributes hold it; how many places."""
    count = 0
    for key, value in list(vars(layer).items()):
        if value is old:
            setattr(layer, key, new)
            count += 1
        elif isinstance(value, dict):
            hits = [k for k, v in value.items() if v is old]
            value.update(dict.fromkeys(hits, new))
            count += len(hits)
        elif isinstance(value, list):
            hits = [i for i, v in enumerate(value) if v is old]
            for i in hits:
                value[i] = new
            count += len(hits)
    return count
