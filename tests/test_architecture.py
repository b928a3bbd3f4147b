"""The rooms of docs/architecture.md, read from the source: who may import whom, and that no
modules import each other in a circle. (How long a function may grow is ruff's business:
pyproject.toml's [tool.ruff.lint] holds the size rules and their limits.)

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
PACKAGE = "handgrad"  # the one import name; the rooms are mapped into it (pyproject.toml)
ROOMS = ("handmade", "torch_ref", "bookkeeping", "compare")
SHIPPED = (PACKAGE, *ROOMS)  # the folders that ship
NOT_SHIPPED = ("tests", "tools", "benchmarks")
LOCAL = {PACKAGE, *ROOMS, *NOT_SHIPPED}
# the import name where it differs from the distribution's name on PyPI
DISTRIBUTION = {"sklearn": "scikit-learn"}
# a module that users import only with an extra installed -> that extra (pyproject.toml)
OPTIONAL = {"handgrad.strategies": "hypothesis"}


def room(name: str) -> str:
    """``handmade`` -> ``handgrad.handmade``: a room's import name."""
    return f"{PACKAGE}.{name}"


@dataclass(frozen=True)
class Rule:
    id: str
    rooms: tuple[str, ...]  # the modules the rule applies to (and their sub-modules)
    forbidden: tuple[str, ...]  # what they may not import (nor any sub-module of it)


