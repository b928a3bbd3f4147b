"""Curves: every activation with its derivative, binary cross-entropy's -log, and the
perceptron loss with its subgradients at the corner.

The activation values and derivatives are ``handmade``'s own records; the loss values are
``handmade``'s losses, so a picture shows what the code computes.
"""

from __future__ import annotations

import numpy as np

from handgrad import handmade
from handgrad.handmade.activations import get_activation
from tools.pictures.common import GRAD, MUTED, VALUE, figure, save

SHOWN = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "silu", "gelu"]


def draw_activations(path) -> None:
    z = np.linspace(-4.0, 4.0, 801)  # 0 is a grid point: the kinks show their chosen value
    fig, axes = figure(12, 5.6, nrows=2, ncols=4, sharex=True)
    for ax, name in zip(axes.ravel(), SHOWN, strict=True):
        act = get_activation(name)
        a = act.forward(z)
        slope = act.derivative(z, a)
        ax.plot(z, a, color=VALUE, lw=2, label="f(z)")
        shown = slope.copy()
        shown[1:][np.abs(np.diff(slope)) > 0.5] = np.nan  # no vertical line at a jump
        ax.plot(z, shown, color=GRAD, lw=1.6, ls="--", label="f′(z)")
        if act.kink is not None and -4 <= act.kink <= 4:
            at = np.array([act.kink])
            ax.plot(at, act.derivative(at, act.forward(at)), "o", color=GRAD, ms=5)
        ax.axhline(0, color=MUTED, lw=0.6)
        ax.axvline(0, color=MUTED, lw=0.6)
        ax.set_title(name)
        ax.set_ylim(-1.6, 4.2 if name in ("relu", "leaky_relu", "softplus", "elu", "silu",
                                          "gelu") else 1.6)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(loc="upper left", fontsize=9)
    for ax in axes[1]:
        ax.set_xlabel("z")
    fig.suptitle("Activations (solid) and their derivatives (dashed), as handmade computes "
                 "them; a dot marks the value taken at a kink", fontsize=11)
    fig.tight_layout()
    save(fig, path)


def draw_bce(path) -> None:
    a = np.linspace(0.001, 0.999, 999)
    bce = handmade.get_loss("bce")
    fig, ax = figure(6.4, 3.8)
    for label, color, style in ((1.0, VALUE, "-"), (0.0, GRAD, "--")):
        loss = [bce.value(np.array([[p]]), np.array([label]), "mean") for p in a]
        ax.plot(a, loss, color=color, ls=style, lw=2,
                label=f"y = {label:g}:  −log({'a' if label else '1 − a'})")
    lines = ["a class-1 sample (dots):"]
    for p in (0.9, 0.5, 0.1, 0.01):
        value = bce.value(np.array([[p]]), np.array([1.0]), "mean")
        ax.plot([p], [value], "o", color=VALUE)
        lines.append(f"a = {p:g}  →  loss {value:.3f}")
    ax.text(0.55, 3.9, "\n".join(lines), fontsize=9, color=VALUE, va="top",
            bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#cccccc"})
    ax.set_xlabel("a, the predicted probability of class 1")
    ax.set_ylabel("loss of one sample")
    ax.set_ylim(0, 5)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center")
    ax.set_title("Binary cross-entropy: −log of the probability given to the true label")
    save(fig, path)


def draw_perceptron(path) -> None:
    fig, (left, right) = figure(11, 3.9, ncols=2)
    z = np.linspace(-3, 3, 601)
    loss = handmade.get_loss("perceptron")
    values = [loss.value(np.array([[v]]), np.array([1.0]), "mean") for v in z]
    left.plot(z, values, color=VALUE, lw=2.5, label="ℓ = max(0, −s z),  s = +1")
    for slope in (-1.0, -0.5, 0.0):
        left.plot(z, slope * z, color=GRAD, lw=1, ls="--", alpha=0.8)
    left.annotate("subgradients at z = 0:\nany slope in [−1, 0]\n(handgrad takes 0,\n"
                  "the classic rule −1)", (0, 0), xytext=(0.5, 1.6), fontsize=9,
                  color=GRAD, arrowprops={"arrowstyle": "->", "color": GRAD})
    left.set_ylim(-0.8, 3.2)
    left.set_xlabel("z")
    left.set_title("The perceptron loss of a class-1 sample")
    left.legend(loc="upper right", fontsize=9)
    left.grid(alpha=0.3)
    _perceptron_step(right)
    fig.tight_layout()
    save(fig, path)


def _perceptron_step(ax) -> None:
    """perceptron.md's worked example: the boundary z = 0 before and after one step."""
    from handgrad.compare.teach.bugs import ClassicPerceptron, perceptron_example
    from handgrad.compare.teach.seeds import PERCEPTRON_LR

    model, X, y = perceptron_example()
    before = model.params["layers.0.weight"][0].copy(), model.params["layers.0.bias"][0]
    lines = [("before", before, MUTED, ":")]
    for name, cls, color in (("handgrad", handmade.Perceptron, VALUE),
                             ("classic rule", ClassicPerceptron, GRAD)):
        model, X, y = perceptron_example(cls)
        model.update(X, y, lr=PERCEPTRON_LR)
        w = model.params["layers.0.weight"][0]
        lines.append((name, (w.copy(), model.params["layers.0.bias"][0]), color, "-"))
    x1 = np.linspace(-1, 4, 2)
    for name, (w, b), color, style in lines:
        ax.plot(x1, -(w[0] * x1 + b) / w[1], color=color, ls=style, lw=2,
                label=f"{name}: W = ({w[0]:g}, {w[1]:g}), b = {b:g}")
    ax.plot(X[:, 0], X[:, 1], "o", color="black", ms=7)
    for (a, b), text in zip(X, ("x₁ (z = 0)", "x₂ (z = −2)"), strict=True):
        ax.annotate(text, (a, b), xytext=(6, -12), textcoords="offset points", fontsize=9)
    ax.set_xlim(-1, 4)
    ax.set_ylim(-1, 5)
    ax.set_xlabel("feature 1")
    ax.set_ylabel("feature 2")
    ax.set_title(f"The boundary z = 0 before and after one step, η = {PERCEPTRON_LR:g}")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
