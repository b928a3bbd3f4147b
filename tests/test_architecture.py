"""The rooms of docs/architecture.md, read from the source: who may import whom, and how long
a file may grow.

Every ``import`` and ``from ... import`` statement counts, at module level or inside a
function, and so does ``importlib.import_module("name")`` / ``__import__("name")`` with a
literal name; relative imports are resolved against the file's package. (A name computed at
run time, as in compare/__init__.py's lazy table, is out of reach of a static reading.)

The checkers take the repository root as an argument, so the second half of this file runs
them on a small tree with one planted violation per rule: each rule can fail.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("handmade", "torch_ref", "bookkeeping", "compare")
NOT_SHIPPED = ("tests", "tools", "benchmarks")
LOCAL = {*SHIPPED, *NOT_SHIPPED}
MAX_LINES = 300
LENGTH_ROOMS = (*SHIPPED, "tests")
# the import name where it differs from the distribution's name on PyPI
DISTRIBUTION = {"sklearn": "scikit-learn"}


@dataclass(frozen=True)
class Rule:
    id: str
    rooms: tuple[str, ...]  # the modules the rule applies to (and their sub-modules)
    forbidden: tuple[str, ...]  # what they may not import (nor any sub-module of it)


RULES = [
    Rule("handmade-imports-no-torch-torch_ref-compare", ("handmade",),
         ("torch", "torch_ref", "compare")),
    Rule("torch_ref-imports-no-handmade", ("torch_ref",), ("handmade",)),
    Rule("bookkeeping-imports-no-handmade-torch_ref-compare-torch", ("bookkeeping",),
         ("handmade", "torch_ref", "compare", "torch")),
    Rule("check-imports-no-cli-train-teach", ("compare.check",),
         ("compare.cli", "compare.train", "compare.teach")),
    Rule("train-teach-import-no-cli", ("compare.train", "compare.teach"), ("compare.cli",)),
    Rule("shipped-imports-no-tests-tools-benchmarks-ctypes", SHIPPED,
         (*NOT_SHIPPED, "ctypes")),
]


@dataclass(frozen=True)
class Violation:
    rule: str
    path: str  # relative to the root
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what} ({self.rule})"


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, root: Path) -> list[tuple[int, str]]:
    """``(line, absolute module name)`` for every import in ``path``.

    ``from a.b import c`` yields ``a.b`` and ``a.b.c`` (c may be a sub-module, as in
    ``from compare import cli``); a relative import is resolved against the file's package.
    """
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module
            if node.module:
                found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names
                      if alias.name != "*"]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__"):
                found.append((node.lineno, node.args[0].value))
    return found


def python_files(root: Path, rooms=SHIPPED):
    for room in rooms:
        for path in sorted((root / room).rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield path


def import_violations(root: Path, rule: Rule) -> list[Violation]:
    """One violation per offending import statement (its first forbidden name)."""
    out = {}
    for path in python_files(root):
        if not any(_within(module_name(path, root), room) for room in rule.rooms):
            continue
        rel = str(path.relative_to(root))
        for line, name in imported_names(path, root):
            if any(_within(name, bad) for bad in rule.forbidden):
                out.setdefault((rel, line), Violation(rule.id, rel, line, f"imports {name}"))
    return sorted(out.values(), key=lambda v: (v.path, v.line))


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_dependencies(root: Path) -> tuple[set[str], set[str]]:
    """The distributions of ``[project] dependencies``, and the pytest11 plugin modules (pytest
    loads those, so they may import pytest, which is only a dev dependency)."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    names = (re.match(r"[A-Za-z0-9._-]+", spec).group(0) for spec in project["dependencies"])
    plugins = project.get("entry-points", {}).get("pytest11", {}).values()
    return {_normal(name) for name in names}, set(plugins)


def undeclared_imports(root: Path, package: str) -> list[Violation]:
    """Third-party imports of ``package`` whose distribution pyproject.toml does not declare."""
    declared, plugins = declared_dependencies(root)
    out = {}
    for path in python_files(root, (package,)):
        allowed = declared | ({"pytest"} if module_name(path, root) in plugins else set())
        rel = str(path.relative_to(root))
        for line, name in imported_names(path, root):
            top = name.partition(".")[0]
            dist = DISTRIBUTION.get(top, top)
            if top in sys.stdlib_module_names or top in LOCAL or _normal(dist) in allowed:
                continue
            out.setdefault((rel, line), Violation(
                f"{package}-declares-its-dependencies", rel, line,
                f"imports {top} (distribution {dist}), not in [project] dependencies"))
    return list(out.values())