RULES = [
    Rule("handmade-imports-no-torch-torch_ref-compare", (room("handmade"),),
         ("torch", room("torch_ref"), room("compare"))),
    Rule("torch_ref-imports-no-handmade", (room("torch_ref"),), (room("handmade"),)),
    Rule("bookkeeping-imports-no-handmade-torch_ref-compare-torch", (room("bookkeeping"),),
         (room("handmade"), room("torch_ref"), room("compare"), "torch")),
    Rule("check-imports-no-cli-train-teach", (room("compare.check"),),
         (room("compare.cli"), room("compare.train"), room("compare.teach"))),
    Rule("train-teach-import-no-cli", (room("compare.train"), room("compare.teach")),
         (room("compare.cli"),)),
    Rule("shipped-imports-no-tests-tools-benchmarks-ctypes", (PACKAGE,),
         (*NOT_SHIPPED, "ctypes")),
    # installed, the rooms exist only as handgrad.<room>: a bare "import compare" would find
    # a user's own compare.py, or nothing
    Rule("shipped-imports-rooms-only-as-handgrad", (PACKAGE,), ROOMS),
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
    """The import name of a file: a room's files live in ``handgrad.<room>`` once installed."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[0] in ROOMS:
        parts.insert(0, PACKAGE)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, root: Path) -> list[tuple[int, str]]:
    """``(line, absolute module name)`` for every import in ``path``.

    ``from a.b import c`` yields ``a.b`` and ``a.b.c`` (c may be a sub-module, as in
    ``from handgrad.compare import cli``); a relative import is resolved against the file's package.
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


def _distribution(spec: str) -> str:
    return _normal(re.match(r"[A-Za-z0-9._-]+", spec).group(0))


def declared_dependencies(root: Path) -> tuple[set[str], set[str], dict[str, set[str]]]:
    """The distributions of ``[project] dependencies``, the pytest11 plugin modules (pytest
    loads those, so they may import pytest, which is only a dev dependency), and each extra's
    distributions."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    plugins = project.get("entry-points", {}).get("pytest11", {}).values()
    extras = {extra: {_distribution(spec) for spec in specs}
              for extra, specs in project.get("optional-dependencies", {}).items()}
    return {_distribution(spec) for spec in project["dependencies"]}, set(plugins), extras


def undeclared_imports(root: Path, package: str) -> list[Violation]:
    """Third-party imports of ``package`` whose distribution pyproject.toml does not declare
    (a module of OPTIONAL may also use its extra's)."""
    declared, plugins, extras = declared_dependencies(root)
    out = {}
    for path in python_files(root, (package,)):
        module = module_name(path, root)
        allowed = declared | ({"pytest"} if module in plugins else set())
        allowed |= extras.get(OPTIONAL.get(module), set())
        rel = str(path.relative_to(root))
        for line, name in imported_names(path, root):
            top = name.partition(".")[0]
            dist = DISTRIBUTION.get(top, top)
            if top in sys.stdlib_module_names or top in LOCAL or _normal(dist) in allowed:
                continue
            out.setdefault((rel, line), Violation(
                f"{PACKAGE}-declares-its-dependencies", rel, line,
                f"imports {top} (distribution {dist}), not in [project] dependencies"))
    return list(out.values())


def type_checking_lines(path: Path) -> set[int]:
    """The lines inside ``if TYPE_CHECKING:`` blocks: imports for static tools, never run."""
    lines = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        test = getattr(node, "test", None)
        if isinstance(node, ast.If) and getattr(test, "id", getattr(test, "attr", "")) \
                == "TYPE_CHECKING":
            for child in node.body:
                lines.update(range(child.lineno, child.end_lineno + 1))
    return lines


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the shipped modules it names in an import (at module level or in a function).

    ``from a.b import c`` is an edge to ``a.b.c`` when that is a module, and to ``a.b`` (whose
    ``__init__`` runs first either way). Parent packages that Python imports implicitly are
    not edges: a package's ``__init__`` may gather its own modules. Nor are imports under
    ``if TYPE_CHECKING:``, which never run (handgrad/__init__.py names its lazy public face
    there, so that editors can follow it).
    """
    paths = {module_name(path, root): path for path in python_files(root)}
    graph = {}
    for name, path in paths.items():
        static_only = type_checking_lines(path)
        graph[name] = {imported for line, imported in imported_names(path, root)
                       if imported in paths and imported != name and line not in static_only}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(cycles)


def cycle_violations(root: Path) -> list[Violation]:
    return [Violation("no-import-cycles", " <-> ".join(cycle), 0,
                      f"{len(cycle)} modules import each other (lazy imports included)")
            for cycle in import_cycles(import_graph(root))]


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


def test_no_import_cycles():
    violations = cycle_violations(ROOT)
    assert not violations, _report(violations)


def test_the_checkers_see_the_real_imports():
    """A guard against a checker that silently reads nothing."""
    names = {n for p in python_files(ROOT) for _, n in imported_names(p, ROOT)}
    assert {"numpy", "torch", "handgrad.handmade", "handgrad.bookkeeping.errors"} <= names
    assert any(_within(n, "handgrad.compare.check") for n in names)
    assert {"numpy", "torch", "scikit-learn"} <= declared_dependencies(ROOT)[0]


# --- each rule fails on a planted violation ---------------------------------------------------

PYPROJECT = """\
[project]
name = "planted"
dependencies = ["numpy>=1.26", "torch>=2.3", "scikit-learn>=1.8"]
entry-points.pytest11 = { planted = "handgrad.plugin" }
optional-dependencies.hypothesis = ["hypothesis>=6.90"]
"""

# a clean tree: every room, each with the imports it may have
CLEAN = {
    "handgrad/__init__.py": "import importlib\n",
    "handgrad/plugin.py": "import pytest\n",  # a pytest11 plugin: pytest loads it
    "handgrad/strategies.py": "import hypothesis\n",  # OPTIONAL: its extra is declared
    "handmade/__init__.py": "import numpy as np\nfrom handgrad.bookkeeping.errors import E\n",
    "torch_ref/__init__.py": "import torch\nfrom handgrad.bookkeeping import errors\n",
    "bookkeeping/__init__.py": "", "bookkeeping/errors.py": "import os\nimport numpy\n",
    "compare/__init__.py": "import importlib\n",
    "compare/check/__init__.py": ("from handgrad import handmade\nimport handgrad.torch_ref\n"
                                  "from ..spec import S\n"),
    # sklearn: declared as scikit-learn, so the import-name map is exercised
    "compare/train/__init__.py": "from ..check import report\nfrom sklearn import datasets\n",
    "compare/teach/__init__.py": "from handgrad.compare.check.core import judge\n",
    "compare/cli/__init__.py": "def main():\n    from handgrad.compare.train import run\n",
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
    found += cycle_violations(root)
    return found


def test_the_clean_tree_has_no_violation(tmp_path):
    assert _all_violations(_tree(tmp_path, CLEAN)) == []


PLANTED = [  # (rule id, file, source): one violation each
    ("handmade-imports-no-torch-torch_ref-compare", "handmade/mlp.py",
     "def f():\n    import torch.nn.functional as F\n"),
    ("handmade-imports-no-torch-torch_ref-compare", "handmade/lazy.py",
     "import importlib\nimportlib.import_module('handgrad.torch_ref')\n"),
    ("handmade-imports-no-torch-torch_ref-compare", "handmade/judge.py",
     "from handgrad.compare.check import gradcheck\n"),
    ("torch_ref-imports-no-handmade", "torch_ref/mlp.py",
     "from handgrad.handmade.losses import bce\n"),
    ("torch_ref-imports-no-handmade", "torch_ref/up.py", "from ..handmade import losses\n"),
    ("bookkeeping-imports-no-handmade-torch_ref-compare-torch", "bookkeeping/atomic.py",
     "import torch\n"),
    ("bookkeeping-imports-no-handmade-torch_ref-compare-torch", "bookkeeping/training.py",
     "class T:\n    def fit(self):\n        from handgrad.compare import spec\n"),
    ("check-imports-no-cli-train-teach", "compare/check/core.py", "from ..cli import main\n"),
    ("check-imports-no-cli-train-teach", "compare/check/suite.py",
     "from handgrad.compare import train\n"),
    ("check-imports-no-cli-train-teach", "compare/check/report.py",
     "import handgrad.compare.teach.bugs\n"),
    ("train-teach-import-no-cli", "compare/teach/derive.py", "from .. import cli\n"),
    ("shipped-imports-no-tests-tools-benchmarks-ctypes", "compare/bench.py", "import ctypes\n"),
    ("shipped-imports-no-tests-tools-benchmarks-ctypes", "handmade/x.py",
     "from tests.bad_input import X\n"),
    ("shipped-imports-no-tests-tools-benchmarks-ctypes", "torch_ref/x.py", "import tools\n"),
    ("shipped-imports-no-tests-tools-benchmarks-ctypes", "bookkeeping/x.py",
     "from benchmarks import speed\n"),
    ("shipped-imports-rooms-only-as-handgrad", "compare/check/x.py", "import handmade\n"),
    ("shipped-imports-rooms-only-as-handgrad", "handgrad/x.py", "from compare import check\n"),
    ("handgrad-declares-its-dependencies", "compare/bench.py",
     "from threadpoolctl import threadpool_limits\n"),
    ("handgrad-declares-its-dependencies", "handmade/x.py", "import scipy.special\n"),
    ("handgrad-declares-its-dependencies", "compare/check/core.py", "import pytest\n"),
    ("handgrad-declares-its-dependencies", "compare/check/core.py", "import hypothesis\n"),
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


@pytest.mark.parametrize("files", [
    {"compare/check/report.py": "def f():\n    from handgrad.compare.check import replay\n",
     "compare/check/replay.py": "from handgrad.compare.check.report import Entry\n"},
    {"compare/check/a.py": "from . import b\n", "compare/check/b.py": "from . import c\n",
     "compare/check/c.py": "import handgrad.compare.check.a\n"},
], ids=["two-modules-one-lazy", "three-modules-relative"])
def test_a_planted_cycle_is_caught(tmp_path, files):
    found = _all_violations(_tree(tmp_path, {**CLEAN, **files}))
    members = sorted(module_name(tmp_path / rel, tmp_path) for rel in files)
    assert [(v.rule, v.path) for v in found] == [("no-import-cycles", " <-> ".join(members))]


def test_imports_for_static_tools_only_make_no_cycle(tmp_path):
    files = {"handgrad/__init__.py": ("from typing import TYPE_CHECKING\n"
                                      "if TYPE_CHECKING:\n"
                                      "    from handgrad.compare.spec import Spec\n"),
             "compare/spec.py": "from handgrad import handmade\n"}
    assert _all_violations(_tree(tmp_path, {**CLEAN, **files})) == []
    # the same import run for real closes the circle
    files["handgrad/__init__.py"] = "from handgrad.compare.spec import Spec\n"
    found = _all_violations(_tree(tmp_path, {**CLEAN, **files}))
    assert [v.rule for v in found] == ["no-import-cycles"]
