"""``check_object``: a layer or loss written as an object, checked as it is, on deep copies.

    layer.forward(*inputs, **forward_kwargs)     -> the output (or None: stored in self.output)
    layer.backward(dout, **backward_kwargs)      -> the input gradient(s), or (dx, {name: grad})
                                                   (or None: stored in self.dinputs)
    torch_fn(p, *input_tensors)                  -> the same output in torch; optional; ``p`` a
                                                   dict name -> float64 tensor of the parameters

The parameters and their gradients are found where from-scratch code keeps them
(``compare.check.object_slots`` lists the conventions), or where ``params=``/``grads=`` say.
The object is then checked through ``check_layer``'s door: its parameters become inputs of
a pure function ``f(*inputs, *params)`` whose every call runs on a fresh deep copy of the
layer, taken before the first call, so the user's object is never called nor changed, and
its caches and accumulators start where the object stood. The report has one entry per
input gradient (kind ``"input"``) and per parameter gradient (kind ``"param"``, under the
names ``p`` uses), and the output.

A loss object, ``forward(pred, target)``, is checked as any layer when ``backward`` takes
an upstream gradient; a ``backward()`` with no argument gives the gradient of forward's
scalar loss; nnfs's ``backward(dvalues, y_true)`` (as many arguments as forward, the
predictions first: ``self.output`` where forward also stored one, as nnfs's softmax and
cross-entropy in one class does) gives the gradient of the mean of forward's losses. When
``backward`` gives one input gradient for several inputs, it is the first input's; the
others (the target) are constants, and the report says so. Integer inputs (class labels)
take no gradient.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np
import torch

from handgrad.compare.check import arguments
from handgrad.compare.check.case import object_case
from handgrad.compare.check.layer import check_layer
from handgrad.compare.check.object_calls import (
    as_input_grads,
    backward_takes,
    gradient_slots,
    input_part,
    output_of,
    split_returned,
)
from handgrad.compare.check.object_slots import (
    Slots,
    check_named,
    find_slots,
    float_array_attributes,
    put,
)
from handgrad.compare.check.report import GradReport, settle
from handgrad.compare.check.user_calls import ObjectCallError, call_user, names_its_errors, spelled
from handgrad.compare.check.validate import check_float_arrays

__all__ = ["ObjectCallError", "assert_object_match", "check_object"]

FORWARD = "your layer's forward"
BACKWARD = "your layer's backward"
TORCH = "torch_fn (the torch reference)"
ON_A_COPY = " on a deep copy of the layer"
CALLED = {"dout": "backward(dout) with a random dout",
          "nothing": "backward(): the gradient of forward's scalar loss",
          "inputs": "backward(*inputs): the gradient of the mean of forward's losses"}


class _Plan:
    """What the first call found out about the object, and the calls built on it."""

    def __init__(self, pristine, inputs: dict, forward_kwargs: dict, backward_kwargs: dict):
        self.pristine = pristine
        self.input_names = list(inputs)
        self.forward_kwargs = forward_kwargs
        self.backward_kwargs = backward_kwargs
        self.takes = backward_takes(pristine.backward, len(inputs), backward_kwargs)
        self.slots = Slots("no parameters", {})
        self.grad_inputs: dict[str, object] = {}  # input name -> its key in backward's result
        self.float_loss = False  # forward returned a Python float: dout is passed as one
        self.stored_output = False  # forward returned a value and stored self.output

    # -- the user's calls, on a copy ---------------------------------------------------
    def run_forward(self, layer, values):
        """``layer.forward(*values)``'s output (returned or stored)."""
        call = spelled("layer.forward", self.input_names, values, self.forward_kwargs)
        returned = call_user(layer.forward, FORWARD, call + ON_A_COPY, *values,
                             **self.forward_kwargs)
        self.float_loss = isinstance(returned, float)
        self.stored_output = returned is not None and isinstance(
            getattr(layer, "output", None), np.ndarray)  # nnfs's softmax-and-loss in one
        return output_of(layer, returned)

    def run_backward(self, layer, dout, values):
        """``layer.backward`` called as ``self.takes`` says; its result as returned."""
        if self.takes == "nothing":
            args, names = (), []
        elif self.takes == "inputs":
            args, names = self.predictions(layer, values)
        else:
            args = (float(dout) if self.float_loss else dout,)
            names = ["dout"]
        call = spelled("layer.backward", names, args, self.backward_kwargs)
        return call_user(layer.backward, BACKWARD, call + ON_A_COPY, *args,
                         **self.backward_kwargs)

    def predictions(self, layer, values) -> tuple[tuple, list[str]]:
        """nnfs's ``backward(dvalues, y_true)`` arguments: ``dvalues`` are the predictions,
        forward's first input, or what forward stored in ``self.output`` when it also
        returned the loss (softmax and cross-entropy in one: ``backward(self.output, y)``)."""
        if self.stored_output and layer.output.shape == np.shape(values[0]):
            return (layer.output, *values[1:]), ["self.output", *self.input_names[1:]]
        return tuple(values), self.input_names

    def objective(self, out):
        """The output the hand gradient is the gradient of (``BACKWARD_TAKES``), checked:
        float arrays; for a loss object (backward takes no ``dout``), a finite scalar."""
        loss = f"{FORWARD} (a loss, as its backward takes no dout)"
        if self.takes != "dout" and isinstance(out, tuple):
            raise ValueError(f"{loss} returned {len(out)} outputs; expected one loss")
        if self.takes == "nothing":
            arguments.loss_value(out, loss)
        for i, part in enumerate(out if isinstance(out, tuple) else (out,)):
            if not isinstance(part, np.ndarray) or part.dtype.kind != "f":
                raise TypeError(f"{FORWARD} returned {arguments.shown(part)} as its output "
                                f"{i}; expected a floating-point NumPy array (a loss: a float)")
        if self.takes == "dout":
            return out
        value = np.mean(out) if self.takes == "inputs" else np.reshape(out, ())
        arguments.loss_value(value, loss)
        return np.asarray(value, dtype=out.dtype)

    # -- check_layer's pure pair --------------------------------------------------------
    @names_its_errors
    def forward(self, *values):
        """``(out, layer)``: a fresh copy given the parameters in ``values``, run forward."""
        layer = copy.deepcopy(self.pristine)
        n = len(self.input_names)
        for name, value in zip(self.slots.names, values[n:]):
            put(layer, self.slots.where[name], value, name)
        out = self.run_forward(layer, values[:n])
        return self.objective(out), (layer, values[:n])

    @names_its_errors
    def backward(self, dout, cache) -> dict:
        """The gradients, keyed by input and parameter names, read off the copy."""
        layer, values = cache
        part, returned = split_returned(self.run_backward(layer, dout, values))
        grads = (as_input_grads(input_part(layer, part), self.grad_inputs)
                 if self.grad_inputs else {})
        for name, value in zip(self.input_names, values):
            if name in grads:
                grads[name] = arguments.gradient_value(grads[name], name, value, BACKWARD,
                                                       "input")
        for name in self.slots.names:
            grads[name] = self.param_grad(layer, returned, name)
        if self.takes != "dout":  # the gradient of the scalar; check_layer's is dout times it
            grads = {k: np.asarray(g) * dout for k, g in grads.items()}
        return grads

    def param_grad(self, layer, returned, name: str) -> np.ndarray:
        """A copy of parameter ``name``'s gradient, read off ``layer`` after backward."""
        try:
            grad = self.slots.grad(layer, returned, name)
        except (AttributeError, KeyError, IndexError, TypeError) as exc:
            raise TypeError(f"no gradient for parameter {name!r} after backward "
                            f"({self.slots.convention}): {type(exc).__name__}: {exc}") from exc
        if grad is None:
            raise TypeError(f"the gradient of parameter {name!r} is None after backward "
                            f"({self.slots.convention})")
        held = self.slots.where[name](layer)
        grad = arguments.gradient_value(grad, name, held, f"{BACKWARD} "
                                        f"({self.slots.convention})")
        return np.array(grad, copy=True)

    def torch_side(self, torch_fn):
        """``torch_fn(p, *inputs)`` as check_layer calls it: ``f(*inputs, *params)``."""
        n = len(self.input_names)

        @names_its_errors
        def reference(*tensors):
            p = dict(zip(self.slots.names, tensors[n:]))
            call = spelled("torch_fn", ["p", *self.input_names], (p, *tensors[:n]), {})
            result = call_user(torch_fn, TORCH, call, p, *tensors[:n])
            if not isinstance(result, torch.Tensor) or self.takes == "dout":
                return result
            return result.mean() if self.takes == "inputs" else result.reshape(())
        return reference

    def kinks_side(self, kinks):
        """``kinks(p, *inputs)`` as check_layer calls it, its output checked: the shapes
        of the first call (at the inputs as given) wherever it is called."""
        n = len(self.input_names)

        def signs(*values):
            p = dict(zip(self.slots.names, values[n:]))
            call = spelled("kinks", ["p", *self.input_names], (p, *values[:n]), {})
            return call_user(kinks, "kinks", call, p, *values[:n])
        return arguments.checked_kinks(signs)


