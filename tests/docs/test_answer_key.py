"""The answer key (docs/answers/, the instructor's copy): one file per derivation page with
exercises, an answer per exercise, kept off the site and the PDF, and every number it
states checked here against handgrad's code or an independent computation (NumPy written
out in the test, torch autograd, a closed form).
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from handgrad import handmade
from handgrad.compare.datasets import load
from handgrad.compare.teach.derive import derive
from handgrad.handmade.activations import get_activation

ROOT = Path(__file__).resolve().parents[2]
DERIVATIONS = ROOT / "docs" / "derivations"
ANSWERS = ROOT / "docs" / "answers"
PAGES = sorted(p.name for p in DERIVATIONS.glob("*.md") if p.name != "README.md")


def answer(page: str, number: int) -> str:
    """Answer ``number`` (1-based) of the key to ``page``, its lines joined by spaces."""
    text = (ANSWERS / page).read_text()
    items = re.split(r"^\d+\. ", text, flags=re.M)[1:]
    return " ".join(items[number - 1].split())


def exercises(path: Path) -> int:
    text = path.read_text()
    return len(re.findall(r"^\d+\. ", text[text.index("## Exercises"):], flags=re.M))


@pytest.mark.parametrize("page", PAGES)
def test_every_exercise_has_an_answer(page):
    key = ANSWERS / page
    assert key.is_file(), f"no answer key docs/answers/{page}"
    text = key.read_text()
    assert len(re.findall(r"^\d+\. ", text, flags=re.M)) == exercises(DERIVATIONS / page)


def test_the_key_is_kept_off_the_site():
    """docs/conf.py excludes answers/ from the site (and so from the PDF printed from it)."""
    namespace: dict = {}
    exec((ROOT / "docs" / "conf.py").read_text(), namespace)
    assert "answers" in namespace["exclude_patterns"]
    assert "answers/**" in namespace["exclude_patterns"]


def test_activations_answers():
    sigmoid = get_activation("sigmoid")
    z = np.linspace(-3, 3, 13)
    a = np.tanh(z)  # exercise 1: 4 sigma'(2z) = 1 - tanh^2, and handgrad's tanh agrees
    s = 1.0 / (1.0 + np.exp(-2 * z))
    # both sides are at most 1 and 1 - s cancels: a few units of eps (2.2e-16), absolute
    np.testing.assert_allclose(4 * s * (1 - s), 1 - a**2, rtol=0, atol=1e-15)
    np.testing.assert_allclose(get_activation("tanh").derivative(z, a), 1 - a**2, rtol=0,
                               atol=1e-15)
    elu = get_activation("elu")
    zneg = np.linspace(-5, -0.1, 9)  # exercise 2: elu' = a + 1 for z < 0
    np.testing.assert_allclose(elu.derivative(zneg, elu.forward(zneg)), elu.forward(zneg) + 1,
                               rtol=1e-14)  # float64 rounding
    assert "$z = 53 \\ln 2 \\approx 36.7368$" in answer("activations.md", 3)
    edge = 53 * math.log(2)  # exercise 3: the first z where sigma' is exactly 0

    def derivative(x):
        point = np.array([x])
        return float(sigmoid.derivative(point, sigmoid.forward(point))[0])
    assert round(edge, 4) == 36.7368
    assert derivative(edge + 1e-9) == 0.0 and derivative(edge - 1e-6) > 0.0


def test_backprop_answers():
    steps = {s.label.split(" =")[0]: s.hand for s in derive("seed003").steps}
    text = answer("backprop.md", 1)
    for value in steps["dW_0"].ravel():
        mantissa, exponent = f"{value:.7e}".split("e")
        assert f"${mantissa} \\times 10^{{{int(exponent)}}}$" in text, value
    net = handmade.MLP([3, 2, 2], ["sigmoid", "sigmoid"], "half_mse", seed=0)  # exercise 2
    X = np.array([[1.0, 2.0, 3.0]])
    T = np.array([[1.0, 0.0]])
    net.loss_and_grads(X, T)
    record = net.intermediates
    A0 = record[0].A
    o = record[1].A
    delta_out = (o - T) * o * (1 - o) / 2  # the mean over the two outputs
    W1 = net.params["layers.1.weight"]
    by_hand = A0 * (1 - A0) * np.array([[sum(delta_out[0, out] * W1[out, j] for out in range(2))
                                         for j in range(2)]])
    np.testing.assert_allclose(record[0].delta, by_hand, rtol=1e-12)  # float64 rounding


def test_layout_answers():
    steps = {s.label.split(" =")[0]: s.hand for s in derive("neuron").steps}
    assert f"$db = {steps['db_0'][0]:.6f}$" in answer("layout.md", 1)
    A = np.zeros((1, 2))
    Y = np.zeros((3, 1))
    assert (A - Y).shape == (3, 2)
    assert "to $(3, 2)$" in answer("layout.md", 3)


def linear_data():
    return np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([1.0, 3.0, 2.0, 5.0])


def train_linear(lr: float, steps: int = 200) -> np.ndarray:
    X, y = linear_data()
    neuron = handmade.LinearNeuron(1)
    for params in neuron.params.values():
        params[...] = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            _, grads = neuron.loss_and_grads(X, y)
            handmade.sgd_step(neuron.params, grads, lr)
    return np.array([neuron.params["layers.0.weight"][0, 0], neuron.params["layers.0.bias"][0]])


def test_linear_regression_answers():
    X, y = linear_data()
    x = X[:, 0]
    sums = (x.sum(), (x**2).sum(), y.sum(), (x * y).sum())
    assert sums == (6.0, 14.0, 11.0, 22.0)
    text = answer("linear_regression.md", 1)
    assert "$14 w + 6 b = 22$ and $6 w + 4 b = 11$" in text
    w, b = np.linalg.solve([[14.0, 6.0], [6.0, 4.0]], [22.0, 11.0])
    assert (round(w, 10), round(b, 10)) == (1.1, 1.1) and "$w = 1.1$ and $b = 1.1$" in text
    design = np.c_[x, np.ones(4)]
    mse_bound = 2 / np.linalg.eigvalsh(2 / 4 * design.T @ design).max()
    half_bound = 2 / np.linalg.eigvalsh(1 / 4 * design.T @ design).max()
    assert f"from ${mse_bound:.3f}$ to ${half_bound:.3f}$" in answer("linear_regression.md", 2)
    np.testing.assert_allclose(train_linear(0.2), [1.1, 1.1], atol=1e-6)  # the answer's 1e-6
    assert not np.all(np.abs(train_linear(0.25)) < 1e3)  # grows without bound


def test_logistic_neuron_answers():
    neuron = handmade.LogisticNeuron(2)
    for params in neuron.params.values():
        params[...] = 0.0
    loss, grads = neuron.loss_and_grads(np.array([[1.0, 2.0]]), np.array([1.0]))
    text = answer("logistic_neuron.md", 1)
    assert f"\\approx {loss:.6f}$" in text and f"{math.log(2):.6f}" in text
    assert "$dW = dz\\, x = (-0.5, -1)$ and $db = -0.5$" in text
    np.testing.assert_array_equal(grads["layers.0.weight"], [[-0.5, -1.0]])
    data = load("seed000")
    sums = handmade.LogisticNeuron(3, reduction="sum").loss_and_grads(data.X_train,
                                                                       data.y_train)[1]
    means = handmade.LogisticNeuron(3).loss_and_grads(data.X_train, data.y_train)[1]
    text = answer("logistic_neuron.md", 2)
    assert f"$db = {sums['layers.0.bias'][0]:.6f}$" in text
    assert f"against ${means['layers.0.bias'][0]:.6f}$" in text
    np.testing.assert_allclose(sums["layers.0.bias"], 2 * means["layers.0.bias"], rtol=1e-15)


def test_optimizers_answers():
    params = {"w": np.zeros(1)}
    sgd = handmade.SGD(params, lr=1.0, momentum=0.9)  # with lr 1, each move is the buffer
    limit = 1 / (1 - 0.9)
    moves = []
    for _ in range(100):
        before = params["w"][0]
        sgd.step({"w": np.ones(1)})
        moves.append(before - params["w"][0])
    reached = next(t for t, move in enumerate(moves, 1) if move > 0.99 * limit)
    assert reached == next(t for t in range(1, 100) if 0.9**t < 0.01) == 44
    assert "after 44 steps" in answer("optimizers.md", 1)
    for g in (1e-3, 1e3):  # exercise 2: Adam's first step
        params = {"w": np.zeros(1)}
        handmade.Adam(params, lr=1.0).step({"w": np.array([g])})
        np.testing.assert_allclose(params["w"], [-g / (abs(g) + 1e-8)], rtol=1e-12)
    params = {"w": np.zeros(1)}
    handmade.Adam(params, lr=1.0).step({"w": np.array([1e-3])})
    assert f"$-{-params['w'][0]:.5f} \\eta$" in answer("optimizers.md", 2)


def test_perceptron_answers():
    text = answer("perceptron.md", 3)
    W = torch.tensor([[1.0, -1.0]], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    X = torch.tensor([[2.0, 2.0], [1.0, 3.0]], dtype=torch.float64)
    s = torch.tensor([1.0, 1.0], dtype=torch.float64)
    z = (X @ W.T + b)[:, 0]
    torch.clamp(1 - s * z, min=0).mean().backward()  # the margin-1 hinge, by autograd
    with torch.no_grad():
        new_w = (W - 0.5 * W.grad)[0].tolist()
        new_b = (b - 0.5 * b.grad).item()
    assert f"= ({new_w[0]}, {new_w[1]})$" in text and f"{new_b}$" in text
    classic_zero = handmade.Perceptron(2)  # exercise 2: class 0 on the boundary, no move
    for params in classic_zero.params.values():
        params[...] = 0.0
    _, grads = classic_zero.loss_and_grads(np.array([[1.0, 1.0]]), np.array([0.0]))
    assert not np.any(grads["layers.0.weight"]) and answer("perceptron.md", 2).startswith(
        "Neither")


def test_softmax_answers():
    z = np.array([2.0, 1.0, 0.1])
    p = np.exp(z) / np.exp(z).sum()
    text = answer("softmax_cross_entropy.md", 1)
    assert f"$p = ({p[0]:.3f}, {p[1]:.3f}, " in text and f"{p[2]:.3f})$" in text
    assert f"= {-np.log(p[0]):.3f}$" in text
    big = np.array([1000.0, 1001.0])
    shifted = np.exp(big - big.max()) / np.exp(big - big.max()).sum()
    text = answer("softmax_cross_entropy.md", 3)
    assert f"= ({shifted[0]:.3f}, {shifted[1]:.3f})$" in text
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.all(np.isnan(np.exp(big) / np.exp(big).sum()))


@pytest.mark.parametrize(("planted", "check"), [
    ("0.417|0.418", test_softmax_answers), ("-0.483986|-0.483968", test_layout_answers),
    ("36.7368|36.7386", test_activations_answers)], ids=["softmax loss", "layout db", "edge"])
def test_a_planted_wrong_answer_fails(planted, check, tmp_path, monkeypatch):
    good, bad = planted.split("|")
    copy = tmp_path / "answers"
    copy.mkdir()
    for page in ANSWERS.glob("*.md"):
        (copy / page.name).write_text(page.read_text().replace(good, bad))
    monkeypatch.setattr(sys.modules[__name__], "ANSWERS", copy)
    with pytest.raises(AssertionError):
        check()
