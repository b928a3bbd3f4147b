"""Links from the derivations (docs/derivations/*.md) to the code and the tests.

Two link forms tie each formula to what implements it and what checks it::

    [`dense_backward`: `dW = dZ.T @ X`](../../handmade/dense.py#L40)    code: name, line text
    [`MLP.backward`](../../handmade/mlp.py#L112)                         code: name only
    [`test_dense.py::test_dense_backward`](../../tests/handmade/test_dense.py)  test

A code link must land on executed code: the file defines ``name`` (a function, class,
method, or a module-level assignment), the line lies inside that definition, and it is a
line of an executable statement (found with ``ast``): not blank, not only a comment, not
inside a docstring. With a line text, the line must contain it (whitespace ignored) and
the text's code must be in the line's code, so a text that appears only in a comment or
a docstring fails. A name-only link points at the definition's first line. A test link is
valid when the test file defines that test function. Every display formula (``$$ ... $$``)
must be followed, before the next formula or heading, by one code link and one test link.
A formula of a known slip (its links name the bug gallery's test, tests/teach/test_bugs.py)
must link its code into the gallery (compare/teach/bugs.py), where the slip is written,
never only to the correct code.

    python -m tools.doclinks            check docs/derivations, exit 1 on a broken link
    python -m tools.doclinks --fix      move each code link's #L to where its text runs now,
                                        and each test link to the one test file that now
                                        defines its test
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GALLERY_CODE = "compare/teach/bugs.py"  # the slips, each written as its tutorial wrote it
GALLERY_TEST = "teach/test_bugs.py"  # the test that the judge catches them
DOCS = ROOT / "docs" / "derivations"
CODE = re.compile(r"\[`(?P<name>[\w.]+)`(?::\s*`(?P<text>[^`]+)`)?\]"
                  r"\((?P<rel>(?:\.\./)+)(?P<path>(?:handmade|compare|torch_ref|bookkeeping)/[\w/]+\.py)"
                  r"#L(?P<line>\d+)\)")
TEST = re.compile(r"\[`(?P<file>test_\w+\.py)::(?P<test>\w+)`\]"
                  r"\((?P<rel>(?:\.\./)+)tests/(?P<dir>(?:\w+/)*)(?P=file)\)")


@dataclass
class Problem:
    doc: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Source:
    """One Python file as the checker reads it."""

    lines: tuple[str, ...]  # the text, line n at index n - 1
    spans: dict  # qualname -> (first line, last line) of every definition
    code: frozenset  # lines of executable statements, less blank and comment-only lines
    docstrings: frozenset  # lines inside a docstring (or any bare string statement)
    comment_at: dict  # line -> column where its comment starts

    def code_part(self, n: int) -> str:
        """Line ``n`` without its comment."""
        return self.lines[n - 1][:self.comment_at.get(n, len(self.lines[n - 1]))]

    def kind(self, n: int) -> str:
        """What line ``n`` is: executed code, a blank line, a comment or a docstring."""
        if not 1 <= n <= len(self.lines):
            return "past the end of the file"
        if n in self.docstrings:
            return "inside a docstring"
        if not self.lines[n - 1].strip():
            return "a blank line"
        if not self.code_part(n).strip():
            return "a comment"
        return "code" if n in self.code else "not an executable statement"


@cache
def read_source(path: Path) -> Source:
    text = path.read_text()
    tree = ast.parse(text)
    spans: dict[str, tuple[int, int]] = {}

    def visit(node, prefix=""):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                spans[name] = (child.lineno, child.end_lineno)
                visit(child, name + ".")
            elif not prefix and isinstance(child, (ast.Assign, ast.AnnAssign)):
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                for t in targets:
                    if isinstance(t, ast.Name):
                        spans[t.id] = (child.lineno, child.end_lineno)
    visit(tree)
    comment_at = {}
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT:
            comment_at[tok.start[0]] = tok.start[1]
    lines = tuple(text.splitlines())
    code, strings = _statement_lines(tree)
    code = {n for n in code - strings
            if lines[n - 1].strip() and lines[n - 1][:comment_at.get(n, None)].strip()}
    return Source(lines, spans, frozenset(code), frozenset(strings), comment_at)


def _statement_lines(tree: ast.AST) -> tuple[set[int], set[int]]:
    """``(code, strings)``: the lines of every statement (a compound one: its header lines
    only, not its body's) and the lines of bare string statements (docstrings)."""
    code: set[int] = set()
    strings: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.stmt, ast.excepthandler)):
            continue
        lines = set(range(node.lineno, node.end_lineno + 1))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(
                node.value.value, str):
            strings |= lines
            continue
        for field in ("body", "orelse", "finalbody", "handlers"):
            for child in getattr(node, field, None) or []:
                lines -= set(range(child.lineno, child.end_lineno + 1))
        code |= lines
    return code, strings


def _norm(s: str) -> str:
    return re.sub(r"\s+", "", s)


def _text_code(text: str) -> str:
    """A link text without its trailing comment (tokenized, so a '#' in a string stays)."""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                return text[:tok.start[1]]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # a fragment of a longer statement: its comments came before the error
    return text


def _where(src: Source, n: int) -> str:
    """Where a link text found on line ``n`` sits, when not in the line's code."""
    kind = src.kind(n)
    if kind == "inside a docstring":
        return "in a docstring"
    if kind in ("code", "a comment"):
        return "in a comment"
    return f"on a line that does not run ({kind})"


