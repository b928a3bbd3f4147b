"""Descent on a loss surface: the logistic neuron's bowl, the linear neuron's quadratic
with a step size below and above its limit, and the optimizers' paths.

Each path is taken by ``handmade`` itself (its neurons' gradients, ``sgd_step``, ``SGD``
and ``Adam``); the contours are the same losses evaluated on a grid.
"""

from __future__ import annotations

import numpy as np

from handgrad import handmade
from handgrad.compare.datasets import load
from tools.pictures.common import GRAD, MUTED, VALUE, figure, save


def _path(neuron, X, y, lr: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """``(points (steps + 1, 2) of (w, b), losses (steps + 1,))`` of plain gradient descent."""
    points, losses = [], []
    for _ in range(steps + 1):
        loss, grads = neuron.loss_and_grads(X, y)
        points.append([neuron.params["layers.0.weight"][0, 0], neuron.params["layers.0.bias"][0]])
        losses.append(loss)
        handmade.sgd_step(neuron.params, grads, lr)
    return np.array(points), np.array(losses)


def _surface(neuron, X, y, ws, bs) -> np.ndarray:
    """The loss on the grid ``ws`` x ``bs`` (rows: b), the neuron's parameters restored."""
    saved = {k: v.copy() for k, v in neuron.params.items()}
    grid = np.empty((len(bs), len(ws)))
    for i, b in enumerate(bs):
        for j, w in enumerate(ws):
            neuron.params["layers.0.weight"][...] = w
            neuron.params["layers.0.bias"][...] = b
            grid[i, j] = neuron.loss_and_grads(X, y)[0]
    for k, v in saved.items():
        neuron.params[k][...] = v
    return grid


def _start(neuron, w: float, b: float) -> None:
    neuron.params["layers.0.weight"][...] = w
    neuron.params["layers.0.bias"][...] = b


def draw_logistic_bowl(path) -> None:
    data = load("cats_dogs")
    X, y = data.X_train[:, :1], data.y_train  # one feature: the loss is a surface over (w, b)
    neuron = handmade.LogisticNeuron(1)
    ws, bs = np.linspace(-3, 9.5, 126), np.linspace(-5, 4, 121)
    grid = _surface(neuron, X, y, ws, bs)
    _start(neuron, -2.5, 3.0)
    points, losses = _path(neuron, X, y, lr=5.0, steps=200)
    bottom = _path(neuron, X, y, lr=5.0, steps=3000)[0][-1]  # 3000 more: the minimum
    fig, (left, right) = figure(11, 4.2, ncols=2, gridspec_kw={"width_ratios": [1.25, 1]})
    shown = left.contour(ws, bs, grid, levels=np.quantile(grid, np.linspace(0.01, 0.9, 14)),
                         cmap="Blues_r", linewidths=1)
    left.clabel(shown, fontsize=7, fmt="%.2f")
    left.plot(points[:, 0], points[:, 1], "-", color=GRAD, lw=1.2)
    left.plot(points[::10, 0], points[::10, 1], "o", color=GRAD, ms=3.5,
              label="gradient descent, η = 5: 200 steps (a dot every 10)")
    left.plot(*points[0], "s", color=GRAD, ms=7)
    left.plot(*bottom, "*", color=VALUE, ms=12, label="the bottom of the bowl")
    left.set_xlabel("w")
    left.set_ylabel("b")
    left.legend(loc="lower right", fontsize=8)
    left.set_title("Mean BCE of a logistic neuron over (w, b): one bowl")
    right.plot(losses, "-", color=VALUE, lw=1.5)
    right.axhline(losses[-1], color=MUTED, lw=0.8, ls=":")
    right.set_xlabel("step")
    right.set_ylabel("loss before the step")
    right.set_title("Every step goes down")
    right.grid(alpha=0.3)
    fig.suptitle("cats_dogs, first feature only (120 samples)", fontsize=9, color=MUTED, y=0.02)
    fig.tight_layout()
    save(fig, path)


def draw_linear_regression(path) -> None:
    """The example of linear_regression.md: x = 0..3, y = (1, 3, 2, 5), η = 0.2 and 0.25."""
    X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([1.0, 3.0, 2.0, 5.0])
    neuron = handmade.LinearNeuron(1)
    ws, bs = np.linspace(-1.2, 3.4, 141), np.linspace(-1.4, 3.2, 141)
    grid = _surface(neuron, X, y, ws, bs)
    best = np.linalg.lstsq(np.hstack([X, np.ones_like(X)]), y, rcond=None)[0]  # (w, b)
    fig, axes = figure(11, 4.3, ncols=2)
    for ax, lr, steps, note in ((axes[0], 0.2, 30, "η = 0.2 < 2/λmax = 0.238: converges"),
                                (axes[1], 0.25, 8, "η = 0.25 > 0.238: each step overshoots "
                                                   "further")):
        _start(neuron, 0.0, 0.0)
        points, _ = _path(neuron, X, y, lr=lr, steps=steps)
        ax.contour(ws, bs, grid, levels=np.geomspace(0.6, 25, 12), cmap="Blues_r",
                   linewidths=1)
        ax.plot(points[:, 0], points[:, 1], "o-", color=GRAD, ms=3, lw=1.1)
        ax.plot(*best, "*", color=VALUE, ms=12,
                label=f"the minimum (lstsq): w = {best[0]:.3g}, b = {best[1]:.3g}")
        ax.set_xlim(ws[0], ws[-1])
        ax.set_ylim(bs[0], bs[-1])
        ax.set_xlabel("w")
        ax.set_ylabel("b")
        ax.set_title(note, fontsize=10)
        ax.legend(loc="lower left", fontsize=8)
    fig.suptitle("Gradient descent on the mean squared error, from θ = 0", fontsize=11)
    fig.tight_layout()
    save(fig, path)


# an elongated bowl, L = ½ θᵀ H θ, with H's eigenvalues 1 and 20 along the axes
BOWL = np.diag([1.0, 20.0])
START = np.array([-4.0, 1.5])


def _optimizer_path(make, steps: int = 60) -> np.ndarray:
    theta = {"θ": START.copy()}
    optimizer = make(theta)
    points = [theta["θ"].copy()]
    for _ in range(steps):
        optimizer.step({"θ": BOWL @ theta["θ"]})  # the gradient of ½ θᵀ H θ
        points.append(theta["θ"].copy())
    return np.array(points)


def draw_optimizers(path) -> None:
    runs = {
        "SGD, η = 0.09": lambda p: handmade.SGD(p, lr=0.09),
        "momentum μ = 0.7, η = 0.03": lambda p: handmade.SGD(p, lr=0.03, momentum=0.7),
        "Nesterov μ = 0.7, η = 0.03": lambda p: handmade.SGD(p, lr=0.03, momentum=0.7,
                                                             nesterov=True),
        "Adam, η = 0.3": lambda p: handmade.Adam(p, lr=0.3),
    }
    t1, t2 = np.meshgrid(np.linspace(-4.5, 1.5, 121), np.linspace(-2, 2, 121))
    loss = 0.5 * (BOWL[0, 0] * t1**2 + BOWL[1, 1] * t2**2)
    fig, axes = figure(12, 5.4, nrows=2, ncols=2, sharex=True, sharey=True)
    for ax, (name, make), color in zip(axes.ravel(), runs.items(),
                                       (VALUE, GRAD, "#2e7d32", "#6a1b9a"), strict=True):
        points = _optimizer_path(make)
        ax.contour(t1, t2, loss, levels=np.geomspace(0.05, 40, 10), colors=MUTED,
                   linewidths=0.6)
        ax.plot(points[:, 0], points[:, 1], "o-", color=color, ms=2.5, lw=1)
        ax.plot(0, 0, "*", color="black", ms=10)
        final = 0.5 * points[-1] @ BOWL @ points[-1]
        ax.set_title(f"{name}: loss {final:.1e} after 60 steps", fontsize=10)
    for ax in axes[1]:
        ax.set_xlabel("θ₁ (curvature 1)")
    for ax in axes[:, 0]:
        ax.set_ylabel("θ₂ (curvature 20)")
    fig.suptitle("handmade's optimizers on L = ½(θ₁² + 20 θ₂²), from (−4, 1.5)", fontsize=11)
    fig.tight_layout()
    save(fig, path)
