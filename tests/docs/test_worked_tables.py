"""The worked-example tables of the derivation pages, number by number, against the code.

Each table is parsed from its Markdown page and every number in it is compared, to the
digits it is shown with, with what handgrad computes now: a number written with d decimals
(or d decimals of mantissa, ``7.9985868e-4``) must be the code's value rounded so, and a
whole number written without a decimal point must be exact. Independent witnesses are
used where the page claims one: torch autograd for the logistic neuron's gradients, the
arithmetic of seed 003's two slips written out here.

The tables: backprop.md's worked example, activations.md's "All of them at z = -1, 0, 1",
logistic_neuron.md's extremes (the perceptron's is in test_teaching_pages.py, the cost
table in tests/teach/test_backward_cost.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from handgrad import handmade
from handgrad.compare.teach import seeds
from handgrad.compare.teach.derive import derive
from handgrad.handmade.activations import get_activation

PAGES = Path(__file__).resolve().parents[2] / "docs" / "derivations"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def table(text: str, header: str) -> list[list[str]]:
    """The rows (cells, stripped) of the Markdown table whose header row starts ``header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def numbers(cell: str) -> list[str]:
    """The numbers written in a cell, with the page's minus sign (U+2212) read as '-' and
    the labels "row 1:" left out."""
    cell = re.sub(r"row \d+:", "", cell)
    return NUMBER.findall(cell.replace("\u2212", "-").replace("**", ""))


def shown_as(value: float, written: str) -> bool:
    """True when ``value`` rounded to the digits of ``written`` is ``written``."""
    mantissa, _, exponent = written.partition("e")
    if exponent:
        decimals = len(mantissa.partition(".")[2])
        mine, _, power = f"{value:.{decimals}e}".partition("e")
        return float(mine) == float(mantissa) and int(power) == int(exponent)
    if "." not in written:
        return value == float(written)
    decimals = len(written.partition(".")[2])
    return f"{value:.{decimals}f}".replace("-0.", "0.") == written.replace("-0.", "0.") \
        or float(f"{value:.{decimals}f}") == float(written)


def mismatches(cells: list[str], values) -> list[str]:
    """The numbers of ``cells`` that the ``values`` (flattened, in order) do not round to."""
    written = [n for cell in cells for n in numbers(cell)]
    values = [float(v) for v in np.ravel(values)]
    if len(written) != len(values):
        return [f"{len(written)} numbers written, {len(values)} computed: {cells}"]
    return [f"{w} (the code gives {v!r})" for w, v in zip(written, values, strict=True)
            if not shown_as(v, w)]


# --- backprop.md: seed 003's step ------------------------------------------------------

def seed003_values() -> dict[str, np.ndarray]:
    """Each row of the worked example, by the start of its label, from derive("seed003");
    the slip row from seed 003's two mistakes written out here."""
    steps = {s.label.split(" =")[0].split(" before")[0].split(" after")[0]: s.hand
             for s in derive("seed003").steps}
    after = {s.label.split(" after")[0]: s.hand for s in derive("seed003").steps
             if " after one step" in s.label}
    A0 = steps["A_0"]
    W2 = np.array(seeds.SEED003_W2)
    W2_early = W2 - seeds.SEED003_LR * steps["dW_1"]  # updated before the hidden layer reads
    slipped = steps["δ_1"] @ W2_early  # and no o_j (1 - o_j)
    X = np.array([seeds.SEED003_INPUT])
    return {
        "$\\mathrm{net}_j$": steps["Z_0"], "$o_j$": A0, "$o_j(1 - o_j)$": A0 * (1 - A0),
        "$\\mathrm{net}_l$": steps["Z_1"], "$o_l$": steps["A_1"], "$e = ": steps["L"],
        "$\\delta_l = ": steps["δ_1"], "$\\sum_l \\delta_l w_{jl}$": steps["δ_1"] @ W2,
        "$\\delta_j$": steps["δ_0"], "$\\Delta w_{jl}": steps["dW_1"],
        "$\\Delta w_{ij}": steps["dW_0"],
        "updated W2": after["layers.1.weight"], "updated b2": after["layers.1.bias"],
        "updated W1 (": after["layers.0.weight"], "updated b1": after["layers.0.bias"],
        "updated W1 with both": np.array(seeds.SEED003_W1)
        - seeds.SEED003_LR * slipped.T @ X,
    }


def check_backprop(text: str) -> list[str]:
    rows = table(text, "| quantity | value |")
    values = seed003_values()
    problems = []
    for label, value in values.items():
        found = [row for row in rows if row[0].startswith(label)]
        assert len(found) == 1, f"backprop.md: no single row {label!r}"
        problems += [f"{label}: {m}" for m in mismatches(found[0][1:], value)]
    assert len(rows) == len(values), "a row of the table that this test does not check"
    return problems


