"""Links from the derivations (docs/derivations/*.md) to the code and the tests.

Two link forms tie each formula to what implements it and what checks it::

    [`dense_backward`: `dW = dZ.T @ X`](../../handmade/dense.py#L40)    code: name, line text
    [`MLP.backward`](../../handmade/mlp.py#L112)                         code: name only
    [`test_models.py::test_dense_backward`](../../tests/test_models.py)  test

A code link is valid when the file defines ``name`` (a function, class, method, or a
module-level assignment), the line lies inside that definition, and, when a line text is
given, that line contains it (whitespace ignored). A test link is valid when the test file
defines that test function. Every display formula (``$$ ... $$``) must be followed, before
the next formula or heading, by at least one code link and one test link.

    python -m tools.doclinks            check docs/derivations, exit 1 on a broken link
    python -m tools.doclinks --fix      rewrite each code link's #L to where its text is now
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "derivations"
CODE = re.compile(r"\[`(?P<name>[\w.]+)`(?::\s*`(?P<text>[^`]+)`)?\]"
                  r"\((?P<rel>(?:\.\./)+)(?P<path>(?:handmade|compare|torch_ref)/[\w/]+\.py)"
                  r"#L(?P<line>\d+)\)")
TEST = re.compile(r"\[`(?P<file>test_\w+\.py)::(?P<test>\w+)`\]"
                  r"\((?:\.\./)+tests/(?P<dir>(?:\w+/)*)(?P=file)\)")


@dataclass
class Problem:
    doc: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.message}"


def _definitions(path: Path) -> dict[str, tuple[int, int]]:
    """``qualname -> (first line, last line)`` for every def, class and top-level assignment."""
    tree = ast.parse(path.read_text())
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
    return spans


def _docstring_lines(path: Path) -> set[int]:
    """Line numbers inside docstrings (a link should point at code, not at prose)."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(
                    getattr(body[0], "value", None), ast.Constant) and isinstance(
                    body[0].value.value, str):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def _norm(s: str) -> str:
    return re.sub(r"\s+", "", s)


def _locate(m: re.Match) -> tuple[int | None, str | None]:
    """The line the link should point at, or (None, why not)."""
    path = ROOT / m["path"]
    if not path.exists():
        return None, f"{m['path']} does not exist"
    span = _definitions(path).get(m["name"])
    if span is None:
        return None, f"{m['path']} defines no {m['name']}"
    if not m["text"]:
        return span[0], None
    lines = path.read_text().splitlines()
    hits = [n for n in range(span[0], span[1] + 1) if _norm(m["text"]) in _norm(lines[n - 1])]
    code_hits = [n for n in hits if n not in _docstring_lines(path)]
    hits = code_hits or hits  # prefer code; a docstring line only when nothing else matches
    if not hits:
        return None, f"{m['name']} in {m['path']} has no line containing `{m['text']}`"
    line = int(m["line"])
    return (line if line in hits else hits[0]), None


def check(docs=DOCS) -> list[Problem]:
    """Every broken link, and every formula without a code link and a test link."""
    problems = []
    tests_cache: dict[str, set[str]] = {}
    for doc in sorted(Path(docs).glob("*.md")):
        text = doc.read_text()
        for m in CODE.finditer(text):
            line_no = text.count("\n", 0, m.start()) + 1
            want, why = _locate(m)
            if why:
                problems.append(Problem(doc.name, line_no, why))
            elif want != int(m["line"]):
                problems.append(Problem(doc.name, line_no, f"{m['name']} link points at line "
                                        f"{m['line']}, the code is at line {want}"))
        for m in TEST.finditer(text):
            rel = m["dir"] + m["file"]
            names = tests_cache.setdefault(rel, _test_names(ROOT / "tests" / rel))
            if m["test"] not in names:
                problems.append(Problem(doc.name, text.count("\n", 0, m.start()) + 1,
                                        f"tests/{rel} has no test {m['test']}"))
        problems += _unlinked_formulas(doc.name, text)
    return problems


def _test_names(path: Path) -> set[str]:
    if not path.exists():
        return set()
    return {n.name for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, ast.FunctionDef) and n.name.startswith("test")}


def _unlinked_formulas(doc: str, text: str) -> list[Problem]:
    """Display formulas whose section (up to the next formula or heading) lacks a link."""
    formulas = [m.start() for m in re.finditer(r"\$\$.+?\$\$", text, re.S)]
    headings = [m.start() for m in re.finditer(r"^#", text, re.M)]
    problems = []
    for start in formulas:
        end = min([b for b in formulas + headings if b > start] + [len(text)])
        section = text[start:end]
        if not CODE.search(section) or not TEST.search(section):
            problems.append(Problem(doc, text.count("\n", 0, start) + 1,
                                    "formula without a code link and a test link after it"))
    return problems


def fix(docs=DOCS) -> int:
    """Rewrite every code link's line number to where its text is now; returns the count."""
    changed = 0
    for doc in sorted(Path(docs).glob("*.md")):
        text = doc.read_text()

        def repl(m):
            nonlocal changed
            want, why = _locate(m)
            if why or want == int(m["line"]):
                return m[0]
            changed += 1
            return m[0].replace(f"#L{m['line']})", f"#L{want})")
        new = CODE.sub(repl, text)
        if new != text:
            doc.write_text(new)
    return changed


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--fix" in argv:
        print(f"updated {fix()} line numbers")
    problems = check()
    for p in problems:
        print(p)
    print(f"{len(problems)} broken link(s) in {DOCS.relative_to(ROOT)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
