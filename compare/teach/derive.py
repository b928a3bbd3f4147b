"""Worked examples: every intermediate of one training step, handmade beside torch.

``derive(name)`` runs one forward pass, one backward pass and one plain gradient-descent
update on a tiny network, with the handmade code and with torch (autograd and
``torch.optim.SGD``), and returns the steps in order::

    Z_l = A_{l-1} W_lᵀ + b_l,  A_l = f_l(Z_l)   for every layer          forward
    L                                                                   the loss
    δ_l = dL/dZ_l,  dW_l = δ_lᵀ A_{l-1},  db_l = Σ_i δ_l[i]   output to input  backward
    W_l ← W_l - η dW_l,  b_l ← b_l - η db_l                             the update

Examples: ``seed003`` (inputs [1, 2, 3], target 1, a 3-2-1 sigmoid net, ½(t - y)², η = 0.1),
``neuron`` (seed 000's logistic neuron on X = [[1, 2], [3, 4], [5, 6]]ᵀ, labels [0, 1]),
``xor`` (a 2-2-1 sigmoid net on the four XOR points, bce), ``softmax`` (the logits z = (2,
1, 0.1) of docs/derivations/softmax_cross_entropy.md, class 0, cross-entropy on logits, fused
and through the Jacobian). Each starts with its inputs and initial parameters, so that
every number after them can be redone by hand.
Their data and weights come from ``compare.teach.seeds``; the handmade intermediates are
read from ``MLP.intermediates``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import torch

from handgrad import handmade
from handgrad.compare.datasets import load
from handgrad.compare.spec import Spec
from handgrad.compare.teach import seeds
from handgrad.compare.teach.bugs import seed003_model
from handgrad.compare.transfer import hand_to_torch, to_numpy64
from handgrad.handmade.activations import get_activation, softmax
from handgrad.torch_ref.functional import ACTIVATIONS as TORCH_ACTIVATIONS


@dataclass
class Step:
    label: str
    hand: np.ndarray
    torch: np.ndarray

    @property
    def diff(self) -> float:
        return float(np.max(np.abs(np.asarray(self.hand) - np.asarray(self.torch))))


def _seed003():
    return (*seed003_model(), seeds.SEED003_LR)


def _neuron():
    data = load("seed000")
    return handmade.LogisticNeuron(3, seed=0), data.X_train, data.y_train, 0.1


def _xor():
    data = load("xor")
    return (handmade.MLP([2, 2, 1], ["sigmoid", "sigmoid"], "bce", seed=0), data.X_train,
            data.y_train, 0.5)


def _softmax():
    """docs/derivations/softmax_cross_entropy.md's example: z = (2, 1, 0.1), y = 0, m = 1
    (a 3-3 identity layer with W = I and b = 0 hands the logits through unchanged)."""
    model = handmade.MLP([3, 3], ["identity"], "cross_entropy", seed=0)
    model.params["layers.0.weight"][...] = np.eye(3)
    model.params["layers.0.bias"][...] = 0.0
    return model, np.array([seeds.SOFTMAX_Z]), np.array(seeds.SOFTMAX_Y), 0.1


EXAMPLES = {"seed003": _seed003, "neuron": _neuron, "xor": _xor, "softmax": _softmax}


@dataclass
class Derivation:
    """A worked example: ``title`` and its ``steps``; ``title, steps = derive(name)``
    unpacks it. ``str()`` is the text ``handgrad derive`` prints; a notebook shows the table
    (``_repr_html_``)."""

    title: str
    steps: list[Step]

    def __iter__(self):
        return iter((self.title, self.steps))

    def __str__(self) -> str:
        return format_steps(self.title, self.steps)

    def _repr_html_(self) -> str:
        def cell(a):
            text = np.array2string(np.asarray(a, dtype=np.float64), precision=8,
                                   separator=", ")
            return f"<td><pre>{html.escape(text)}</pre></td>"
        rows = "".join(f"<tr><td>{html.escape(s.label)}</td>{cell(s.hand)}{cell(s.torch)}"
                       f"<td>{s.diff:.1e}</td></tr>" for s in self.steps)
        return (f"<div><p><b>{html.escape(self.title)}</b></p><table><tr><th>step</th>"
                f"<th>handmade</th><th>torch</th><th>max |difference|</th></tr>{rows}"
                "</table></div>")


def derive(name: str) -> Derivation:
    """The steps of example ``name``, the inputs and initial parameters first; ValueError
    listing the names otherwise."""
    if name not in EXAMPLES:
        raise ValueError(f"unknown example {name!r}; expected one of {sorted(EXAMPLES)}")
    hand, X, y, lr = EXAMPLES[name]()
    spec = Spec.of(hand)
    twin = spec.torch()
    hand_to_torch(hand, twin)
    steps = [Step("X: the inputs, one sample per row", np.asarray(X, np.float64),
                  to_numpy64(twin.as_input(X))),
             Step("y: the labels", np.asarray(y, np.float64), np.asarray(y, np.float64))]
    for key, value in twin.state_dict().items():  # what both start from
        steps.append(Step(f"{key} before the step", hand.params[key].copy(),
                          to_numpy64(value).copy()))  # copies: the step below updates them

    loss, grads = hand.loss_and_grads(X, y)
    layers = hand.intermediates  # Z_l, A_l and delta_l of that call
    t_loss, t_grads = twin.loss_and_grads(X, y)  # keeps Z_l (retain_grad) and deltas
    for layer, record in enumerate(layers):
        Zt = twin.zs[layer].detach()
        prev = "X" if layer == 0 else f"A_{layer - 1}"
        steps.append(Step(f"Z_{layer} = {prev} W_{layer}ᵀ + b_{layer}", record.Z,
                          to_numpy64(Zt)))
        act = spec.activations[layer]
        steps.append(Step(f"A_{layer} = {act}(Z_{layer})", record.A,
                          to_numpy64(TORCH_ACTIVATIONS[act](Zt))))
    if spec.loss == "cross_entropy":
        steps.append(Step("p = softmax(Z)", softmax(layers[-1].Z),
                          to_numpy64(torch.softmax(twin.zs[-1].detach(), -1))))
    steps.append(Step(f"L = {spec.loss}", np.array(loss), np.array(t_loss)))
    for layer in reversed(range(len(layers))):
        steps.append(Step(f"δ_{layer} = dL/dZ_{layer}", layers[layer].delta,
                          to_numpy64(twin.deltas[layer])))
        if spec.loss == "cross_entropy" and layer == len(layers) - 1:
            steps.append(_through_the_jacobian(layers[layer].Z, y, twin.deltas[layer]))
        for kind, sym in (("weight", "dW"), ("bias", "db")):
            key = f"layers.{layer}.{kind}"
            steps.append(Step(f"{sym}_{layer} = dL/d{key}", grads[key], to_numpy64(t_grads[key])))
    handmade.sgd_step(hand.params, grads, lr)
    torch.optim.SGD(twin.parameters(), lr=lr).step()
    for key, value in twin.state_dict().items():
        steps.append(Step(f"{key} after one step (η = {lr})", hand.params[key],
                          to_numpy64(value)))
    title = (f"{name}: {list(spec.sizes)} {list(spec.activations)} {spec.loss}, "
             f"{len(X)} sample(s), one gradient-descent step with η = {lr}")
    return Derivation(title, steps)


def _through_the_jacobian(Z, y, torch_delta) -> Step:
    """The unfused path: softmax's Jacobian applied to d(-log p_y)/dp = -onehot / p."""
    p = softmax(Z)
    dp = handmade.get_loss("nll").grad(p, y)  # (m, k): -1/(m p_y) on the true class
    delta = get_activation("softmax").backward(dp, Z, p)  # p * (dp - <dp, p>)
    return Step("δ via the softmax Jacobian: J(p)ᵀ (-onehot / (m p))", delta,
                to_numpy64(torch_delta))


def format_steps(title: str, steps: list[Step]) -> str:
    """The steps as text: each label, then the handmade value, torch's, their difference."""
    def arr(a, prefix):
        return prefix + np.array2string(np.asarray(a, dtype=np.float64), precision=12,
                                        max_line_width=100, separator=", ", prefix=prefix)
    out = [title, ""]
    for s in steps:
        out += [s.label, arr(s.hand, "  handmade: "), arr(s.torch, "  torch:    "),
                f"  max |difference|: {s.diff:.1e}", ""]
    worst = max(s.diff for s in steps)
    out.append(f"largest difference over all {len(steps)} quantities: {worst:.1e}")
    return "\n".join(out)