def test_backprop_worked_example_is_what_derive_computes():
    assert check_backprop((PAGES / "backprop.md").read_text()) == []


def test_backprop_slip_factors_are_the_tables():
    """"With both of seed 003's mistakes, the hidden weights move 585 to 1251 times
    further": the two rows' moves, slipped over right, rounded."""
    values = seed003_values()
    W1 = np.array(seeds.SEED003_W1)
    ratio = (values["updated W1 with both"] - W1) / (values["updated W1 ("] - W1)
    low, high = sorted(round(float(r)) for r in ratio[:, 0])
    # one factor per row; each move (~1e-5) is a difference of weights (~1), so it carries
    # about 1e-16 / 1e-5 = 1e-11 relative rounding: 1e-9 leaves a margin of 100
    np.testing.assert_allclose(ratio, ratio[:, :1] * np.ones((1, 3)), rtol=1e-9)
    text = " ".join((PAGES / "backprop.md").read_text().split())
    assert f"weights move {low} to {high} times further" in text
    assert f"about {high} and {low} times too large" in text


# --- activations.md: every activation at -1, 0, 1 ----------------------------------------

def check_activations(text: str) -> list[str]:
    rows = table(text, "| activation | $f(-1)$")
    z = np.array([-1.0, 0.0, 1.0])
    problems = []
    for row in rows:
        f = get_activation(row[0])
        a = f.forward(z)
        problems += [f"{row[0]} f: {m}" for m in mismatches(row[1:4], a)]
        if row[0] == "step":
            assert row[4:] == ["—"] * 3  # no derivative: handgrad refuses it
        else:
            problems += [f"{row[0]} f': {m}" for m in mismatches(row[4:], f.derivative(z, a))]
    assert len(rows) == 10
    return problems


def test_activations_table_is_what_the_code_computes():
    assert check_activations((PAGES / "activations.md").read_text()) == []


# --- logistic_neuron.md: the extremes ------------------------------------------------------

def extreme_row(z: float, y: float) -> list[float]:
    """loss, the closed-form db (LogisticNeuron), MLP's db, torch autograd's db."""
    def set_w1_b0(model):
        model.params["layers.0.weight"][...] = 1.0
        model.params["layers.0.bias"][...] = 0.0
        return model
    X = np.array([[z]])
    Y = np.array([y])
    loss, closed = set_w1_b0(handmade.LogisticNeuron(1)).loss_and_grads(X, Y)
    mlp = set_w1_b0(handmade.MLP([1, 1], ["sigmoid"], "bce")).loss_and_grads(X, Y)[1]
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    a = torch.sigmoid(torch.tensor([z], dtype=torch.float64) + b)
    t_loss = torch.nn.functional.binary_cross_entropy(a, torch.tensor([y], dtype=torch.float64))
    t_loss.backward()
    assert mlp["layers.0.bias"][0] == pytest.approx(b.grad.item(), rel=1e-12, abs=1e-300)
    assert loss == pytest.approx(t_loss.item(), rel=1e-15)  # "loss (both)"
    return [z, y, loss, closed["layers.0.bias"][0], b.grad.item()]


def check_logistic(text: str) -> list[str]:
    rows = table(text, "| $z$ | $y$ | loss (both)")
    problems = []
    for row in rows:
        z, y = (float(numbers(cell)[0]) for cell in row[:2])
        cells = [row[0], row[1], row[2].split("(")[0], row[3], row[4]]
        problems += [f"z = {z:g}: {m}" for m in mismatches(cells, extreme_row(z, y))]
        if "true value is" in row[2]:  # log(1 + e^z) itself, unclamped
            true = float(numbers(row[2].split("true value is")[1])[0])
            assert np.logaddexp(0.0, z) == true
    assert len(rows) == 4
    return problems


def test_logistic_extremes_table_is_what_the_code_and_torch_compute():
    assert check_logistic((PAGES / "logistic_neuron.md").read_text()) == []


# --- a planted wrong digit in each ---------------------------------------------------------

@pytest.mark.parametrize(("page", "good", "bad", "check"), [
    ("backprop.md", "0.55009145", "0.55009154", check_backprop),
    ("backprop.md", "−0.41939870", "−0.41939880", check_backprop),
    ("activations.md", "0.196612", "0.196621", check_activations),
    ("logistic_neuron.md", "0.093481", "0.093418", check_logistic),
], ids=["o_l", "slip row", "sigmoid'", "torch db"])
def test_a_planted_wrong_digit_is_found(page, good, bad, check):
    text = (PAGES / page).read_text()
    assert good in text
    problems = check(text.replace(good, bad, 1))
    assert any(bad.replace("\u2212", "-") in p for p in problems), problems
