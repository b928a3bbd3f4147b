"""The judge's policy lives in one module, and none of it is dead.

``compare/check/tolerances.py`` holds every threshold and step size of the judge. Each of
its public names (a constant, a ``Tolerance`` table, a policy function) must be read by
some module of ``compare/check``, and each field of ``Tolerance`` must be read somewhere
as an attribute: a field nothing reads is a promise the judge does not keep. The checkers
take the folder as an argument, so the planted trees below show that each can fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CHECK = Path(__file__).resolve().parents[2] / "compare" / "check"
POLICY = "tolerances.py"
DOCUMENTATION_FIELDS = {"reason"}  # written into every saved case's JSON, read by people


def _trees(folder: Path) -> dict[str, ast.Module]:
    return {p.name: ast.parse(p.read_text()) for p in sorted(folder.glob("*.py"))}


def _defined(policy: ast.Module) -> list[str]:
    """The public names the policy module defines at its top level."""
    names = []
    for node in policy.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
    return [n for n in names if not n.startswith("_")]


def _read(trees: dict[str, ast.Module]) -> set[str]:
    """Every name read (loaded, or imported by name) and every attribute read."""
    found = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                found.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                found.add(node.attr)
    return found


def unused_policy_names(folder: Path) -> list[str]:
    """Public names of ``folder/tolerances.py`` that no module of ``folder`` reads."""
    trees = _trees(folder)
    return [name for name in _defined(trees[POLICY]) if name not in _read(trees)]


def unread_tolerance_fields(folder: Path) -> list[str]:
    """Fields of ``Tolerance`` that no module of ``folder`` reads as an attribute."""
    trees = _trees(folder)
    policy_class = next(node for node in trees[POLICY].body
                        if isinstance(node, ast.ClassDef) and node.name == "Tolerance")
    fields = [node.target.id for node in policy_class.body if isinstance(node, ast.AnnAssign)]
    attributes = {node.attr for tree in trees.values() for node in ast.walk(tree)
                  if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load)}
    return [f for f in fields if f not in attributes and f not in DOCUMENTATION_FIELDS]


def test_every_name_of_the_policy_is_used():
    assert unused_policy_names(CHECK) == []


def test_every_field_of_a_tolerance_is_read():
    assert unread_tolerance_fields(CHECK) == []


PLANTED_POLICY = '''
from dataclasses import dataclass

STEP = 1e-5
FORGOTTEN = 1e-3


@dataclass(frozen=True)
class Tolerance:
    norm: float
    atol: float = 0.0
    reason: str = ""

    def passes(self, error):
        return error <= self.norm
'''

PLANTED_USER = '''
from tolerances import STEP, Tolerance


def check(error):
    return Tolerance(1e-6).passes(error * STEP)
'''


@pytest.mark.parametrize("checker, planted", [
    (unused_policy_names, ["FORGOTTEN"]),
    (unread_tolerance_fields, ["atol"]),
], ids=["unused-constant", "dead-field"])
def test_the_checkers_find_a_planted_mistake(tmp_path, checker, planted):
    (tmp_path / POLICY).write_text(PLANTED_POLICY)
    (tmp_path / "user.py").write_text(PLANTED_USER)
    assert checker(tmp_path) == planted
