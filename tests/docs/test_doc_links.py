"""Every formula in docs/derivations names code that runs and a test that exists.

The planted pages below link into a planted module whose line numbers are known, so each
kind of broken link is shown failing on its own.
"""

import textwrap

import pytest

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
        [`test_dense.py::test_no_such_test`](../../tests/handmade/test_dense.py)

        $$ db = \\sum \\delta $$
        [`dense_backward`: `db = dZ.sum(axis=0)`](../../handmade/dense.py#L1)
        [`test_dense.py::test_no_such_test`](../../tests/handmade/test_dense.py)

        $$ a = b $$
        no links here
        """))
    messages = [p.message for p in doclinks.check(tmp_path)]
    assert any("defines no dense_backwards" in m for m in messages)
    assert any("has no test test_no_such_test" in m for m in messages)
    assert any("points at line 1" in m for m in messages)
    assert any("formula without" in m for m in messages)


PLANTED = '''\
def sigmoid(z):
    """Sign-split form:

        e = np.exp(-np.abs(z))
    """
    # the plain form, 1 / (1 + exp(-z))
    out = np.exp(-z)

    return 1.0 / (1.0 + out)  # dW = dZ.T @ X is not here
'''
# line 1 def, 2-5 docstring, 6 comment, 7 code, 8 blank, 9 code with a comment


@pytest.fixture
def planted(tmp_path):
    (tmp_path / "handmade").mkdir()
    (tmp_path / "handmade" / "planted.py").write_text(PLANTED)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_planted.py").write_text("def test_sigmoid():\n    pass\n")
    (tmp_path / "docs").mkdir()

    def problems(link: str) -> list[str]:
        (tmp_path / "docs" / "page.md").write_text(
            f"$$ s = 1/(1 + e^{{-z}}) $$\n{link}\n"
            "[`test_planted.py::test_sigmoid`](../../tests/test_planted.py)\n")
        return [p.message for p in doclinks.check(tmp_path / "docs", root=tmp_path)]
    return problems


def link(line: int, text: str | None = None) -> str:
    shown = f"`sigmoid`: `{text}`" if text else "`sigmoid`"
    return f"[{shown}](../../handmade/planted.py#L{line})"


def test_a_link_to_the_executed_line_holds(planted):
    assert planted(link(7, "out = np.exp(-z)")) == []
    assert planted(link(9, "return 1.0 / (1.0 + out)")) == []
    assert planted(link(1)) == []  # a name alone: the def line


@pytest.mark.parametrize(("line", "kind"), [(6, "a comment"), (8, "a blank line"),
                                            (3, "inside a docstring")],
                         ids=["comment", "blank", "docstring"])
def test_a_link_landing_off_the_executed_line_fails(planted, line, kind):
    [message] = planted(link(line, "out = np.exp(-z)"))
    assert f"points at line {line} ({kind}), the code is at line 7" in message
    [message] = planted(link(line))  # a name alone must point at the definition
    assert f"points at line {line} ({kind}), the code is at line 1" in message


@pytest.mark.parametrize(("text", "where"), [
    ("e = np.exp(-np.abs(z))", "only in a docstring"),
    ("the plain form, 1 / (1 + exp(-z))", "only in a comment"),
    ("dW = dZ.T @ X", "only in a comment"),  # on a code line, but in its comment
], ids=["docstring", "comment-line", "comment-after-code"])
def test_a_text_that_does_not_run_fails_wherever_the_link_points(planted, text, where):
    for line in (1, 3, 6, 7, 9):
        [message] = planted(link(line, text))
        assert where in message and "link to the line that runs" in message


def test_a_text_with_its_comment_still_needs_its_code_on_the_line(planted):
    assert planted(link(9, "return 1.0 / (1.0 + out)  # dW = dZ.T @ X")) == []
    [message] = planted(link(9, "return 2.0  # dW = dZ.T @ X"))
    assert "has no line containing" in message


def test_fix_moves_a_link_onto_the_executed_line(planted, tmp_path):
    planted(link(3, "out = np.exp(-z)"))
    assert doclinks.fix(tmp_path / "docs", root=tmp_path) == 1
    assert "planted.py#L7)" in (tmp_path / "docs" / "page.md").read_text()
    assert doclinks.check(tmp_path / "docs", root=tmp_path) == []


def test_fix_moves_a_test_link_to_the_file_that_now_defines_the_test(planted, tmp_path):
    page = tmp_path / "docs" / "page.md"
    planted(link(7, "out = np.exp(-z)"))
    page.write_text(page.read_text().replace("test_planted.py::", "test_old.py::").replace(
        "tests/test_planted.py", "tests/test_old.py"))
    assert "tests/test_old.py has no test test_sigmoid" in str(
        doclinks.check(tmp_path / "docs", root=tmp_path))
    assert doclinks.fix(tmp_path / "docs", root=tmp_path) == 1
    assert "[`test_planted.py::test_sigmoid`](../../tests/test_planted.py)" in page.read_text()
