"""Every formula in docs/derivations names code that exists and a test that exists."""

import textwrap

from tools import doclinks


def test_every_link_in_the_derivations_holds():
    problems = doclinks.check()
    assert not problems, "\n".join(map(str, problems))


def test_the_derivations_have_links_to_check():
    text = "".join(p.read_text() for p in doclinks.DOCS.glob("*.md"))
    assert len(doclinks.CODE.findall(text)) >= 30
    assert len(doclinks.TEST.findall(text)) >= 20


def test_a_renamed_function_or_moved_line_is_reported(tmp_path):
    doc = tmp_path / "page.md"
    doc.write_text(textwrap.dedent("""\
        $$ dW = \\delta^T X $$
        [`dense_backwards`: `dW = dZ.T @ X`](../../handmade/dense.py#L1)
        [`test_models.py::test_no_such_test`](../../tests/handmade/test_models.py)

        $$ db = \\sum \\delta $$
        [`dense_backward`: `db = np.sum(dZ, axis=0, out=db)`](../../handmade/dense.py#L1)
        [`test_models.py::test_no_such_test`](../../tests/handmade/test_models.py)

        $$ a = b $$
        no links here
        """))
    messages = [p.message for p in doclinks.check(tmp_path)]
    assert any("defines no dense_backwards" in m for m in messages)
    assert any("has no test test_no_such_test" in m for m in messages)
    assert any("points at line 1" in m for m in messages)
    assert any("formula without" in m for m in messages)
