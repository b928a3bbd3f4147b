"""handgrad.strategies: Hypothesis searches shapes and scales, and shrinks a failing layer to
the smallest batch, width and scale that still fails.

The planted slip: a layer that adds the batch's mean row to every row, written with a
``squeeze`` meant to accept inputs of shape (N, 1, D). It also drops a batch of one, and the
sum over the batch becomes a sum over the features: wrong at batch 1 (width 2 and more),
right everywhere else. The correct layer is the witness that the search finds nothing else.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, find, settings
from hypothesis.errors import NoSuchExample

from handgrad import check_layer
from handgrad.strategies import SCALES, LayerCase, inputs, layer_cases, scales, shapes, sizes
from tests.plugin.scratch import run_pytest, write_project

# derandomize: the same examples every run (a test that can be rerun to the same verdict);
# 60 examples: the search finds batch 1 within its first few, the rest bound the time
SEARCH = settings(derandomize=True, max_examples=60, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow])


def squeezed_forward(x):
    rows = np.squeeze(x)  # the slip
    out = rows + rows.sum(axis=0) / len(x)
    return out.reshape(x.shape), None


def correct_forward(x):
    return x + x.sum(axis=0, keepdims=True) / len(x), None


def backward(dout, cache):
    """out = x + mean over the batch: dx = dout + (the batch's sum of dout) / N."""
    return dout + dout.sum(axis=0, keepdims=True) / len(dout)


def torch_fn(x):
    return x + x.mean(dim=0, keepdim=True)


def fails(forward):
    return lambda case: check_layer(forward, backward, {"x": case.x}, torch_fn).verdict != "pass"


@pytest.mark.slow  # about 8 s: the search, then the shrinking, each example a gradient check
def test_the_search_shrinks_the_squeeze_slip_to_batch_one():
    found = find(layer_cases(batch=(1, 8), width=(1, 6)), fails(squeezed_forward),
                 settings=SEARCH)
    assert found.batch == 1
    assert found.width == 2  # width 1: squeeze leaves a scalar, and the sum is right again
    assert found.scale == min(SCALES) == 0.001  # the bug shows at every scale: the smallest
    assert found == LayerCase(batch=1, width=2, scale=0.001, seed=0)


def test_the_correct_layer_passes_the_same_search():
    with pytest.raises(NoSuchExample):
        find(layer_cases(batch=(1, 8), width=(1, 6)), fails(correct_forward), settings=SEARCH)


def test_a_case_rebuilds_from_its_repr_to_the_same_arrays():
    """What Hypothesis prints as the falsifying example is the case: pasted into
    ``@example(...)`` it draws the same numbers."""
    case = LayerCase(batch=3, width=2, scale=10.0, seed=7)
    again = eval(repr(case), {"LayerCase": LayerCase})
    np.testing.assert_array_equal(again.x, case.x)
    np.testing.assert_array_equal(again.normal((2, 5), "w"), case.normal((2, 5), "w"))
    assert case.x.shape == (3, 2) and case.x.dtype == np.float64
    assert not np.array_equal(case.normal((3, 2), "w"), case.x)  # another name, other numbers


def test_the_scale_multiplies_the_same_draw():
    small = LayerCase(batch=2, width=3, scale=0.001, seed=4)
    large = LayerCase(batch=2, width=3, scale=1000.0, seed=4)
    np.testing.assert_allclose(large.x, 1e6 * small.x, rtol=1e-15)  # float64 products


@pytest.mark.parametrize("make, message", [
    (lambda: sizes((0, 3), "batch"), "batch must be an int >= 1 or a pair"),
    (lambda: sizes((4, 2), "width"), r"width must be .* 1 <= low <= high, got \(4, 2\)"),
    (lambda: shapes(batch=(1, 2.5)), "batch must be"),
    (lambda: scales([1.0, -0.1]), "scales must be positive finite numbers"),
    (lambda: scales([]), "scales must be positive finite numbers"),
    (lambda: layer_cases(scale=[float("inf")]), "scales must be positive finite"),
], ids=["batch-zero", "width-reversed", "batch-float", "scale-negative", "scales-none",
        "scale-inf"])
def test_bad_bounds_are_refused_naming_the_argument(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_inputs_draws_arrays_of_the_shape_and_scale():
    shape_seen = find(inputs((2, 3), scale=0.5), lambda a: True, settings=SEARCH)
    assert shape_seen.shape == (2, 3) and shape_seen.dtype == np.float64
    np.testing.assert_array_equal(shape_seen, LayerCase(1, 1, 0.5, 0).normal((2, 3), "x"))


GIVEN_TEST = """
    import numpy as np
    import torch
    from hypothesis import given, settings

    from handgrad import assert_layer_match
    from handgrad.strategies import layer_cases


    def forward(x):
        rows = np.squeeze(x)
        out = rows + rows.sum(axis=0) / len(x)
        return out.reshape(x.shape), None


    def backward(dout, cache):
        return dout + dout.sum(axis=0, keepdims=True) / len(dout)


    @settings(derandomize=True, max_examples=60, deadline=None)
    @given(layer_cases(batch=(1, 8), width=(1, 6)))
    def test_add_batch_mean(case):
        assert_layer_match(forward, backward, {"x": case.x},
                           lambda x: x + x.mean(dim=0, keepdim=True))
"""


@pytest.mark.slow
def test_in_pytest_the_shrunk_example_is_reported_and_saved(tmp_path):
    """Hypothesis reruns the smallest failing example last, so the plugin's replay file holds
    that example's arrays: batch 1, width 2, scale 0.001."""
    write_project(tmp_path, {"test_layer.py": GIVEN_TEST})
    run = run_pytest(tmp_path, "-q", timeout=600)
    assert run.returncode == 1, run.stdout + run.stderr
    # "Failing test case:" since Hypothesis 6.1xx, "Falsifying example:" before
    example = re.split(r"Failing test case:|Falsifying example:", run.stdout)[1]
    assert "case=LayerCase(" in example
    for field in (r"batch=1\b", r"width=2\b", r"scale=0\.001\b", r"seed=0\b"):
        assert re.search(field, example), example
    assert "gradient check FAILED" in run.stdout
    saved = list((tmp_path / ".handgrad" / "replays").glob("*.json"))
    assert [p.name for p in saved] == ["test_layer_py__test_add_batch_mean.json"]
    from handgrad.compare.check.replay import load_case

    case = load_case(saved[0])
    np.testing.assert_array_equal(case.inputs["x"], LayerCase(1, 2, 0.001, 0).x)
    rerun = check_layer(squeezed_forward, backward, case.inputs, torch_fn,
                        seed=case.meta["seed"])
    assert rerun.verdict == "fail"  # the saved example replays to the same verdict
