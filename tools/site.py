"""Build the handgrad site: docs/ and the executed notebooks as HTML, in build/site/.

    python -m tools.site build [--out DIR]     stage, execute the notebooks, run Sphinx
    python -m tools.site serve [--port N]      serve build/site on http://127.0.0.1:N/

``build`` works in three steps (docs/site.md says why Sphinx, and how to view the site):

1. Stage a copy of the sources in build/site-src/: every file of docs/ as it is (less
   docs/answers/, the instructor's answer key, which the site leaves out), except
   that each Markdown link to a repository file outside docs/ and notebooks/ (the
   derivations' ``../../handmade/mlp.py#L186``) is pointed at a generated code page; each
   notebook of notebooks/ executed (``tools.notebooks``: the copy in build/notebooks/ is
   reused while the notebook's SHA-256 is unchanged, so CI runs each notebook once) and
   shown as the student sees it, each exercise's blank first and the solution behind a
   closed fold (``tools.student.folded``); and
   one code page per linked file, ``code/<path>.md``: the file highlighted by Pygments,
   line ``n`` in an element with ``id="L<n>"``, so the link's ``#L186`` lands on the line;
   and each notebook's student version (``tools.student``) in ``notebooks/student/``, a
   download linked from the Notebooks page.
   The Markdown sources themselves are never changed.
2. Run Sphinx (configuration: docs/conf.py) on the staging copy into ``--out``.
3. Write ``<out>/.build.json``: the digest of every input, the warnings, the seconds.

Any Sphinx warning fails the build (exit 1, each warning printed): a link to a page or a
heading that does not exist is a warning, and would otherwise be a dead link.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tools import student
from tools.site_pages import (  # noqa: F401 - re-exported for the tests
    CODE_DIR,
    CSS,
    LINK,
    OUT,
    ROOT,
    Layout,
    code_page,
    link_target,
    offline_outputs,
    rewrite_markdown,
)

STAMP = ".build.json"
STUDENT_DIR = "student"  # notebooks/student/ in the staging copy: downloads, not pages
ANSWERS = "answers"  # docs/answers/: the instructor's answer key, not staged, not on the site


def _write(path: Path, data: bytes | str, written: set) -> None:
    """Write only when the content changed, so Sphinx rebuilds only what changed."""
    data = data.encode() if isinstance(data, str) else data
    written.add(path)
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def notebook_inputs(layout: Layout) -> list[Path]:
    return sorted(layout.notebooks.glob("*.ipynb"))


def executed_notebook(path: Path, layout: Layout, log=print):
    """The executed NotebookNode of ``path``: build/notebooks' copy if current, else run."""
    from tools import notebooks

    nb = notebooks.executed_copy(path, layout.executed)
    if nb is None:
        nb, seconds = notebooks.execute(path, out_dir=layout.executed)
        log(f"executed {path.name} in {seconds:.1f} s")
    return nb


def notebooks_index(nbs: list[Path], layout: Layout) -> str:
    """The Notebooks section's page: notebooks/README.md if there is one, the student
    versions to download, and a toctree."""
    readme = layout.notebooks / "README.md"
    dest = layout.stage / "notebooks" / "index.md"
    text = rewrite_markdown(readme.read_text(), readme, dest, layout) if readme.is_file() \
        else ("# Notebooks\n\nThe notebooks of `notebooks/`, each executed on a fresh kernel "
              "when this site was built.\n")
    toc = "\n".join(p.stem for p in nbs)
    return text + student_downloads(nbs) + (
        f"\n```{{toctree}}\n:hidden:\n\n{toc}\n```\n" if nbs else "")


def student_downloads(nbs: list[Path]) -> str:
    """A list of the student notebooks (``tools.student``), each a download."""
    if not nbs:
        return ""
    lines = ["", "## The student versions", "",
             "Each notebook with every exercise's answer blanked (`python -m tools.student`), "
             "to download and run in Jupyter:", ""]
    for p in nbs:
        first = json.loads(p.read_text())["cells"][0]
        title = "".join(first.get("source", "")).splitlines()[0].lstrip("# ").strip()
        lines.append(f"- {{download}}`{title} <{STUDENT_DIR}/{p.name}>`")
    return "\n".join(lines) + "\n"


