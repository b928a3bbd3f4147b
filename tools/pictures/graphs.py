"""Computational graphs: seed 003's network with its forward values and gradients, and the
four patterns of gradient flow (add, multiply, max, a value used twice).

The network's numbers are ``derive("seed003")``'s steps (the handmade column), so the
picture and ``handgrad derive seed003`` cannot disagree; the patterns' numbers come from
torch autograd.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.patches import FancyBboxPatch

from handgrad.compare.teach.derive import derive
from tools.pictures.common import GRAD, MUTED, VALUE, figure, save

BOX = {"boxstyle": "round,pad=0.45", "facecolor": "white", "edgecolor": "#444444"}


def seed003_numbers() -> dict[str, np.ndarray]:
    """The steps of ``derive("seed003")`` the graph shows, by short name."""
    _, steps = derive("seed003")
    wanted = {"X": "X:", "W0": "layers.0.weight before", "b0": "layers.0.bias before",
              "W1": "layers.1.weight before", "b1": "layers.1.bias before",
              "Z0": "Z_0 =", "A0": "A_0 =", "Z1": "Z_1 =", "A1": "A_1 =", "L": "L =",
              "delta1": "δ_1 =", "dW1": "dW_1 =", "db1": "db_1 =", "delta0": "δ_0 =",
              "dW0": "dW_0 =", "db0": "db_0 ="}
    found = {}
    for short, prefix in wanted.items():
        [step] = [s for s in steps if s.label.startswith(prefix)]
        found[short] = np.asarray(step.hand, dtype=np.float64)
    return found


def fmt(x: float) -> str:
    """5 significant digits, with the minus sign that reads as one."""
    return f"{x:.5g}".replace("-", "−")


def _box(ax, center, size, value_text, grad_text=None):
    """A node: a box of ``size`` (w, h) at ``center``, its value above its gradient."""
    (x, y), (w, h) = center, size
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.05",
                                facecolor="white", edgecolor="#444444"))
    if grad_text is None:
        ax.text(x, y, value_text, ha="center", va="center", color=VALUE, fontsize=9.5)
        return
    ax.text(x, y + 0.04, value_text, ha="center", va="bottom", color=VALUE, fontsize=9)
    ax.text(x, y - 0.04, grad_text, ha="center", va="top", color=GRAD, fontsize=9)


def _edge(ax, start, end, label=None, at=0.5):
    """An arrow from point ``start`` to point ``end``, its label ``at`` that fraction."""
    ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "color": MUTED,
                                                      "lw": 1.1, "shrinkA": 0, "shrinkB": 0})
    if label:
        x = start[0] + at * (end[0] - start[0])
        y = start[1] + at * (end[1] - start[1])
        ax.text(x, y, label, ha="center", va="center", fontsize=7.5,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white",
                      "edgecolor": "#dddddd"})


def draw_seed003(path) -> None:
    n = seed003_numbers()
    fig, ax = figure(12.5, 5.4)
    inputs = [(0.0, 3.0 - 1.4 * i) for i in range(3)]
    hidden = [(6.4, 2.7), (6.4, 0.5)]
    out, loss = (10.9, 1.6), (13.7, 1.6)
    neuron = (3.1, 1.15)
    for i, (x, y) in enumerate(inputs):
        _box(ax, (x, y), (1.3, 0.5), f"$x_{i + 1}$ = {fmt(n['X'][0, i])}")
        for j, (hx, hy) in enumerate(hidden):
            label = (f"$w_{{{i + 1}{j + 1}}}$ = {fmt(n['W0'][j, i])}\n"
                     f"∂e/∂w = {fmt(n['dW0'][j, i])}")
            at = 0.3 if j == 0 else (0.62, 0.75, 0.45)[i]  # labels placed apart
            _edge(ax, (x + 0.7, y), (hx - neuron[0] / 2 - 0.05, hy), label, at=at)
    for j, (hx, hy) in enumerate(hidden):
        _box(ax, (hx, hy), neuron, f"hidden {j + 1}:  net = {fmt(n['Z0'][0, j])}\n"
                                   f"b = {fmt(n['b0'][j])},  o = {fmt(n['A0'][0, j])}",
             f"δ = ∂e/∂net = {fmt(n['delta0'][0, j])}\n∂e/∂b = {fmt(n['db0'][j])}")
        _edge(ax, (hx + neuron[0] / 2 + 0.05, hy), (out[0] - neuron[0] / 2 - 0.05, out[1]),
              f"$w_{j + 1}$ = {fmt(n['W1'][0, j])}\n∂e/∂w = {fmt(n['dW1'][0, j])}")
    _box(ax, out, neuron, f"output:  net = {fmt(n['Z1'][0, 0])}\n"
                          f"b = {fmt(n['b1'][0])},  o = {fmt(n['A1'][0, 0])}",
         f"δ = ∂e/∂net = {fmt(n['delta1'][0, 0])}\n∂e/∂b = {fmt(n['db1'][0])}")
    _edge(ax, (out[0] + neuron[0] / 2 + 0.05, out[1]), (loss[0] - 0.85, loss[1]))
    _box(ax, loss, (1.6, 0.8), f"e = ½(t − o)²\n= {fmt(float(n['L']))}")
    ax.text(6.8, -0.75, "blue: forward values    red: gradients of the loss e, from the "
            "backward pass\n(the numbers of `handgrad derive seed003`; target t = 1)",
            ha="center", va="center", fontsize=9, color=MUTED)
    ax.set_xlim(-0.8, 14.6)
    ax.set_ylim(-1.1, 3.5)
    ax.axis("off")
    ax.set_title("Seed 003's 3-2-1 network: one forward and one backward pass")
    save(fig, path)


def _gate_numbers():
    """Each pattern: its inputs, output and upstream gradient, and autograd's gradients."""
    cases = []
    for name, f, values, upstream in [
        ("add distributes", lambda x, y: x + y, (2.0, -1.0), 3.0),
        ("multiply swaps", lambda x, y: x * y, (3.0, -2.0), 2.0),
        ("max routes", torch.maximum, (4.0, 1.0), 5.0),
    ]:
        x, y = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values)
        z = f(x, y)
        z.backward(torch.tensor(upstream, dtype=torch.float64))
        cases.append((name, [x.item(), y.item()], z.item(), upstream,
                      [x.grad.item(), y.grad.item()]))
    return cases