def long_files(root: Path, room: str, limit: int = MAX_LINES) -> list[Violation]:
    out = []
    for path in sorted((root / room).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            n = len(path.read_bytes().splitlines())
            if n > limit:
                out.append(Violation(f"{room}-files-at-most-{limit}-lines",
                                     str(path.relative_to(root)), n, f"{n} lines"))
    return out


def _report(violations) -> str:
    return "\n".join(map(str, violations))


# --- the repository --------------------------------------------------------------------------

@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_import_rule_holds(rule):
    violations = import_violations(ROOT, rule)
    assert not violations, _report(violations)


@pytest.mark.parametrize("package", SHIPPED)
def test_third_party_imports_are_declared_dependencies(package):
    violations = undeclared_imports(ROOT, package)
    assert not violations, _report(violations)


@pytest.mark.parametrize("room", LENGTH_ROOMS)
def test_no_file_longer_than_300_lines(room):
    violations = long_files(ROOT, room)
    assert not violations, _report(violations)


def test_the_checkers_see_the_real_imports():
    """A guard against a checker that silently reads nothing."""
    names = {n for p in python_files(ROOT) for _, n in imported_names(p, ROOT)}
    assert {"numpy", "torch", "handmade", "bookkeeping.errors"} <= names
    assert any(_within(n, "compare.check") for n in names)
    assert {"numpy", "torch", "scikit-learn"} <= declared_dependencies(ROOT)[0]


# --- each rule fails on a planted violation ---------------------------------------------------

PYPROJECT = """\
[project]
name = "planted"
dependencies = ["numpy>=1.26", "torch>=2.3", "scikit-learn>=1.8"]
entry-points.pytest11 = { planted = "compare.check.plugin" }
"""

# a clean tree: every room, each with the imports it may have
CLEAN = {
    "handmade/__init__.py": "import numpy as np\nfrom bookkeeping.errors import E\n",
    "torch_ref/__init__.py": "import torch\nfrom bookkeeping import errors\n",
    "bookkeeping/__init__.py": "", "bookkeeping/errors.py": "import os\nimport numpy\n",
    "compare/__init__.py": "import importlib\n",
    "compare/check/__init__.py": "import handmade\nimport torch_ref\nfrom ..spec import S\n",
    "compare/check/plugin.py": "import pytest\n",  # a pytest11 plugin: pytest loads it
    # sklearn: declared as scikit-learn, so the import-name map is exercised
    "compare/train/__init__.py": "from ..check import core\nfrom sklearn import datasets\n",
    "compare/teach/__init__.py": "from compare.check.core import judge\n",
    "compare/cli/__init__.py": "def main():\n    from compare.train import run\n",
    "tests/test_x.py": "import tests.bad_input\nimport tools.doclinks\n",
}


def _tree(root: Path, files: dict[str, str]) -> Path:
    (root / "pyproject.toml").write_text(PYPROJECT)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _all_violations(root: Path) -> list[Violation]:
    found = [v for rule in RULES for v in import_violations(root, rule)]
    found += [v for package in SHIPPED for v in undeclared_imports(root, package)]
    return found + [v for room in LENGTH_ROOMS for v in long_files(root, room)]


def test_the_clean_tree_has_no_violation(tmp_path):
    assert _all_violations(_tree(tmp_path, CLEAN)) == []


PLANTED = [  # (rule id, file, source): one violation each
    ("handmade-imports-no-torch-torch_ref-compare", "handmade/mlp.py",
     "def f():\n    import torch.nn.functional as F\n"),
    ("handmade-imports-no-torch-torch_ref-compare", "handmade/lazy.py",
     "import importlib\nimportlib.import_module('torch_ref')\n"),
    ("handmade-imports-no-torch-torch_ref-compare", "handmade/judge.py",
     "from compare.check import gradcheck\n"),
    ("torch_ref-imports-no-handmade", "torch_ref/mlp.py", "from handmade.losses import bce\n"),
    ("bookkeeping-imports-no-handmade-torch_ref-compare-torch", "bookkeeping/atomic.py",
     "import torch\n"),
    ("bookkeeping-imports-no-handmade-torch_ref-compare-torch", "bookkeeping/training.py",
     "class T:\n    def fit(self):\n        from compare import spec\n"),
    ("check-imports-no-cli-train-teach", "compare/check/core.py", "from ..cli import main\n"),
    ("check-imports-no-cli-train-teach", "compare/check/suite.py", "from compare import train\n"),
    ("check-imports-no-cli-train-teach", "compare/check/report.py", "import compare.teach.bugs\n"),
    ("train-teach-import-no-cli", "compare/teach/derive.py", "from .. import cli\n"),
    ("shipped-imports-no-tests-tools-benchmarks-ctypes", "compare/bench.py", "import ctypes\n"),
    ("shipped-imports-no-tests-tools-benchmarks-ctypes", "handmade/x.py",
     "from tests.bad_input import X\n"),
    ("shipped-imports-no-tests-tools-benchmarks-ctypes", "torch_ref/x.py", "import tools\n"),
    ("shipped-imports-no-tests-tools-benchmarks-ctypes", "bookkeeping/x.py",
     "from benchmarks import speed\n"),
    ("compare-declares-its-dependencies", "compare/bench.py",
     "from threadpoolctl import threadpool_limits\n"),
    ("handmade-declares-its-dependencies", "handmade/x.py", "import scipy.special\n"),
    ("compare-declares-its-dependencies", "compare/check/core.py", "import pytest\n"),
]


def _plant_id(case) -> str:
    rule, rel, source = case
    return f"{rule}:{rel}:{source.strip().splitlines()[-1].strip()}"


@pytest.mark.parametrize("rule, rel, source", PLANTED, ids=map(_plant_id, PLANTED))
def test_a_planted_import_is_caught_by_its_rule(tmp_path, rule, rel, source):
    root = _tree(tmp_path, {**CLEAN, rel: source})
    found = _all_violations(root)
    assert [(v.rule, v.path) for v in found] == [(rule, rel)], _report(found)
    assert found[0].line == len(source.strip().splitlines())  # the line of the import


@pytest.mark.parametrize("room", LENGTH_ROOMS)
def test_a_planted_long_file_is_caught(tmp_path, room):
    root = _tree(tmp_path, {**CLEAN, f"{room}/at_limit.py": "x = 1\n" * MAX_LINES})
    assert _all_violations(root) == []  # 300 lines: allowed
    (root / room / "long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    found = _all_violations(root)
    assert [(v.rule, v.path, v.line) for v in found] == [
        (f"{room}-files-at-most-{MAX_LINES}-lines", f"{room}/long.py", MAX_LINES + 1)]
