"""Property-based tests: for random architectures, data and scales, the verifier agrees
with autograd, and a perturbed gradient is always caught.

Default: 150 examples per property (a few seconds). A longer run:
``HYPOTHESIS_PROFILE=long python -m pytest tests/check/test_properties.py`` (3 000 examples).
"""

import os

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from handgrad import handmade
from handgrad.compare import check_gradients
from handgrad.compare.check.core import AT_OPTIMUM
from handgrad.compare.check.suite import HEADS, HIDDEN

settings.register_profile("default", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@st.composite
def problems(draw):
    """A random model (depth 1-5, widths 1-32, any hidden activation, any loss) and data."""
    depth = draw(st.integers(1, 5))
    loss = draw(st.sampled_from(sorted(HEADS)))
    out_act, k = HEADS[loss]
    if loss in ("cross_entropy", "nll"):
        k = draw(st.integers(2, 6))
    sizes = [draw(st.integers(1, 16))] + [draw(st.integers(1, 32)) for _ in range(depth - 1)]
    sizes.append(k)
    acts = [draw(st.sampled_from(HIDDEN)) for _ in range(depth - 1)] + [out_act]
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    model = handmade.MLP(sizes, acts, loss, seed=draw(st.integers(0, 2**16)), dtype=dtype,
                         reduction=draw(st.sampled_from(["mean", "sum"])))
    m = draw(st.integers(1, 64))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    X = rng.standard_normal((m, sizes[0])) * draw(st.sampled_from([1e-2, 1.0, 5.0]))
    if loss in ("cross_entropy", "nll"):
        y = rng.integers(0, k, m)
    elif loss in ("bce", "bce_with_logits", "perceptron"):
        y = rng.integers(0, 2, (m, k)).astype(float)
    else:
        y = rng.standard_normal((m, k))
    return model, X, y


@given(problems())
def test_hand_gradient_always_matches_autograd(problem):
    model, X, y = problem
    report = check_gradients(model, X, y, fd=None)  # autograd: the sharp reference
    if report.verdict == "inconclusive":  # only where there is nothing to compare:
        assert all(e.reason == AT_OPTIMUM for e in report.entries if e.reason), report
        grads = model.loss_and_grads(X, y)[1]  # the whole gradient is zero to rounding
        assert max(float(np.max(np.abs(g))) for g in grads.values()) < 1e-12, report
        return
    assert report.ok, report


@given(problems(), st.data())
def test_a_perturbed_gradient_is_always_caught(problem, data):
    model, X, y = problem
    _, grads = model.loss_and_grads(X, y)
    largest = max(float(np.max(np.abs(g))) for g in grads.values())
    assume(largest > 0 and np.isfinite(largest))  # a model whose gradient is exactly 0
    key = data.draw(st.sampled_from(sorted(grads)))
    index = tuple(data.draw(st.integers(0, n - 1)) for n in grads[key].shape)
    # float64: any entry moved by 1e-6 of the model's largest gradient entry, above the
    # checker's floor (1e-6 of that scale, compared at 1e-8 elementwise). float32: moved by
    # 1e-2 of that scale plus 1e-4, above its floor (1e-3) and its atol (1e-5)
    if model.dtype == np.float64:
        delta = largest * 1e-6
    else:
        delta = largest * 1e-2 + 1e-4
    original = type(model).loss_and_grads

    class Perturbed(type(model)):
        def loss_and_grads(self, X, y):
            loss, grads = original(self, X, y)
            grads[key][index] += delta
            return loss, grads

    model.__class__ = Perturbed
    report = check_gradients(model, X, y, fd=None)
    assert report.failures == [key], report
