"""Each known-wrong derivation in the bug gallery is caught, and localized where it lies.

The expected localization is written here, independently of the gallery's own record.
"""

import numpy as np
import pytest

from handgrad import handmade
from handgrad.compare import check_gradients
from handgrad.compare.teach.bugs import BUGS, CORNER_RULES, ClassicPerceptron, perceptron_example

EXPECTED = {  # name -> (parameters that must be flagged, first bad layer from the output)
    "seed000_mean_dw": (["layers.0.weight"], None),  # dW is a scalar; δ = A - Y is right
    "seed003_no_sigmoid_factor": (["layers.0.weight", "layers.0.bias"], 0),
    "seed003_update_order": (["layers.0.weight", "layers.0.bias"], 0),
    "missing_1_over_m": (["layers.0.weight", "layers.0.bias", "layers.1.weight",
                          "layers.1.bias"], 1),  # wrong from the output delta on
    "sign_flip": (["layers.0.weight", "layers.0.bias"], 0),  # the output layer is right
    "relu_prime_at_0_is_1": (["layers.0.bias"], 0),  # the kinked sample has x = 0
    "softmax_not_fused": (["layers.0.weight", "layers.0.bias", "layers.1.weight",
                           "layers.1.bias"], 1),
}


def test_the_gallery_has_the_bugs_the_issue_names():
    assert set(BUGS) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bug_is_caught_and_localized(name):
    model, X, y = BUGS[name].build()
    report = check_gradients(model, X, y)
    failures, layer = EXPECTED[name]
    assert not report.ok
    assert report.failures == failures, report
    assert report.first_bad_layer == layer, report
    assert (tuple(failures), layer) == (BUGS[name].failures, BUGS[name].first_bad_layer)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_same_model_without_the_bug_passes(name):
    """The control: the data and weights are fine, only the derivation is wrong."""
    model, X, y = BUGS[name].build()
    cls = model.__class__.__mro__[1]  # the correct handmade class the bug overrides
    fixed = cls.__new__(cls)
    fixed.__dict__.update(model.__dict__)
    report = check_gradients(fixed, X, y)
    assert report.ok, report


# perceptron.md's worked example, written out: W = (1, -1), b = 0, lr 0.5; x1 = (2, 2) lies on
# the boundary (z = 0), x2 = (1, 3) is misclassified (z = 1*1 - 1*3 = -2); both are class 1.
CLASSIC_W_AFTER = [1.0 + 0.5 * 2 / 2 + 0.5 * 1 / 2, -1.0 + 0.5 * 2 / 2 + 0.5 * 3 / 2]  # 1.75, 0.25
CLASSIC_B_AFTER = 0.0 + 0.5 * 1 / 2 + 0.5 * 1 / 2  # 0.5
HANDGRAD_W_AFTER = [1.0 + 0.5 * 1 / 2, -1.0 + 0.5 * 3 / 2]  # only x2 moves it: 1.25, -0.25
HANDGRAD_B_AFTER = 0.5 * 1 / 2  # 0.25


@pytest.mark.parametrize(("cls", "w_after", "b_after"), [
    (ClassicPerceptron, CLASSIC_W_AFTER, CLASSIC_B_AFTER),
    (handmade.Perceptron, HANDGRAD_W_AFTER, HANDGRAD_B_AFTER),
], ids=["classic-rule", "handgrad"])
def test_perceptron_worked_example_step(cls, w_after, b_after):
    model, X, y = perceptron_example(cls)
    model.update(X, y, lr=0.5)
    # tolerance: every number above is a dyadic fraction, exact in float64
    np.testing.assert_array_equal(model.params["layers.0.weight"], [w_after])
    np.testing.assert_array_equal(model.params["layers.0.bias"], [b_after])


def test_the_classic_perceptron_rule_is_flagged_where_it_meets_the_corner():
    rule = CORNER_RULES["perceptron_classic_rule"]
    model, X, y = rule.build()
    report = check_gradients(model, X, y)
    assert not report.ok
    assert report.failures == ["layers.0.weight", "layers.0.bias"], report
    assert report.first_bad_layer == 0, report
    assert (tuple(report.failures), report.first_bad_layer) == (rule.failures,
                                                                 rule.first_bad_layer)


def test_the_classic_perceptron_rule_passes_away_from_the_corner():
    """Off the boundary the two rules are the same subgradient (the control)."""
    model, X, y = perceptron_example(ClassicPerceptron)
    X = X + np.array([[0.0, -0.5], [0.0, 0.0]])  # x1 = (2, 1.5): z = 0.5, classified right
    assert check_gradients(model, X, y).ok
