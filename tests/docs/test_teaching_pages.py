"""The teaching pages say what they mean: no work history, the words they use defined,
and the worked numbers that a table quotes recomputed from the code that makes them."""

import re
from pathlib import Path

import numpy as np
import pytest

from handgrad import handmade
from handgrad.compare.teach.bugs import ClassicPerceptron, perceptron_example

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted([*(DOCS / "derivations").glob("*.md"), DOCS / "glossary.md", DOCS / "index.md",
                *DOCS.glob("teaching.md"), ROOT / "notebooks" / "README.md"])

# words that speak of how the project was made rather than of what it is
HISTORY = re.compile(r"\bissue\s*#?\d+|\bissue's\b|#\d{1,4}\b(?!\))|\bsession\b|\bstop \d+\b|"
                     r"\bTODO\b|\bused to\b|\bwe (?:fixed|changed|renamed)\b", re.I)


def history_words(text: str) -> list[str]:
    return [m[0] for m in HISTORY.finditer(text)]


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_no_work_history_on_a_teaching_page(page):
    assert history_words(page.read_text()) == []


@pytest.mark.parametrize("planted", [
    "made it 2-3x slower (issue 5's benchmark).", "as decided in issue #12", "fixed in stop 16",
], ids=["issue-n", "issue-hash", "stop-n"])
def test_a_planted_history_word_is_found(planted):
    assert history_words(f"The sigmoid is stable. {planted}")


GLOSSARY_TERMS = ["twin", "delta", "kink", "epoch", "logit", "Jacobian",
                  "vector-Jacobian product", "subgradient", "one-hot"]


@pytest.mark.parametrize("term", GLOSSARY_TERMS)
def test_the_glossary_defines(term):
    rows = re.findall(r"^\| ([^|]+) \|", (DOCS / "glossary.md").read_text(), re.M)
    assert term in [r.strip() for r in rows]


def test_optimizers_page_keeps_b_for_the_momentum_buffer():
    text = (DOCS / "derivations" / "optimizers.md").read_text()
    assert not re.search(r"--batch-size b\b|m ?/ ?b\b|\$b\$ \\text\{ \(mini-batch\)", text)
    assert "buffer $b$" in text


def table_row(text: str, label: str) -> list[str]:
    """The cells of the table row that starts with ``label``."""
    [row] = [line for line in text.splitlines() if line.startswith(f"| {label}")]
    return [cell.strip() for cell in row.strip("|").split("|")]


@pytest.mark.parametrize(("label", "cls"), [
    ("handgrad", handmade.Perceptron), ("classic rule", ClassicPerceptron),
], ids=["handgrad", "classic-rule"])
def test_perceptron_table_is_what_the_code_computes(label, cls):
    model, X, y = perceptron_example(cls)
    model.update(X, y, lr=0.5)
    W = model.params["layers.0.weight"][0]
    b = model.params["layers.0.bias"][0]
    cells = table_row((DOCS / "derivations" / "perceptron.md").read_text(), label)
    assert cells[-2] == f"$({W[0]:g}, {W[1]:g})$"
    assert cells[-1] == f"${b:g}$"


def test_the_classic_rows_numbers_are_the_arithmetic():
    """Independently of the code: (1, -1) + 0.5 (2, 2)/2 + 0.5 (1, 3)/2."""
    cells = table_row((DOCS / "derivations" / "perceptron.md").read_text(), "classic rule")
    w = np.array([1.0, -1.0]) + 0.5 * np.array([2.0, 2.0]) / 2 + 0.5 * np.array([1.0, 3.0]) / 2
    assert cells[-2] == f"$({w[0]:g}, {w[1]:g})$"


FILE_NAME_TEXT = re.compile(r"\[`?([\w./-]+\.(?:md|ipynb))`?\]\(")
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def file_names_as_link_text(text: str) -> list[str]:
    return FILE_NAME_TEXT.findall(text)


@pytest.mark.parametrize("page", PAGES + NOTEBOOKS,
                         ids=[p.relative_to(ROOT).as_posix() for p in PAGES + NOTEBOOKS])
def test_links_name_the_page_not_its_file(page):
    """A reader sees "Columns or rows", not "layout.md"."""
    assert file_names_as_link_text(page.read_text()) == []


def test_a_planted_file_name_link_is_found():
    assert file_names_as_link_text("Shapes follow [layout.md](layout.md).") == ["layout.md"]


DERIVATION_PAGES = sorted(p for p in (DOCS / "derivations").glob("*.md") if p.name != "README.md")


@pytest.mark.parametrize("page", DERIVATION_PAGES, ids=lambda p: p.name)
def test_every_derivation_page_ends_with_exercises(page):
    text = page.read_text()
    last = text.rsplit("\n## ", 1)[-1]
    assert last.startswith("Exercises\n"), f"{page.name}: the last section is not Exercises"
    assert len(re.findall(r"^\d\. ", last, re.M)) >= 3


def exercise(page: str, number: int) -> str:
    text = (DOCS / "derivations" / page).read_text().rsplit("\n## Exercises", 1)[1]
    return re.split(r"^\d\. ", text, flags=re.M)[number]


@pytest.mark.parametrize(("cls", "w", "b"), [
    (handmade.Perceptron, "(1.5, 0.5)", "0.5"), (ClassicPerceptron, "(2.5, 1.5)", "1"),
], ids=["handgrad", "classic-rule"])
def test_the_perceptron_exercise_answer_is_what_the_code_computes(cls, w, b):
    model, X, y = perceptron_example(cls)
    model.update(X, y, lr=1.0)
    W = model.params["layers.0.weight"][0]
    assert f"({W[0]:g}, {W[1]:g})" == w and f"{model.params['layers.0.bias'][0]:g}" == b
    assert f"$W = {w}$, $b = {b}$" in exercise("perceptron.md", 1)


def test_the_logistic_exercise_answer_is_what_the_code_computes():
    neuron = handmade.LogisticNeuron(2)
    for value in neuron.params.values():
        value[...] = 0.0
    loss, grads = neuron.loss_and_grads(np.array([[1.0, 2.0]]), np.array([1.0]))
    # tolerance: log(2) and the halves are a few ulps from their printed values
    assert loss == pytest.approx(np.log(2.0), rel=1e-15)
    np.testing.assert_allclose(grads["layers.0.weight"], [[-0.5, -1.0]], rtol=1e-15)
    assert "$L = \\log 2$ and $dW = (-0.5, -1)$" in exercise("logistic_neuron.md", 1)


def test_the_teaching_page_lists_every_notebook_and_derivation():
    text = (DOCS / "teaching.md").read_text()
    for page in DERIVATION_PAGES:
        assert f"(derivations/{page.name})" in text, page.name
    for n in range(1, 8):
        assert re.search(rf"notebooks? (\d\d and )?0{n}\b", text), n
    assert "python -m tools.student" in text and "python -m tools.pdf" in text


def test_the_license_is_mit_as_pyproject_says():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert 'license = { text = "MIT" }' in (ROOT / "pyproject.toml").read_text()
