"""The cost table of docs/derivations/backprop.md ("What one backward pass costs"), number
by number: the parameter counts against ``count_parameters`` and arithmetic written out
here, the multiply-adds of one forward and one backward pass against torch's own count
(``torch.utils.flop_counter.FlopCounterMode``, two floating-point operations per
multiply-add), and the ratio to the two decimals shown.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from handgrad.compare.teach.count import count_parameters

PAGE = Path(__file__).resolve().parents[2] / "docs" / "derivations" / "backprop.md"
SECTION = "### What one backward pass costs"
NETWORKS = {"seed 003's 3-2-1": (3, 2, 1), "seed 004's 1024-500-10": (1024, 500, 10)}
COLUMNS = ("parameters", "finite differences", "forward", "backward", "ratio")


def cost_rows(text: str) -> dict[str, list[str]]:
    """The table of the section: network -> its cells after the first, as written."""
    start = text.index(SECTION)
    end = text.index("\n#", start + len(SECTION))
    rows = {}
    for line in text[start:end].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] in NETWORKS:
            rows[cells[0]] = cells[1:]
    return rows


def torch_multiply_adds(sizes) -> tuple[int, int]:
    """Multiply-adds of one forward and one backward pass of a sigmoid MLP on one sample,
    counted by torch (its count is in floating-point operations, 2 per multiply-add)."""
    layers = [torch.nn.Linear(a, b, dtype=torch.float64) for a, b in zip(sizes, sizes[1:])]
    x = torch.ones(1, sizes[0], dtype=torch.float64)
    with FlopCounterMode(display=False) as forward:
        out = x
        for layer in layers:
            out = torch.sigmoid(layer(out))
        loss = out.sum()
    with FlopCounterMode(display=False) as backward:
        loss.backward()
    return forward.get_total_flops() // 2, backward.get_total_flops() // 2


def expected(sizes) -> list[str]:
    """The five cells of a row, each from its own witness, written as the page writes them."""
    pairs = list(zip(sizes, sizes[1:]))
    by_hand = sum(n_in * n_out + n_out for n_in, n_out in pairs)
    by_code = sum(r["weights"] + r["biases"] for r in count_parameters(list(sizes)))
    assert by_hand == by_code
    forward, backward = torch_multiply_adds(sizes)
    assert forward == sum(n_in * n_out for n_in, n_out in pairs)
    # dW for every layer, and the gradient for the layer below for all but the first
    assert backward == forward + sum(n_in * n_out for n_in, n_out in pairs[1:])
    return [str(by_hand), str(2 * by_hand), str(forward), str(backward),
            f"{backward / forward:.2f}"]


def check_table(text: str) -> None:
    """AssertionError naming the first cell of the cost table in ``text`` that is wrong."""
    rows = cost_rows(text)
    assert sorted(rows) == sorted(NETWORKS), rows
    for name, sizes in NETWORKS.items():
        for column, shown, right in zip(COLUMNS, rows[name], expected(sizes), strict=True):
            assert shown == right, f"{name}, {column}: the page says {shown}, it is {right}"


def test_the_cost_table_matches_the_counts_and_torch():
    check_table(PAGE.read_text())


def check_prose(text: str) -> None:
    """Every number in the section's text below the table is one of the table's."""
    start = text.index(SECTION)
    body = text[start:text.index("\n#", start + len(SECTION))]
    after = body[body.rindex("|") + 1:].split("Test:")[0]
    table = {cell for row in cost_rows(text).values() for cell in row}
    allowed = table | {"003", "004", "1024", "500", "10", "3", "2", "1"}
    stated = re.findall(r"\d+(?:\.\d+)?", after)
    assert stated and set(stated) <= allowed, f"numbers not in the table: {set(stated) - allowed}"


def test_the_prose_states_only_the_tables_numbers():
    check_prose(PAGE.read_text())


def test_a_planted_number_in_the_prose_is_caught():
    text = PAGE.read_text()
    planted = text.replace("differences cost 22\nforward", "differences cost 24\nforward")
    assert planted != text
    with pytest.raises(AssertionError, match="not in the table: {'24'}"):
        check_prose(planted)


@pytest.mark.parametrize("slip", ["22|21", "1.25|1.26", "517510|517500"],
                         ids=["2P", "ratio", "P"])
def test_a_planted_wrong_number_is_caught(slip):
    good, bad = slip.split("|")
    text = PAGE.read_text()
    start = text.index(SECTION)
    planted = text[:start] + text[start:].replace(f"| {good} |", f"| {bad} |", 1)
    assert planted != text
    with pytest.raises(AssertionError, match=f"the page says {re.escape(bad)}"):
        check_table(planted)
