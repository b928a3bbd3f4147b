"""A reference is one record: registering a toy third one adds its columns, figures and vote.

The toy reads what the autograd reference computed (``source_name="autograd"``) and compares
the hand gradient with it times ``factor``: ``factor = 1`` is a faithful copy (it must agree
wherever autograd does); ``factor = 1 + 1e-3`` is a planted disagreement (a reference that
is off by 1e-3 relative, far above float64 rounding, ~1e-16).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from handgrad import handmade
from handgrad.compare import check_gradients, check_model
from handgrad.compare.check.decide import record
from handgrad.compare.check.references import (
    Column,
    Figure,
    Reference,
    reference_named,
    register,
    unregister,
)

# tolerance: the copy compares float64 sums of a few terms; their rounding is ~1e-16, and
# the planted disagreement is 1e-3, so 1e-9 separates the two by six orders either way
TOY_TOLERANCE = 1e-9
PLANTED = 1e-3


def toy_reference(factor: float) -> Reference:
    """A reference that reads autograd's gradients, scaled by ``factor``."""
    def start(ref, how):
        def decide(entry, name, hand):
            expected = factor * np.asarray(ref.grads[name], np.float64)
            difference = np.linalg.norm(np.ravel(np.asarray(hand, np.float64) - expected))
            relative = float(difference / max(np.linalg.norm(np.ravel(expected)), 1e-300))
            record(entry, "copy", rel_err=relative)
            return "pass" if relative <= TOY_TOLERANCE else "fail"
        return decide
    return Reference(key="copy", words="autograd copy", short="copy",
                     figures=(Figure("rel_err"),), columns=(Column("copy rel", 10, "rel_err"),),
                     start=start, source_name="autograd")


@pytest.fixture
def registered():
    """``registered(reference, position)`` registers it for the test, removed after."""
    added = []

    def add(reference, position=None):
        added.append(register(reference, position).key)
    yield add
    for key in added:
        unregister(key)


def seed000():
    """A logistic neuron on 2 samples of 3 features (handmade's, correct)."""
    X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    return handmade.LogisticNeuron(3), X, np.array([0.0, 1.0])


def linear_model():
    """Least squares on a linear map, written by hand: L = mean((X W - y)^2) / 2."""
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal(3)}
    X = rng.standard_normal((5, 3))
    y = rng.standard_normal(5)

    def loss(X, y):
        residual = X @ params["W"] - y
        return 0.5 * np.mean(residual ** 2), {"W": X.T @ residual / len(y)}

    def torch_loss(p, X, y):
        return 0.5 * torch.mean((X @ p["W"] - y) ** 2)
    return params, loss, X, y, torch_loss


def test_registering_a_copy_adds_its_column_figures_and_vote(registered):
    model, X, y = seed000()
    before = check_gradients(model, X, y)
    assert before.ok and "copy rel" not in str(before)  # the control, printed before
    registered(toy_reference(1.0))
    report = check_gradients(model, X, y)
    assert report.ok, report
    assert report.references == ["autograd", "fd", "copy"]
    assert str(report).splitlines()[1].endswith("kinks  copy rel  ok")
    assert str(report).splitlines()[3].startswith("layers.0.weight")
    assert str(report).splitlines()[3].split()[6] != "-"  # its figure, in its column
    assert "copy rel" in report._repr_html_()
    weight = report.entry("layers.0.weight")
    assert weight.decisions == {"autograd": "pass", "fd": "pass", "copy": "pass"}
    assert weight.errors["copy"]["rel_err"] <= TOY_TOLERANCE
    assert all("copy_rel_err" in r for r in report.records())
    assert "autograd copy" in report.describe_references()


def test_a_registered_reference_leaves_the_old_attributes_and_records_alone(registered):
    model, X, y = seed000()
    before = check_gradients(model, X, y).records()
    registered(toy_reference(1.0))
    after = check_gradients(model, X, y).records()
    assert [{k: v for k, v in r.items() if k != "copy_rel_err"} for r in after] == before


def test_a_planted_disagreeing_reference_that_leads_turns_a_pass_into_a_fail(registered):
    model, X, y = seed000()
    assert check_gradients(model, X, y).ok  # the control
    registered(toy_reference(1.0 + PLANTED), position=0)  # it leads: it can fail alone
    report = check_gradients(model, X, y)
    assert report.verdict == "fail", report
    assert report.failures == ["layers.0.weight", "layers.0.bias"]
    weight = report.entry("layers.0.weight")
    assert weight.errors["copy"]["rel_err"] == pytest.approx(PLANTED / (1 + PLANTED))
    # autograd, the next reference, passes what the leader fails: it is named in the note
    assert weight.note == ("torch autograd agrees with the hand gradient: does autograd copy "
                           "compute the same loss?")


def test_a_planted_disagreeing_reference_that_follows_makes_the_references_disagree(registered):
    params, loss, X, y, torch_loss = linear_model()
    assert check_model(params, loss, X, y, torch_loss).ok  # the control
    registered(toy_reference(1.0 + PLANTED))
    report = check_model(params, loss, X, y, torch_loss)
    assert report.verdict == "inconclusive", report
    reason = report.entry("W").reason
    assert reason.startswith("references disagree: hand and autograd agree, autograd copy "
                             "differs by 1.0e-03"), reason


def test_where_the_contract_names_autograd_autograd_decides_over_a_later_reference(registered):
    model, X, y = seed000()
    registered(toy_reference(1.0 + PLANTED))
    report = check_gradients(model, X, y)  # check_gradients: the twin's contract is torch's
    assert report.ok, report
    assert report.entry("layers.0.weight").note.endswith(
        "; the twin follows torch (its clamps and thresholds), so autograd decides")


def test_a_taken_key_is_refused_and_an_unknown_one_named():
    with pytest.raises(ValueError, match="'fd' is already registered"):
        register(replace(toy_reference(1.0), key="fd"))
    with pytest.raises(KeyError, match="no reference 'jax'"):
        reference_named("jax")
    with pytest.raises(KeyError, match="no reference 'jax'"):
        unregister("jax")
