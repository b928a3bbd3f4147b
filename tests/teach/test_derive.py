"""``handgrad derive``: worked examples, handmade beside torch, and the bug gallery."""

import numpy as np
import pytest

from handgrad.compare import cli
from handgrad.compare.teach.bugs import BUGS, LINES
from handgrad.compare.teach.derive import EXAMPLES, derive
from tests.teach.test_seed003_step import written_out_step


def test_seed003_updated_weights_match_torch(capsys):
    _, steps = derive("seed003")
    updated = {s.label.split(" ")[0]: s for s in steps if "after one step" in s.label}
    assert list(updated) == ["layers.0.weight", "layers.0.bias", "layers.1.weight",
                             "layers.1.bias"]
    _, _, *expected = written_out_step()  # the arithmetic written out in seed 003's notation
    for (key, step), exp in zip(updated.items(), expected):
        # the documented bound: handmade and torch within 1e-12 (float64, a dozen roundings)
        np.testing.assert_allclose(step.hand, step.torch, rtol=1e-12, atol=0, err_msg=key)
        np.testing.assert_allclose(step.hand, exp, rtol=1e-12, atol=0, err_msg=key)
    assert cli.main(["derive", "seed003"]) == 0
    out = capsys.readouterr().out
    assert "layers.1.weight after one step (η = 0.1)" in out and "δ_0 = dL/dZ_0" in out


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_intermediate_agrees_with_torch(name):
    _, steps = derive(name)
    labels = " ".join(s.label for s in steps)
    for part in ("Z_0", "A_0", "L =", "δ_0", "dW_0", "db_0", "after one step"):
        assert part in labels, part
    for s in steps:
        scale = max(float(np.max(np.abs(s.torch))), 1e-300)
        # float64, the same formulas in another order: ~1e-16 relative to the entries' scale
        assert s.diff <= 1e-12 * scale, s.label


def test_softmax_example_shows_the_jacobian_path_equals_the_fused_one():
    _, steps = derive("softmax")
    by_label = {s.label: s for s in steps}
    fused = by_label["δ_0 = dL/dZ_0"].hand
    jacobian = next(s for s in steps if s.label.startswith("δ via the softmax Jacobian")).hand
    np.testing.assert_allclose(jacobian, fused, rtol=1e-12, atol=1e-15)
    z = np.array([2.0, 1.0, 0.1])  # the example of docs/derivations/softmax_cross_entropy.md
    p = np.exp(z) / np.exp(z).sum()  # written out
    np.testing.assert_allclose(by_label["p = softmax(Z)"].hand[0], p, rtol=1e-12)
    np.testing.assert_allclose(fused[0], p - [1, 0, 0], rtol=1e-12, atol=1e-15)  # m = 1, y = 0
    # the page's printed numbers (8 digits)
    np.testing.assert_allclose(p, [0.65900114, 0.24243297, 0.09856589], atol=5e-9)
    np.testing.assert_allclose(by_label["L = cross_entropy"].hand, 0.41703002, atol=5e-9)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_inputs_and_initial_parameters_come_first(name):
    title, steps = derive(name)
    labels = [s.label for s in steps]
    assert labels[0].startswith("X: the inputs") and labels[1].startswith("y: the labels")
    first_formula = next(i for i, s in enumerate(labels) if s.startswith("Z_0"))
    initial = [s for s in labels[:first_formula] if s.endswith("before the step")]
    assert initial and all(k.startswith("layers.") for k in initial)
    assert len(initial) == first_formula - 2  # nothing else before the first formula


@pytest.mark.parametrize("name", sorted(BUGS))
def test_derive_bug_prints_the_report_and_the_localization(name, capsys):
    assert cli.main(["derive", "--bug", name]) == 0
    out = capsys.readouterr().out
    assert BUGS[name].sentence in out
    wrong, right = LINES[name]
    assert f"wrong:  {wrong}" in out and f"right:  {right}" in out
    assert out.index("wrong:") < out.index("gradient check FAILED")  # the lines, then the report
    assert "gradient check FAILED" in out and "as the gallery expects" in out


def test_listing_and_unknown_names(capsys):
    assert cli.main(["derive", "--bug", "list"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in BUGS)
    assert cli.main(["derive", "nope"]) == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err
    assert cli.main(["derive", "--bug", "nope"]) == 2


def test_count_command(capsys):
    assert cli.main(["count", "1024", "500", "10"]) == 0
    assert "517 000 weights, 510 biases, 517 510 parameters" in capsys.readouterr().out


def test_the_initial_parameters_shown_are_those_before_the_step():
    from handgrad.compare.teach import seeds

    _, steps = derive("seed003")
    shown = {s.label.split(" ")[0]: s for s in steps if s.label.endswith("before the step")}
    for key, printed in seeds.SEED003_PARAMS.items():  # the tutorial's printed weights
        np.testing.assert_array_equal(shown[key].hand, np.asarray(printed).reshape(
            shown[key].hand.shape), err_msg=key)
        np.testing.assert_array_equal(shown[key].torch, shown[key].hand, err_msg=key)
