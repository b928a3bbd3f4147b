"""A user's module that hides a package handgrad needs (their own ``torch.py``), found.

Where a user's ``numpy.py`` or ``torch.py`` (or such a folder) lies first on ``sys.path``
(their project's root, the current folder under ``python -m pytest``), ``import torch``
finds it, and handgrad would fail deep inside with an error about a missing attribute.
``handgrad``'s lazy public names and its pytest plugin's fixtures ask here first and say
it in one line instead. Standard library only: the plugin loads this module only once a
fixture is used.
"""

from __future__ import annotations

import sys
from pathlib import Path

SHADOWABLE = ("numpy", "scipy", "torch")  # what handgrad imports, by its installed name


def shadowing_file(name: str) -> str | None:
    """The file that ``import name`` finds instead of the installed distribution, or None.

    Where a user's ``numpy.py`` (or ``numpy/__init__.py``) lies first on ``sys.path`` (the
    rootdir, the current folder under ``python -m pytest``), ``import numpy`` finds it, and
    handgrad would fail deep inside with an error about a missing attribute. Found by
    ``find_spec`` (nothing imported) or read from ``sys.modules`` where already imported;
    compared with the file the installed distribution holds. Not installed: None (the import
    itself will say so).
    """
    import importlib.util
    from importlib import metadata

    module = sys.modules.get(name)
    try:
        origin = (getattr(module, "__file__", None) if module is not None
                  else getattr(importlib.util.find_spec(name), "origin", None))
        installed = metadata.distribution(name).locate_file(f"{name}/__init__.py")
    except (ImportError, ValueError, metadata.PackageNotFoundError):
        return None
    if origin is None or not Path(installed).is_file():
        return None
    return None if Path(origin).resolve() == Path(installed).resolve() else origin


def shadowing_message() -> str:
    """One line per hidden package ('' where none is): the user's file and the remedy."""
    lines = []
    for name in SHADOWABLE:
        found = shadowing_file(name)
        if found is not None:
            lines.append(f"handgrad needs the installed {name}, but `import {name}` finds "
                         f"your {found} first on sys.path: rename that file (it hides "
                         f"{name} from every import)")
    return "\n".join(lines)
