"""Each known-wrong derivation in the bug gallery is caught, and localized where it lies.

The expected localization is written here, independently of the gallery's own record.
"""

import pytest

from handgrad.compare import check_gradients
from handgrad.compare.teach.bugs import BUGS

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
