"""The printable handgrad (``python -m tools.pdf``): every page in one PDF, no raw TeX.

Slow: it stages the site, builds it as one page and prints it in headless Chromium. The
text is read back with ``pdftotext`` (poppler-utils). Like the site's browser check, it runs
where HANDGRAD_SITE_CHECK is set (.ci/run, in the step after the site build), so that the
README's test command stays within its three minutes.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEX = re.compile(r"\$\$|\\frac|\\partial|\\sum")


ANSWERS = ROOT / "docs" / "answers"  # the instructor's answer key: not on the site, not printed


def titles(answers: bool = False) -> list[str]:
    """The first heading of every page the site holds: docs/, the derivations, notebooks
    (with ``answers``: of the answer key's pages instead, which it does not hold)."""
    if answers:
        return [re.search(r"^# (.+)$", p.read_text(), re.M)[1]
                for p in sorted(ANSWERS.glob("*.md"))]
    found = []
    for page in sorted((ROOT / "docs").rglob("*.md")):
        if page.is_relative_to(ANSWERS):
            continue
        heading = re.search(r"^# (.+)$", page.read_text(), re.M)
        if heading:
            found.append(heading[1])
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        first = json.loads(nb.read_text())["cells"][0]
        found.append(re.search(r"^# (.+)$", "".join(first["source"]), re.M)[1])
    return found


def plain(text: str) -> str:
    """Markdown emphasis and code marks dropped, whitespace squeezed: as the PDF shows it."""
    return " ".join(re.sub(r"[`*]", "", text).split())


def code_tex_count(page: Path) -> int:
    """TeX markers inside <code> and <pre> of the printed page: literal text, not math."""
    source = page.read_text()
    spans = re.findall(r"<(?:code|pre)[^>]*>(.*?)</(?:code|pre)>", source, re.S)
    return sum(len(TEX.findall(html.unescape(re.sub(r"<[^>]+>", "", s)))) for s in spans)


def unavailable(reason: str):
    """Skip, saying why; where .ci/run requires the browser tier, fail instead."""
    if os.environ.get("HANDGRAD_SITE_CHECK") == "required":
        pytest.fail(f"HANDGRAD_SITE_CHECK=required but {reason}")
    pytest.skip(reason)


def pdf_text(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        unavailable("pdftotext is not installed: apt-get install poppler-utils")
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    if not os.environ.get("HANDGRAD_SITE_CHECK"):
        pytest.skip("the browser tier (the site, the PDF) runs where HANDGRAD_SITE_CHECK is set: "
                    ".ci/run sets it after building the site; by hand: python -m tools.site "
                    "build, then HANDGRAD_SITE_CHECK=1 pytest tests/docs/test_site.py "
                    "tests/docs/test_pdf.py")
    if importlib.util.find_spec("playwright") is None:
        unavailable("playwright is not installed: pip install -e '.[docs]'")
    from tools import pdf

    try:
        pdf.chromium()
    except FileNotFoundError as exc:
        unavailable(str(exc))
    out = tmp_path_factory.mktemp("pdf") / "handgrad.pdf"
    html_page = pdf.single_html()
    formulas = pdf.print_pdf(html_page, out)
    return out, html_page, formulas


@pytest.mark.slow
def test_every_page_is_in_the_pdf(printed):
    out, _, formulas = printed
    text = " ".join(pdf_text(out).split())
    missing = [t for t in titles() if plain(t) not in text]
    assert not missing, f"pages missing from the PDF: {missing}"
    printed_answers = [t for t in titles(answers=True) if plain(t) in text]
    assert not printed_answers, f"the answer key is in the PDF: {printed_answers}"
    assert formulas > 500  # the derivations alone hold several hundred


@pytest.mark.slow
def test_no_raw_tex_is_left_in_the_pdf(printed):
    """Only the TeX that the pages show as code (site.md quotes $$ ... $$) may remain."""
    out, html_page, _ = printed
    found = TEX.findall(pdf_text(out))
    assert len(found) <= code_tex_count(html_page), found[:20]


def test_a_planted_raw_formula_is_counted():
    assert TEX.findall("left as text: $$ \\frac{1}{m} \\sum_i x_i $$") == [
        "$$", "\\frac", "\\sum", "$$"]
