"""The README's commands run as written right after its first command.

The first command makes ``.venv`` and installs the project there; nothing is put on PATH.
So every later command must spell ``.venv/bin/handgrad`` or ``.venv/bin/python`` (a bare
``handgrad`` gives "command not found" and a bare ``python`` lacks the project). The cheap
commands are run verbatim with ``bash -c`` in a scratch folder that holds links to the
checkout's ``.venv`` and ``benchmarks`` (so that nothing lands in the checkout); the
training table is run by ``tests/cli/test_readme_figures.py``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _shell_blocks(text: str) -> list[list[str]]:
    """The lines of every fenced block that is not Python (``` or ```bash), in order."""
    blocks, current, language = [], None, None
    for line in text.splitlines():
        if line.startswith("```"):
            if current is None:
                current, language = [], line[3:].strip()
            else:
                if language in ("", "bash"):
                    blocks.append(current)
                current = None
        elif current is not None:
            current.append(line)
    return blocks


COMMANDS = [line.split("  #")[0].strip() for block in _shell_blocks(README)[1:]
            for line in block if line.strip() and not line.startswith(" ")]
TABLE = re.findall(r"^\|[^|]+\| `([^`]+)` \|", README, re.M)
# run verbatim: each takes a few seconds (the rest: placeholders, long runs, or the tests)
CHEAP = ("handgrad derive", "handgrad count", "benchmarks/vectorization.py")


def test_no_command_relies_on_an_activated_environment():
    bare = [c for c in COMMANDS + TABLE if re.match(r"(handgrad|python|pytest|mutmut)\b", c)]
    assert not bare, f"commands that need `source .venv/bin/activate` first: {bare}"
    assert len(COMMANDS) >= 10 and len(TABLE) == 5  # the blocks were found


def _runnable():
    return [c for c in COMMANDS if any(k in c for k in CHEAP) and "[" not in c]


def test_the_cheap_commands_are_found():
    assert len(_runnable()) >= 6, COMMANDS


@pytest.mark.parametrize("command", _runnable())
def test_readme_command_runs_verbatim(command, tmp_path):
    venv = ROOT / ".venv"
    if not (venv / "bin" / "handgrad").exists():
        pytest.skip(f"no environment at {venv} (the README's first command makes it)")
    (tmp_path / ".venv").symlink_to(venv)
    (tmp_path / "benchmarks").symlink_to(ROOT / "benchmarks")
    done = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={"PATH": "/usr/bin:/bin",
                                                       "HOME": str(tmp_path)})
    assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert done.stdout.strip(), command