def _probe(plan: _Plan, inputs: dict, no_grad: tuple, params, grads) -> list[str]:
    """One forward and backward on a copy: the parameters' slots and the inputs that take a
    gradient are read off it. Returns the inputs backward gives no gradient for."""
    layer = copy.deepcopy(plan.pristine)
    before = dict(getattr(layer, "__dict__", {}))
    values = [np.array(v, copy=True) for v in inputs.values()]
    out = plan.objective(plan.run_forward(layer, values))
    dout = tuple(np.ones_like(o) for o in out) if isinstance(out, tuple) else np.ones_like(out)
    part, returned = split_returned(plan.run_backward(layer, dout, values))
    stable = [k for k, v in float_array_attributes(layer).items() if before.get(k) is v]
    plan.slots = find_slots(layer, stable, returned, params, grads)
    takers = [k for k in inputs if k not in no_grad]
    if not takers:  # ids, labels: only the parameters take a gradient
        return []
    plan.grad_inputs = gradient_slots(input_part(layer, part), takers)
    return [k for k in takers if k not in plan.grad_inputs]


def _as_kwargs(kwargs, what: str) -> dict:
    if kwargs is None:
        return {}
    if not isinstance(kwargs, dict):
        raise TypeError(f"{what} must be None or a dict of keyword arguments, got "
                        f"{arguments.shown(kwargs)}")
    wrong = [k for k in kwargs if not isinstance(k, str)]
    if wrong:
        raise TypeError(f"{what}'s keys must be argument names (strings), got "
                        f"{arguments.shown(wrong[0])}")
    return dict(kwargs)