def _locate(m: re.Match, root: Path = ROOT) -> tuple[int | None, str | None]:
    """The executed line the link should point at, or (None, why not)."""
    path = root / m["path"]
    if not path.exists():
        return None, f"{m['path']} does not exist"
    src = read_source(path)
    span = src.spans.get(m["name"])
    if span is None:
        return None, f"{m['path']} defines no {m['name']}"
    if not m["text"]:
        return span[0], None
    text, code = _norm(m["text"]), _norm(_text_code(m["text"]))
    inside = [n for n in range(span[0], span[1] + 1) if text in _norm(src.lines[n - 1])]
    hits = [n for n in inside if n in src.code and code and code in _norm(src.code_part(n))]
    if not hits:
        if inside:
            places = sorted({_where(src, n) for n in inside})
            return None, (f"`{m['text']}` appears in {m['name']} only {' and '.join(places)} "
                          f"(line {inside[0]}): link to the line that runs")
        return None, f"{m['name']} in {m['path']} has no line containing `{m['text']}`"
    line = int(m["line"])
    return (line if line in hits else hits[0]), None


def check(docs=DOCS, root: Path = ROOT) -> list[Problem]:
    """Every broken link, and every formula without a code link and a test link."""
    read_source.cache_clear()
    _test_names.cache_clear()
    problems = []
    for doc in sorted(Path(docs).glob("*.md")):
        text = doc.read_text()
        for m in CODE.finditer(text):
            line_no = text.count("\n", 0, m.start()) + 1
            want, why = _locate(m, root)
            if why:
                problems.append(Problem(doc.name, line_no, why))
            elif want != int(m["line"]):
                kind = read_source(root / m["path"]).kind(int(m["line"]))
                problems.append(Problem(doc.name, line_no, f"{m['name']} link points at line "
                                        f"{m['line']} ({kind}), the code is at line {want}"))
        for m in TEST.finditer(text):
            rel = m["dir"] + m["file"]
            if m["test"] not in _test_names(root / "tests" / rel):
                problems.append(Problem(doc.name, text.count("\n", 0, m.start()) + 1,
                                        f"tests/{rel} has no test {m['test']}"))
        problems += _unlinked_formulas(doc.name, text)
    return problems


@cache
def _test_names(path: Path) -> frozenset[str]:
    if not path.exists():
        return frozenset()
    return frozenset(n.name for n in ast.walk(ast.parse(path.read_text()))
                     if isinstance(n, ast.FunctionDef) and n.name.startswith("test"))


def _unlinked_formulas(doc: str, text: str) -> list[Problem]:
    """Display formulas whose section (up to the next formula or heading) lacks a link."""
    formulas = [m.start() for m in re.finditer(r"\$\$.+?\$\$", text, re.S)]
    headings = [m.start() for m in re.finditer(r"^#", text, re.M)]
    problems = []
    for start in formulas:
        end = min([b for b in formulas + headings if b > start] + [len(text)])
        section = text[start:end]
        line = text.count("\n", 0, start) + 1
        if not CODE.search(section) or not TEST.search(section):
            problems.append(Problem(doc, line, "formula without a code link and a test link "
                                    "after it"))
        else:
            problems += [Problem(doc, line, f"formula of a known slip links {path}: link the "
                                 f"slip's code in {GALLERY_CODE}")
                         for path in _slip_links_elsewhere(section)]
    return problems


def _slip_links_elsewhere(section: str) -> list[str]:
    """The code links of a slip's formula that miss the gallery.

    The formula's link block is the paragraph right after its ``$$ ... $$``; it shows a
    slip when it names the bug gallery's test. Links in the prose after it may point
    anywhere (to the correct code, say).
    """
    formula_end = section.index("$$", 2) + 2
    block = section[formula_end:].lstrip("\n").split("\n\n", 1)[0]
    if not any(m["dir"] + m["file"] == GALLERY_TEST for m in TEST.finditer(block)):
        return []
    return [m["path"] for m in CODE.finditer(block) if m["path"] != GALLERY_CODE]


def _test_home(m: re.Match, root: Path) -> str | None:
    """``dir/file`` of the one test file under tests/ that defines the link's test."""
    homes = [p for p in sorted((root / "tests").rglob("test_*.py"))
             if m["test"] in _test_names(p)]
    return homes[0].relative_to(root / "tests").as_posix() if len(homes) == 1 else None


def fix(docs=DOCS, root: Path = ROOT) -> int:
    """Move every code link to the line where its text runs now, and every test link to
    the one test file that defines its test; returns the number of links changed."""
    read_source.cache_clear()
    _test_names.cache_clear()
    changed = 0

    def code(m):
        nonlocal changed
        want, why = _locate(m, root)
        if why or want == int(m["line"]):
            return m[0]
        changed += 1
        return m[0].replace(f"#L{m['line']})", f"#L{want})")

    def test(m):
        nonlocal changed
        if m["test"] in _test_names(root / "tests" / (m["dir"] + m["file"])):
            return m[0]
        home = _test_home(m, root)
        if home is None:
            return m[0]
        changed += 1
        return f"[`{home.rsplit('/', 1)[-1]}::{m['test']}`]({m['rel']}tests/{home})"

    for doc in sorted(Path(docs).glob("*.md")):
        text = doc.read_text()
        new = TEST.sub(test, CODE.sub(code, text))
        if new != text:
            doc.write_text(new)
    return changed


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--fix" in argv:
        print(f"updated {fix()} link(s)")
    problems = check()
    for p in problems:
        print(p)
    print(f"{len(problems)} broken link(s) in {DOCS.relative_to(ROOT)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
