"""Every command the docs tell a user to run is there after the install they describe.

The README, the pages of ``docs/`` and ``notebooks/README.md`` spell commands with the
environment's path: ``.venv/bin/TOOL [SUB]`` and ``.venv/bin/python -m MODULE``. Each TOOL
must be a script that some distribution installs (its console scripts or its ``bin/``
files), ``jupyter SUB`` must find ``jupyter-SUB``, and each MODULE must be importable,
where the distribution is handgrad itself, one of its requirements (base or an extra of
pyproject.toml) or what those require in turn; or one that the same line installs first
(``pip install jupyterlab && .venv/bin/jupyter lab``). A doc that tells the user to run
``jupyter nbconvert`` while no extra installs nbconvert fails here.
"""

import importlib.metadata as metadata
import importlib.util
import re
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "notebooks" / "README.md",
        *sorted((ROOT / "docs").glob("*.md"))]
TOOL = re.compile(r"\.venv/bin/([\w.-]+)(?:[ \t]+([a-z][\w-]*))?")
MODULE = re.compile(r"\.venv/bin/python[\d.]*[ \t]+-m[ \t]+([\w.]+)")
INSTALL = re.compile(r"pip install ((?:[\w\[\].-]+[ \t]*)+)")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(dist: metadata.Distribution) -> list[str]:
    """The names ``dist`` requires, extras and markers included (a superset is harmless)."""
    return [NAME.match(r).group() for r in dist.requires or ()]


def project_closure() -> set[str]:
    """handgrad and every distribution it, or one of its extras, needs, transitively."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    direct = [*project["dependencies"],
              *(r for extra in project["optional-dependencies"].values() for r in extra)]
    todo = [NAME.match(r).group() for r in direct]
    seen = {_key(project["name"])}
    while todo:
        name = _key(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            todo += _requirements(metadata.distribution(name))
        except metadata.PackageNotFoundError:
            pass  # not installed here: missing() reports what it would have provided
    return seen


def scripts_of(names: set[str]) -> set[str]:
    """Console scripts and ``bin/`` files of the installed distributions ``names``."""
    found = {"python", "python3", "pip", "activate"}  # the virtual environment's own
    for dist in metadata.distributions():
        if _key(dist.metadata["Name"]) not in names:
            continue
        found |= {e.name for e in dist.entry_points if e.group == "console_scripts"}
        found |= {Path(str(f)).name for f in dist.files or () if "/bin/" in f"/{f}"}
    return found


def missing(text: str, provided: set[str]) -> list[str]:
    """The commands of ``text`` that no distribution of the install provides."""
    out = []
    for line in text.splitlines():
        installs = " ".join(INSTALL.findall(line))
        if installs and not installs.strip().startswith("-e"):
            continue  # the line installs what it runs next (jupyterlab, mutmut)
        for tool, sub in TOOL.findall(line):
            name = f"{tool}-{sub}" if tool == "jupyter" and sub else tool
            if name not in provided:
                out.append(f"{name}: {line.strip()}")
        for module in MODULE.findall(line):
            top = module.split(".")[0]
            if not (ROOT / top).is_dir() and importlib.util.find_spec(top) is None:
                out.append(f"python -m {module}: {line.strip()}")
    return out


@pytest.fixture(scope="module")
def provided() -> set[str]:
    return scripts_of(project_closure())


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_every_command_a_doc_names_is_installed_by_the_project(doc, provided):
    assert missing(doc.read_text(), provided) == []


@pytest.mark.parametrize("line, caught", [
    (".venv/bin/jupyter nbconvert --to html notebooks/01_logistic_neuron.ipynb",
     ["jupyter-nbconvert"]),
    (".venv/bin/black .", ["black"]),
    (".venv/bin/python -m nbconvert x.ipynb", ["python -m nbconvert"]),
    (".venv/bin/pip install jupyterlab && .venv/bin/jupyter lab notebooks/", []),
    (".venv/bin/ruff check . && .venv/bin/handgrad verify", []),
    (".venv/bin/python -m tools.site build", []),
], ids=["nbconvert-of-no-extra", "a-tool-of-no-extra", "a-module-of-no-extra",
        "installed-on-the-line", "dev-and-the-project", "a-folder-of-the-repository"])
def test_the_check_catches_a_command_of_no_extra(line, caught, provided):
    assert [m.split(":")[0] for m in missing(line, provided)] == caught


DOCS_INSTALL = re.compile(r"""pip install (?:-q )?-e "\.\[([\w,]*docs[\w,]*)\]\"""")


def test_the_site_is_installed_with_the_same_extras_everywhere():
    # the README, docs/site.md and what CI runs (.ci/run) install the site's tools alike
    texts = {path: (ROOT / path).read_text() for path in ("README.md", "docs/site.md",
                                                           ".ci/run")}
    extras = {path: {frozenset(m.split(",")) for m in DOCS_INSTALL.findall(text)}
              for path, text in texts.items()}
    assert all(extras.values()), extras  # each one says it
    assert len(set().union(*extras.values())) == 1, extras
