"""Parameter counts per layer (seed 004: 1024-500-10 has 517 000 weights, 517 510 in all)."""

import pytest

from handgrad import handmade
from handgrad.compare.cli.count import format_count
from handgrad.compare.teach.count import count_parameters


def test_seed004_count():
    rows = count_parameters([1024, 500, 10])
    assert [r["weights"] for r in rows] == [1024 * 500, 500 * 10]
    assert sum(r["weights"] for r in rows) == 517_000
    assert sum(r["weights"] + r["biases"] for r in rows) == 517_510
    assert "517 000 weights" in format_count([1024, 500, 10])
    assert "517 510 parameters" in format_count([1024, 500, 10])


@pytest.mark.parametrize("sizes", [[3, 2, 1], [2, 3, 1], [64, 32, 10], [5, 1]],
                         ids=["3-2-1", "2-3-1", "64-32-10", "5-1"])
def test_count_matches_the_models_own_params(sizes):
    model = handmade.MLP(sizes, ["tanh"] * (len(sizes) - 1), "mse")
    rows = count_parameters(sizes)
    for r in rows:
        assert model.params[f"layers.{r['layer']}.weight"].shape == r["shape"]
    assert sum(r["weights"] + r["biases"] for r in rows) == sum(
        p.size for p in model.params.values())


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="sizes"):
        count_parameters([1024])


def test_format_count_table_for_seed004():
    # the table written out by hand: header, one row per layer, the totals line
    expected = [
        "layer       W shape       weights    biases",
        "    0   (500, 1024)       512 000       500",
        "    1     (10, 500)         5 000        10",
        "total: 517 000 weights, 510 biases, 517 510 parameters",
    ]
    assert format_count([1024, 500, 10]).splitlines() == expected