def _pristine(layer):
    """The deep copy every call starts from (the layer itself is never called)."""
    missing = [m for m in ("forward", "backward") if not callable(getattr(layer, m, None))]
    if missing:
        raise TypeError(f"check_object needs an object with forward and backward methods; "
                        f"{type(layer).__name__} has no {' and no '.join(missing)} (a pair of "
                        "functions: check_layer; a model's loss: check_model)")
    try:
        return copy.deepcopy(layer)
    except Exception as exc:
        raise TypeError(f"check_object runs every call on a deep copy of the layer, and "
                        f"copy.deepcopy raised {type(exc).__name__}: {exc}") from exc


def _initial_params(plan: _Plan, inputs: dict) -> dict:
    """The parameters' starting values (copies), checked: float arrays, no clash."""
    values = {}
    layer = copy.deepcopy(plan.pristine)  # get_parameters() may do more than read
    for name in plan.slots.names:
        held = plan.slots.where[name](layer)
        if not isinstance(held, np.ndarray) or held.dtype not in (np.float32, np.float64):
            raise TypeError(f"parameter {name!r} ({plan.slots.convention}) must be a float32 "
                            f"or float64 array, got {getattr(held, 'dtype', type(held))}")
        if name in inputs:
            raise ValueError(f"the parameter {name!r} has the name of an input: rename the "
                             f"input in inputs=")
        values[name] = np.array(held, copy=True)
    return values


def check_object(layer, inputs, torch_fn=None, *, params=None, grads=None,  # noqa: PLR0913 (a public door: check_layer's options and the object's)
                 forward_kwargs=None, backward_kwargs=None, no_grad=(), seed=0, fd="auto",
                 device="cpu", kinks=None) -> GradReport:
    """Check a layer object's ``backward`` against torch autograd and finite differences.

    Args:
        layer: an object with ``forward`` and ``backward`` methods; never called nor
            changed: every call runs on a fresh deep copy.
        inputs: dict name -> array-like in the order ``forward`` takes them, a tuple or
            list of array-likes (named after ``forward``'s parameters), or one ndarray
            (``x``); lists and numbers become the arrays ``np.asarray`` makes.
        torch_fn: ``torch_fn(p, *input_tensors) -> tensor(s)``, the same output in torch,
            ``p`` a dict name -> float64 tensor of the parameters; None for finite
            differences alone.
        params, grads: where the parameters and their gradients are, when no convention
            fits: dicts name -> attribute name (``"weights"``, ``"fc.W"``) or callable
            ``layer -> array``; ``params={}`` for a layer with no parameters.
        forward_kwargs, backward_kwargs: passed by keyword (``{"training": True}``).
        no_grad: inputs that take no gradient (integer labels need no naming).
        seed, fd, device: as ``check_layer``.
        kinks: ``kinks(p, *inputs) -> array(s)`` whose signs mark non-smooth points.

    Returns:
        a ``GradReport``: one entry per input gradient, one per parameter gradient (kind
        ``"param"``), and the output.

    Raises:
        TypeError, ValueError: an argument is refused before any call (the message names
            it, what came and what is accepted: ``compare.check.arguments``), or the layer
            returned what cannot be judged (a loss that is not a finite scalar, a gradient
            of the wrong kind or shape, kinks of another shape).
        ObjectCallError: the layer's forward or backward, or torch_fn or kinks, raised; the
            message names which and the call, the original exception is ``__cause__``.
    """
    given = ObjectCheck(layer=layer, inputs=inputs, torch_fn=torch_fn, params=params,
                        grads=grads, forward_kwargs=forward_kwargs,
                        backward_kwargs=backward_kwargs, no_grad=no_grad, seed=seed, fd=fd,
                        device=device, kinks=kinks)
    return _run_check(_validated(given))


