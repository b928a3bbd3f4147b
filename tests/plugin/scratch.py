"""A user's project in a scratch folder, and a real ``python -m pytest`` run inside it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

# pytest's own variables would reach the child run (PYTEST_ADDOPTS, PYTEST_PLUGINS, xdist's
# PYTEST_XDIST_*): the scratch project must see pytest as a user's shell starts it
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if not k.startswith(("PYTEST_", "PYTHONPATH", "HYPOTHESIS_"))}


def write_project(folder: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path -> source, dedented) under ``folder``; the folder."""
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return folder


def run_pytest(folder: Path, *args: str, python: str = sys.executable, env=None,
               timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m pytest -p no:cacheprovider *args`` run in ``folder``, output captured;
    ``env``: variables added to the clean environment."""
    return subprocess.run([python, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=folder, env=CLEAN_ENV | (env or {}), capture_output=True,
                          text=True, timeout=timeout)


def replay_in_a_fresh_process(meta: Path, cwd: Path) -> subprocess.CompletedProcess:
    """``handgrad verify --replay META`` (through ``cli.main``) in a new interpreter started
    in ``cwd``, with the clean environment; output captured."""
    command = ("from handgrad.compare import cli; "
               f"raise SystemExit(cli.main(['verify', '--replay', {str(meta)!r}]))")
    return subprocess.run([sys.executable, "-c", command], cwd=cwd, env=CLEAN_ENV,
                          capture_output=True, text=True, timeout=120)


def outcomes(stdout: str) -> dict[str, str]:
    """node id -> PASSED/FAILED/ERROR, from the short summary of a ``-rA`` run."""
    found = re.findall(r"^(PASSED|FAILED|ERROR) (\S+)", stdout, flags=re.MULTILINE)
    return {nodeid: outcome for outcome, nodeid in found}


def failure_sections(stdout: str) -> dict[str, str]:
    """test name (as pytest heads its failure) -> the text of that failure's section."""
    parts = re.split(r"^_{3,} (\S+) _{3,}$", stdout, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))
