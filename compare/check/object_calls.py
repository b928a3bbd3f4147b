"""Calling a layer object's own methods for ``check_object``: errors named, results found.

Three things are read off a call, whatever the object's convention:

* the output: what ``forward`` returns, or (when it returns None) what it stored in
  ``self.output`` (also ``self.out``, ``self.outputs``); a Python float or a 0-d array is
  taken as a 0-d float64 array;
* the input gradient(s): what ``backward`` returns (an array, a tuple in the order of the
  inputs, a dict keyed by their names, or ``(dx, {name: grad})``), or (when it returns
  None) what it stored in ``self.dinputs`` (also ``dinput``, ``dX``, ``dx``);
* how ``backward`` takes its upstream gradient (``BACKWARD_TAKES``), from its signature.

An exception raised inside the user's code, or inside ``torch_fn``, becomes one
``ObjectCallError`` (``compare.check.user_calls``, shared by every door) that says which
side raised and in which call, with the original exception chained as ``__cause__``.
"""

from __future__ import annotations

import inspect

import numpy as np

OUTPUT_ATTRS = ("output", "out", "outputs")
DINPUT_ATTRS = ("dinputs", "dinput", "dX", "dx")

# how backward is called, and which scalar its gradient is the gradient of:
#   "dout"     backward(dout)           the vector-Jacobian product with dout (any output)
#   "nothing"  backward()               the gradient of forward's scalar output (a loss)
#   "inputs"   backward(pred, target)   nnfs's loss: the gradient of the mean of forward's
#                                       per-sample losses (its Loss.calculate averages)
BACKWARD_TAKES = ("dout", "nothing", "inputs")


def output_of(obj, returned):
    """The output of ``forward``: returned, or stored on ``obj`` when it returned None."""
    if returned is None:
        found = [a for a in OUTPUT_ATTRS if getattr(obj, a, None) is not None]
        if not found:
            raise TypeError("the layer's forward returned None and stored no output: looked "
                            f"for {', '.join('self.' + a for a in OUTPUT_ATTRS)}")
        returned = getattr(obj, found[0])
    if isinstance(returned, (tuple, list)):
        return tuple(_as_array(o) for o in returned)
    return _as_array(returned)


def _as_array(value):
    """A Python float (a loss) as a 0-d float64 array; anything else as given."""
    return np.asarray(value, np.float64) if isinstance(value, float) else value


def split_returned(returned):
    """``backward``'s result as (the input gradient part, the parameter gradient dict or
    None): ``(dx, {name: grad})`` is split, anything else is input gradients."""
    if (isinstance(returned, tuple) and len(returned) == 2 and isinstance(returned[1], dict)
            and not isinstance(returned[0], dict)):
        return returned[0], returned[1]
    return returned, None


def input_part(obj, returned):
    """The input gradient(s): ``returned``, or stored on ``obj`` (``self.dinputs``)."""
    if returned is not None:
        return returned
    found = [a for a in DINPUT_ATTRS if getattr(obj, a, None) is not None]
    if not found:
        raise TypeError("the layer's backward returned None and stored no input gradient: "
                        f"looked for {', '.join('self.' + a for a in DINPUT_ATTRS)}")
    return getattr(obj, found[0])


def gradient_slots(part, takers: list[str]) -> dict[str, object]:
    """Which input each of ``part``'s gradients belongs to: name -> key (a dict's name, or a
    position). One array or a tuple are in the order of ``takers`` (the inputs that may take
    a gradient); a None entry is no gradient."""
    if isinstance(part, dict):
        extra = [k for k in part if k not in takers]
        if extra:
            raise ValueError(f"the layer's backward returned gradients for {extra}, which are "
                             f"not among the inputs that take one: {takers}")
        return {k: k for k in takers if part.get(k) is not None}
    values = tuple(part) if isinstance(part, (tuple, list)) else (part,)
    if len(values) > len(takers):
        raise ValueError(f"the layer's backward gave {len(values)} input gradients for the "
                         f"{len(takers)} input(s) that take one: {takers}")
    return {takers[i]: i for i, v in enumerate(values) if v is not None}


def as_input_grads(part, slots: dict) -> dict:
    """``part``'s gradients keyed by input name, as ``gradient_slots`` placed them."""
    if not isinstance(part, dict):
        part = tuple(part) if isinstance(part, (tuple, list)) else (part,)
    try:
        return {name: part[key] for name, key in slots.items()}
    except (KeyError, IndexError):
        raise ValueError(f"the layer's backward gave its input gradients as "
                         f"{type(part).__name__} of {len(part)} here, unlike the first call "
                         f"(gradients for {list(slots)})") from None


def backward_takes(method, n_inputs: int, backward_kwargs: dict) -> str:
    """One of ``BACKWARD_TAKES``, read off ``backward``'s signature (``"dout"`` if none)."""
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):
        return "dout"
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    positional = [p for p in signature.parameters.values()
                  if p.kind in kinds and p.name not in backward_kwargs]
    if any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in signature.parameters.values()):
        return "dout"
    required = [p for p in positional if p.default is inspect.Parameter.empty]
    if not positional:
        return "nothing"
    if n_inputs > 1 and len(required) == n_inputs:  # backward(pred, target), as nnfs's loss
        return "inputs"
    return "dout"
