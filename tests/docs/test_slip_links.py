"""Every slip of the bug gallery that a derivation page names is linked to its code there.

A page that says ``handgrad derive --bug NAME`` (or shows the classic perceptron rule)
must link the class that writes the slip in compare/teach/bugs.py, so that the reader who
follows the link lands on the wrong line, not on handgrad's correct one. The classes are
found by building each entry, not from the docs.
"""

import re

import pytest

from handgrad.compare.teach.bugs import BUGS, CORNER_RULES
from tools import doclinks

ENTRIES = {**BUGS, **CORNER_RULES}
PAGES = {p.name: p.read_text() for p in sorted(doclinks.DOCS.glob("*.md"))}


def gallery_links(text: str) -> set[str]:
    """The classes (``Class.method`` -> ``Class``) a page links in the gallery."""
    return {m["name"].split(".")[0] for m in doclinks.CODE.finditer(text)
            if m["path"] == doclinks.GALLERY_CODE}


def named_bugs(text: str) -> set[str]:
    return set(re.findall(r"--bug (\w+)", text)) - {"NAME", "list"}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_a_bug_named_on_a_page_has_its_code_linked_there(page):
    text = PAGES[page]
    for name in sorted(named_bugs(text)):
        model, _, _ = ENTRIES[name].build()
        assert type(model).__name__ in gallery_links(text), (
            f"{page} names --bug {name} but links no code of {type(model).__name__}")


def test_every_gallery_entry_is_linked_from_some_page():
    linked = set().union(*(gallery_links(t) for t in PAGES.values()))
    missing = {name for name, entry in ENTRIES.items()
               if type(entry.build()[0]).__name__ not in linked}
    assert not missing


def test_a_slip_formula_linked_to_the_correct_code_is_reported(tmp_path):
    """The planted slip: seed 000's formula linked to the right code, as it once was."""
    (tmp_path / "page.md").write_text(
        "$$ dW = \\mathrm{mean}(X (A - Y)) $$\n\n"
        "Code: [`_Neuron.loss_and_grads`](../../handmade/neuron.py#L1) · "
        "Test: [`test_bugs.py::test_bug_is_caught_and_localized`]"
        "(../../tests/teach/test_bugs.py)\n")
    messages = [p.message for p in doclinks.check(tmp_path)]
    assert any("formula of a known slip links handmade/neuron.py" in m for m in messages)


def test_a_slip_formula_linked_into_the_gallery_holds(tmp_path):
    (tmp_path / "page.md").write_text(
        "$$ dW = \\mathrm{mean}(X (A - Y)) $$\n\n"
        "Slip: [`Seed000MeanDW`](../../compare/teach/bugs.py#L32) · "
        "Test: [`test_bugs.py::test_bug_is_caught_and_localized`]"
        "(../../tests/teach/test_bugs.py)\n")
    assert not [p for p in doclinks.check(tmp_path) if "known slip" in p.message]