@dataclass(frozen=True)
class ObjectCheck:
    """One ``check_object`` call: the layer object and its options (see ``check_object``)."""

    layer: object
    inputs: dict
    torch_fn: object = None
    params: object = None
    grads: object = None
    forward_kwargs: dict | None = None
    backward_kwargs: dict | None = None
    no_grad: tuple = ()
    seed: int = 0
    fd: object = "auto"
    device: object = "cpu"
    kinks: object = None

    @property
    def judged_no_grad(self) -> tuple:
        """``no_grad`` as given, and the integer inputs (labels), which take no gradient."""
        labels = tuple(k for k, v in self.inputs.items()
                       if v.dtype.kind in "iub" and k not in self.no_grad)
        return self.no_grad + labels


def _validated(check: ObjectCheck) -> ObjectCheck:
    """Every argument checked before any call (``compare.check.arguments``), array-likes
    made arrays, the keyword dicts made dicts."""
    inputs = arguments.inputs(check.inputs, getattr(check.layer, "forward", None))
    arguments.optional_callable(check.torch_fn, "torch_fn",
                                "torch_fn(p, *input_tensors) -> tensor(s)")
    check_named(check.params, check.grads)
    arguments.device(check.device)
    arguments.optional_callable(check.kinks, "kinks", "kinks(p, *inputs) -> array(s)")
    valid = replace(check, inputs=inputs,
                    forward_kwargs=_as_kwargs(check.forward_kwargs, "forward_kwargs"),
                    backward_kwargs=_as_kwargs(check.backward_kwargs, "backward_kwargs"),
                    no_grad=arguments.no_grad(check.no_grad, list(inputs)),
                    seed=arguments.seed(check.seed), fd=arguments.fd(check.fd))
    check_float_arrays(inputs, "inputs", skip=valid.judged_no_grad)
    return valid


def _run_check(check: ObjectCheck) -> GradReport:
    """The object's calls found out on a copy, then judged through ``check_layer``'s door
    with its parameters as inputs; the case saved is the object's, with its state before."""
    plan = _Plan(_pristine(check.layer), check.inputs, check.forward_kwargs,
                 check.backward_kwargs)
    no_grad = check.judged_no_grad
    constants = _probe(plan, check.inputs, no_grad, check.params, check.grads)
    values = {**check.inputs, **_initial_params(plan, check.inputs)}
    signs = None if check.kinks is None else plan.kinks_side(check.kinks)
    if signs is not None:
        signs(*values.values())  # at the inputs as given: the shapes every call must keep
    report = check_layer(plan.forward, plan.backward, values,
                         None if check.torch_fn is None else plan.torch_side(check.torch_fn),
                         no_grad=no_grad + tuple(constants), seed=check.seed, fd=check.fd,
                         device=check.device, kinks=signs)
    _describe(report, plan, constants)
    if report.case is not None:  # saved as the object's case, not as the wrappers'
        call = {"inputs": plan.input_names, "forward_kwargs": check.forward_kwargs,
                "backward_kwargs": check.backward_kwargs, "no_grad": check.no_grad,
                "params": check.params, "grads": check.grads, "torch_fn": check.torch_fn,
                "kinks": check.kinks}
        report.case = object_case(plan.pristine, report.case, call)  # the state before
    return report


def _describe(report: GradReport, plan: _Plan, constants: list[str]) -> None:
    """Parameter entries marked ``"param"``; a note says what was found on the object."""
    for checked in (report, report.float64):
        for entry in checked.entries if checked is not None else ():
            if entry.name in plan.slots.where and entry.kind == "input":
                entry.kind = "param"
    report.notes.append(f"layer object: {plan.slots.convention}; {CALLED[plan.takes]}")
    if plan.slots.unpaired:
        report.notes.append(f"array attributes {plan.slots.unpaired} have no d-prefixed "
                            "gradient after backward: not checked (running statistics? a "
                            "misspelled gradient name?)")
    if constants:
        report.notes.append(f"inputs {constants} get no gradient from backward: taken as "
                            "constants (a loss's target)")


def assert_object_match(layer, inputs, torch_fn=None, *, allow_inconclusive=False,
                        **kwargs) -> GradReport:
    """``check_object`` for a pytest: raises AssertionError with the report table on
    ``"fail"`` and on ``"inconclusive"`` (``allow_inconclusive=True``: a warning instead)."""
    __tracebackhide__ = True
    return settle(check_object(layer, inputs, torch_fn, **kwargs), allow_inconclusive)
