"""``decide.combine`` over autograd and finite differences gives the outcomes of the table in
docs/verification.md ("Three verdicts"), every combination written out here.

Each case is (autograd's decision, finite differences' decision, the door's contract,
whether torch is known to depart from the derivative) -> (status, the start of the note or
reason). The figures put on the entry (finite differences off by 2.0e-03, their own error
estimate 1.0e-05) only fill the words.
"""

from __future__ import annotations

import itertools

import pytest

from handgrad.compare.check.decide import combine, record
from handgrad.compare.check.references import AUTOGRAD_REFERENCE, FINITE_DIFF_REFERENCE
from handgrad.compare.check.report import Entry

AUTOGRAD_DECISIONS = (None, "pass", "fail", "rounding")  # None: no torch reference
FINITE_DECISIONS = (None, "pass", "fail", "unsure")  # None: every step crossed a kink
DISAGREE = ("references disagree: hand and autograd agree, finite differences differ by "
            "2.0e-03 (their own error estimate 1.0e-05)")


def expected(autograd, finite, contract, deviates):
    """The table's row, as (status, words the note or reason starts with)."""
    if autograd == "fail":
        if finite == "pass" and deviates:
            return "pass", ("references disagree: a clamp; finite differences of the loss "
                            "confirm the hand gradient")
        if finite == "pass":
            return "fail", ("finite differences agree with the hand gradient: does the torch "
                            "reference compute the same loss?")
        return "fail", "the planted note of autograd"
    if autograd == "rounding":
        return "pass", "zero to rounding on both sides"
    if autograd == "pass":
        if finite == "fail" and contract == "autograd":
            return "pass", DISAGREE + "; the twin follows torch"
        if finite == "fail":
            return "inconclusive", DISAGREE + ": a non-smooth point (declare it with kinks=)?"
        return "pass", ""
    return {"pass": ("pass", ""), "fail": ("fail", ""),
            "unsure": ("inconclusive", "finite differences cannot resolve this gradient: "
                                       "their own error estimate (1.0e-05)"),
            None: ("inconclusive", "no reference: every finite-difference step crossed a "
                                   "kink")}[finite]


CASES = list(itertools.product(AUTOGRAD_DECISIONS, FINITE_DECISIONS, (None, "autograd"),
                               (False, True)))


def run(autograd, finite, contract, deviates, order=(AUTOGRAD_REFERENCE, FINITE_DIFF_REFERENCE)):
    """A fresh entry through ``combine`` with these decisions; returns the entry."""
    entry = Entry("w", "param")
    record(entry, "fd", rel_err=2e-3, error=1e-5)
    if autograd == "fail":
        entry.note = "the planted note of autograd"  # as autograd_decision leaves one
    decisions = {"autograd": autograd, "fd": finite}
    votes = [(reference, decisions[reference.key]) for reference in order]
    combine(entry, votes, contract, "a clamp" if deviates else "")
    return entry


@pytest.mark.parametrize(("autograd", "finite", "contract", "deviates"), CASES,
                         ids=[f"autograd-{a}-fd-{f}-contract-{c}-deviates-{d}"
                              for a, f, c, d in CASES])
def test_combine_follows_the_table(autograd, finite, contract, deviates):
    entry = run(autograd, finite, contract, deviates)
    status, words = expected(autograd, finite, contract, deviates)
    assert entry.status == status
    said = entry.reason if status == "inconclusive" else entry.note
    assert said.startswith(words) if words else said == "", said


def test_the_order_of_authority_is_what_decides():
    """The planted slip: finite differences put first lead, so the disagreement that the
    table calls "references disagree" becomes their fail; the table's test would catch it."""
    entry = run("pass", "fail", None, False, order=(FINITE_DIFF_REFERENCE, AUTOGRAD_REFERENCE))
    assert entry.status == "fail" != expected("pass", "fail", None, False)[0]


def test_no_reference_at_all_is_inconclusive_never_a_pass():
    entry = Entry("w", "param")
    combine(entry, [], None, "")
    assert entry.status == "inconclusive" and entry.reason == "no reference decides"