def stage(layout: Layout, log=print) -> dict:
    """Lay out build/site-src (see the module docstring); returns counts of what it holds."""
    import nbformat

    layout.code.clear()
    written: set[Path] = set()
    pages = 0
    for src in sorted(p for p in layout.docs.rglob("*") if p.is_file()):
        if src.name == "conf.py" or "__pycache__" in src.parts \
                or src.relative_to(layout.docs).parts[0] == ANSWERS:
            continue
        dest = layout.stage / src.relative_to(layout.docs)
        if src.suffix == ".md":
            pages += 1
            _write(dest, rewrite_markdown(src.read_text(), src, dest, layout), written)
        else:
            _write(dest, src.read_bytes(), written)
    nbs = notebook_inputs(layout)
    for src in nbs:
        nb = student.folded(executed_notebook(src, layout, log))
        dest = layout.stage / "notebooks" / src.name
        offline_outputs(nb)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = rewrite_markdown(cell.source, src, dest, layout)
        _write(dest, nbformat.writes(nb), written)
    for src in nbs:
        blanked = student.student(nbformat.read(src, as_version=4))
        _write(layout.stage / "notebooks" / STUDENT_DIR / src.name, nbformat.writes(blanked),
               written)
    _write(layout.stage / "notebooks" / "index.md", notebooks_index(nbs, layout), written)
    for rel in sorted(layout.code):
        _write(layout.stage / CODE_DIR / (rel + ".md"), code_page(rel, layout), written)
    _write(layout.stage / "_static" / "handgrad.css", CSS, written)
    for old in [p for p in layout.stage.rglob("*") if p.is_file() and p not in written]:
        old.unlink()
    return {"pages": pages, "notebooks": len(nbs), "code pages": len(layout.code)}


