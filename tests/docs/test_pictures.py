"""Every derivation page shows pictures drawn by code (``python -m tools.pictures``).

Fast: each page references its pictures, each file exists and is a PNG, and the numbers on
the computational graph are ``handgrad derive seed003``'s, which are backprop.md's table.
Slow: the command draws every picture.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tools.pictures import PICTURES

ROOT = Path(__file__).resolve().parents[2]
DERIVATIONS = ROOT / "docs" / "derivations"
IMG = ROOT / "docs" / "img"
PAGES = sorted(p for p in DERIVATIONS.glob("*.md") if p.name != "README.md")
IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)\)")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def images(page: Path) -> list[re.Match]:
    return list(IMAGE.finditer(page.read_text()))


def check_page(page: Path) -> None:
    """The page shows at least one picture; each exists, is a PNG and is described."""
    found = images(page)
    assert found, f"{page.name} shows no picture"
    for m in found:
        path = (page.parent / m["src"]).resolve()
        assert path.is_file(), f"{page.name}: {m['src']} does not exist"
        assert path.read_bytes()[:8] == PNG_MAGIC, f"{m['src']} is not a PNG"
        assert len(m["alt"]) > 40, f"{page.name}: {m['src']} needs alt text that describes it"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_derivation_page_shows_a_picture_that_exists(page):
    check_page(page)


@pytest.mark.parametrize("picture", PICTURES, ids=lambda p: p.name)
def test_every_drawn_picture_is_on_its_page(picture):
    srcs = [m["src"] for m in images(DERIVATIONS / picture.page)]
    assert f"../img/{picture.name}" in srcs


def test_every_picture_a_page_shows_is_drawn_by_the_tool():
    shown = {Path(m["src"]).name for page in PAGES for m in images(page)}
    assert shown == {p.name for p in PICTURES}


def test_a_page_without_its_picture_is_reported(tmp_path):
    """The planted page: the same text with its image line removed."""
    page = tmp_path / "backprop.md"
    page.write_text(IMAGE.sub("", (DERIVATIONS / "backprop.md").read_text()))
    with pytest.raises(AssertionError, match="backprop.md shows no picture"):
        check_page(page)
    missing = tmp_path / "layout.md"  # a picture named that does not exist
    missing.write_text("![" + "a picture of shapes, described at length " * 2 + "](nope.png)")
    with pytest.raises(AssertionError, match="nope.png does not exist"):
        check_page(missing)


def table_numbers(label: str) -> list[float]:
    """The numbers of backprop.md's worked-example row whose first cell holds ``label``."""
    text = (DERIVATIONS / "backprop.md").read_text()
    [row] = [line for line in text.splitlines() if line.startswith(f"| {label} |")]
    cell = row.split("|")[2]
    return [float(x.replace("−", "-")) for x in re.findall(r"[−-]?[\d.]+(?:e[−-]?\d+)?", cell)]


@pytest.mark.parametrize(("label", "key"), [
    (r"$\mathrm{net}_j$", "Z0"), ("$o_j$", "A0"), (r"$\mathrm{net}_l$", "Z1"),
    ("$o_l$", "A1"), (r"$e = \tfrac12 (t - o_l)^2$", "L"),
    (r"$\delta_l = (o_l - t) o_l (1 - o_l)$", "delta1"), (r"$\delta_j$", "delta0"),
], ids=["net_j", "o_j", "net_l", "o_l", "e", "delta_l", "delta_j"])
def test_the_graph_shows_the_worked_examples_numbers(label, key):
    """The picture's numbers (derive's steps) against the page's table (8 digits)."""
    from tools.pictures.graphs import seed003_numbers

    drawn = np.ravel(seed003_numbers()[key])
    # tolerance: the table rounds to 8 significant digits
    np.testing.assert_allclose(drawn, table_numbers(label), rtol=1e-7)


@pytest.mark.slow
def test_the_command_draws_every_picture(tmp_path):
    from tools.pictures.__main__ import main

    assert main(["--out", str(tmp_path)]) == 0
    for picture in PICTURES:
        data = (tmp_path / picture.name).read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 20_000, picture.name


def test_an_unknown_picture_name_is_refused(capsys):
    from tools.pictures.__main__ import main

    with pytest.raises(SystemExit):
        main(["--out", "/nonexistent", "nope.png"])
    assert "unknown picture(s) ['nope.png']" in capsys.readouterr().err