def _fan_out_numbers():
    """x used twice: a = 3x and b = x², z = a + b; autograd adds the two paths."""
    x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    a = 3 * x
    b = x * x
    a.retain_grad()
    b.retain_grad()
    z = a + b
    z.backward(torch.tensor(1.5, dtype=torch.float64))
    return (x.item(), a.item(), b.item(), z.item(), x.grad.item(), a.grad.item(),
            b.grad.item())


def _node(ax, xy, text, grad=None, **style):
    """A node sized to its text at ``xy``, its gradient in red under it; returns the box."""
    node = ax.text(*xy, text, ha="center", va="center", color=VALUE, fontsize=9,
                   bbox=style.get("bbox", BOX))
    if grad is not None:
        ax.annotate(grad, xy=(0.5, 0), xycoords=node, xytext=(0, -7),
                    textcoords="offset points", ha="center", va="top", color=GRAD, fontsize=9)
    return node


def _link(ax, source, target):
    """An arrow from the right side of node ``source`` to the left side of ``target``."""
    ax.annotate("", xy=(0, 0.5), xycoords=target, xytext=(1, 0.5), textcoords=source,
                arrowprops={"arrowstyle": "->", "color": MUTED, "lw": 1.1, "shrinkA": 6,
                            "shrinkB": 6})


def _gate(ax, name, inputs, output, upstream, grads):
    symbol = {"add distributes": "+", "multiply swaps": "×", "max routes": "max"}[name]
    gate = _node(ax, (2.4, 0.8), symbol, bbox={"boxstyle": "circle", "facecolor": "#eeeeee",
                                               "edgecolor": "#444444"})
    for k, (value, grad) in enumerate(zip(inputs, grads, strict=True)):
        _link(ax, _node(ax, (0.0, 1.9 - 2.2 * k), f"{'xy'[k]} = {fmt(value)}",
                        f"∂ = {fmt(grad)}"), gate)
    _link(ax, gate, _node(ax, (4.6, 0.8), f"z = {fmt(output)}", f"∂ = {fmt(upstream)}"))
    ax.set_title(name, fontsize=11)


def _fan_out(ax):
    x, a, b, z, dx, da, db = _fan_out_numbers()
    source = _node(ax, (-0.6, 0.8), f"x = {fmt(x)}",
                   f"∂ = {fmt(da)}·3\n+ {fmt(db)}·2x\n= {fmt(dx)}")
    total = _node(ax, (5.0, 0.8), f"z = a + b\n= {fmt(z)}", f"∂ = {fmt(dx / (3 + 2 * x))}")
    for y, text, grad in ((2.1, f"a = 3x = {fmt(a)}", da), (-0.5, f"b = x² = {fmt(b)}", db)):
        middle = _node(ax, (2.3, y), text, f"∂ = {fmt(grad)}")
        _link(ax, source, middle)
        _link(ax, middle, total)
    ax.set_title("a value used twice: the gradients add", fontsize=11)


def draw_gates(path) -> None:
    fig, axes = figure(14, 3.6, ncols=4, gridspec_kw={"width_ratios": [1, 1, 1, 1.35]})
    for ax, case in zip(axes[:3], _gate_numbers(), strict=True):
        _gate(ax, *case)
    _fan_out(axes[3])
    for ax in axes:
        ax.set_xlim(-1.4, 6.2)
        ax.set_ylim(-1.4, 2.6)
        ax.axis("off")
    fig.suptitle("How a gradient passes a gate (blue: values; red: the gradient of the "
                 "final output, given as ∂ at z)", fontsize=11, y=1.03)
    save(fig, path)