def inputs_digest(layout: Layout) -> str:
    """SHA-256 over this file and site_pages.py, docs/, the notebooks and every code file
    docs/ links to."""
    layout.code.clear()
    builders = [Path(__file__), Path(__file__).with_name("site_pages.py"),
                Path(__file__).with_name("student.py")]
    files = [*builders, *sorted(p for p in layout.docs.rglob("*") if p.is_file()
                                and "__pycache__" not in p.parts)]
    for src in files[len(builders):]:
        if src.suffix == ".md":
            rewrite_markdown(src.read_text(), src, layout.stage / src.name, layout)
    for src in notebook_inputs(layout):
        for cell in json.loads(src.read_text()).get("cells", []):
            if cell.get("cell_type") == "markdown":
                text = "".join(cell.get("source", ""))
                rewrite_markdown(text, src, layout.stage / src.name, layout)
        files.append(src)
    readme = layout.notebooks / "README.md"
    if readme.is_file():
        rewrite_markdown(readme.read_text(), readme, layout.stage / "index.md", layout)
        files.append(readme)
    files += [layout.root / rel for rel in sorted(layout.code)]
    h = hashlib.sha256()
    for f in files:
        name = f.relative_to(layout.root) if f.is_relative_to(layout.root) else f
        h.update(str(name).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def is_fresh(out: Path = OUT, layout: Layout | None = None) -> bool:
    """True when ``out`` was built, without warnings, from the inputs as they are now."""
    try:
        stamp = json.loads((out / STAMP).read_text())
    except (OSError, ValueError):
        return False
    return not stamp.get("warnings") and stamp.get("inputs") == inputs_digest(
        layout or Layout())


def source_of(warning: str, layout: Layout) -> str:
    """A Sphinx warning with its staged path turned back into the file to edit."""
    stage = str(layout.stage) + os.sep
    if not warning.startswith(stage):
        return warning.replace(stage, "build/site-src/")
    rel = warning[len(stage):]
    if rel.startswith("notebooks/index.md"):
        src = layout.notebooks / "README.md"
        rel = str(src) + rel[len("notebooks/index.md"):]
    elif rel.startswith("notebooks/"):
        rel = str(layout.notebooks) + rel[len("notebooks"):]
    elif rel.startswith(CODE_DIR + "/"):
        return "build/site-src/" + rel
    else:
        rel = str(layout.docs / rel)
    root = str(layout.root) + os.sep
    return rel[len(root):] if rel.startswith(root) else rel


@dataclass
class Built:
    out: Path
    seconds: float
    counts: dict
    warnings: list


def build(out: Path = OUT, layout: Layout | None = None, log=print) -> Built:
    """Stage, then run Sphinx into ``out`` (emptied first); see the module docstring."""
    layout = layout or Layout()
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / STAMP).exists() \
            and not (out / ".buildinfo").exists():
        raise ValueError(f"out={str(out)!r} holds files but no built site, so it is not "
                         "emptied; choose an empty or new folder")
    start = time.perf_counter()
    digest = inputs_digest(layout)
    counts = stage(layout, log)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    warnfile = out.parent / (out.name + "-warnings.txt")
    warnfile.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "--keep-going",
           "-c", str(layout.docs), "-d", str(out.parent / (out.name + "-doctrees")),
           "-w", str(warnfile), str(layout.stage), str(out)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    warnings = [w for w in warnfile.read_text().splitlines() if w.strip()] \
        if warnfile.exists() else []
    if run.returncode and not warnings:
        warnings = [f"sphinx-build exited {run.returncode}: {run.stderr.strip()[-2000:]}"]
    warnings = [source_of(w, layout) for w in warnings]
    seconds = time.perf_counter() - start
    (out / STAMP).write_text(json.dumps({"inputs": digest, "warnings": warnings,
                                         "seconds": round(seconds, 1), "counts": counts},
                                        indent=1, allow_nan=False))
    return Built(out, seconds, counts, warnings)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.site",
                                     description="Build or serve the handgrad site.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the site into build/site")
    b.add_argument("--out", type=Path, default=OUT, help="output folder (default build/site)")
    s = sub.add_parser("serve", help="serve the built site on 127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.command == "serve":
        if not (args.out / "index.html").is_file():
            parser.error(f"--out {str(args.out)!r} holds no built site: run "
                         "python -m tools.site build")
        if not 0 < args.port < 65536:
            parser.error(f"--port {args.port} is not a port number (1-65535)")
        import functools
        from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

        handler = functools.partial(SimpleHTTPRequestHandler, directory=str(args.out))
        with ThreadingHTTPServer(("127.0.0.1", args.port), handler) as server:
            print(f"serving {args.out} on http://127.0.0.1:{args.port}/ (Ctrl-C stops)")
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                pass
        return 0
    from tools.notebooks import NotebookError

    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {str(args.out)!r} is a file, not a folder")
    try:
        built = build(args.out)
    except ValueError as exc:
        parser.error(f"--out {str(exc).removeprefix('out=')}")
    except NotebookError as exc:
        print(f"python -m tools.site build: a notebook failed: {exc}", file=sys.stderr)
        return 1
    for w in built.warnings:
        print(w, file=sys.stderr)
    c = built.counts
    pages = len(list(built.out.rglob("*.html")))
    print(f"built {pages} HTML pages ({c['pages']} docs pages, {c['notebooks']} notebooks, "
          f"{c['code pages']} code pages) into {built.out} in {built.seconds:.1f} s")
    if built.warnings:
        print(f"python -m tools.site build: {len(built.warnings)} Sphinx warning(s) above: "
              "the build fails on warnings", file=sys.stderr)
        return 1
    serve = "" if built.out == OUT else f" --out {built.out}"
    print(f"open {built.out / 'index.html'} in a browser, or: python -m tools.site serve{serve}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
