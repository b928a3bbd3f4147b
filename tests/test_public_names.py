"""handgrad's public face: three lists of one set of names, held together.

``handgrad/__init__.py`` names its public objects three times: ``_LAZY`` (what runs: the
module each name is imported from on first use), ``__all__`` (written out, for static tools
and ``from handgrad import *``) and the ``if TYPE_CHECKING:`` imports (never run: for
editors' go-to-definition). A name added to one and not the others would be invisible to
users or to their editors; these tests read all three and compare them.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import handgrad

INIT = Path(handgrad.__file__)


def static_imports() -> dict[str, str]:
    """name -> module, from the ``if TYPE_CHECKING:`` block of handgrad/__init__.py."""
    found = {}
    for node in ast.walk(ast.parse(INIT.read_text())):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for statement in node.body:
                for alias in statement.names:
                    found[alias.name] = f"{statement.module}.{alias.name}" \
                        if alias.name in handgrad._MODULES else statement.module
    return found


def test_all_lists_exactly_the_lazy_names():
    assert sorted(handgrad.__all__) == sorted(handgrad._LAZY)


def test_the_static_imports_name_the_same_modules_as_the_lazy_table():
    assert static_imports() == handgrad._LAZY


@pytest.mark.parametrize("name", sorted(handgrad._LAZY))
def test_each_public_name_is_the_object_its_module_defines(name):
    module = importlib.import_module(handgrad._LAZY[name])
    expected = module if name in handgrad._MODULES else getattr(module, name)
    assert getattr(handgrad, name) is expected
