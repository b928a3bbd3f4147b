"""Execute, cache and strip the tutorial notebooks (notebooks/*.ipynb).

One function runs a notebook, for the tests and for the site build alike::

    execute(path, out_dir=None, timeout=240) -> (executed NotebookNode, seconds)

(``execute_then`` runs a second notebook after it on the same kernel: a student version.)

It runs every cell top to bottom on a fresh kernel: ipykernel's ``python3`` kernel, started
with *this* interpreter (``sys.executable``), so the notebook sees the same installed
``handmade``/``compare`` as the caller. The kernel's working directory is a fresh temporary
folder (removed afterwards), so whatever a notebook writes never lands in the repository.
Plots come out inline as PNG even when the caller's environment says ``MPLBACKEND=Agg``
(the kernel's own ``MPLBACKEND`` is set to matplotlib-inline's backend). ``timeout`` is
the limit per cell, in seconds.

When a cell raises (or runs past ``timeout``), ``execute`` raises ``NotebookError`` whose
message names the notebook and the cell, and shows the cell's source and the traceback.

With ``out_dir``, the executed copy is written to ``out_dir/<name>.ipynb`` with
``metadata["handgrad"] = {"source_sha256": ..., "seconds": ...}``; ``executed_copy(path,
out_dir)`` returns that copy while the source is unchanged (same SHA-256), else None, so a
later caller reuses it instead of running the notebook again.

Committed notebooks carry no outputs: ``stripped(nb)`` says whether one is clean, and

    python -m tools.notebooks --strip [FILE ...]   remove outputs and execution counts in place
    python -m tools.notebooks --check [FILE ...]   exit 1 when a file still carries outputs
    python -m tools.notebooks --run [FILE ...]     execute into build/notebooks, print the times

work on every notebooks/*.ipynb when no file is named.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
BUILD = ROOT / "build" / "notebooks"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class NotebookError(RuntimeError):
    """A notebook cell raised or timed out; the message holds the cell's source and traceback."""


def notebook_paths(folder: Path = NOTEBOOKS) -> list[Path]:
    """Every ``*.ipynb`` directly in ``folder``, sorted by name."""
    return sorted(Path(folder).glob("*.ipynb"))


def source_sha256(path) -> str:
    """SHA-256 (hex) of the notebook file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _kernel_manager_class():
    """An AsyncKernelManager whose ``python3`` kernel is ipykernel run by sys.executable.

    A kernelspec named ``python3`` found elsewhere (a user's ~/.local/share/jupyter) could
    point at another interpreter; this one cannot.
    """
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from traitlets import default

    class ThisPythonSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f",
                                    "{connection_file}"],
                              display_name="Python 3 (ipykernel)", language="python",
                              metadata={"debugger": False}, resource_dir=str(ROOT))

    class ThisPythonKernel(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _this_python_specs(self):
            return ThisPythonSpecs(data_dir=self.data_dir)

    return ThisPythonKernel


def _describe_failure(name: str, nb, exc: BaseException, timeout: float | None) -> str:
    """The first cell with an error output (a cell that timed out is interrupted and shows
    one too): what happened, its source, its traceback. ``timeout``: the limit, when the
    failure was a timeout; None otherwise."""
    timed_out = timeout is not None
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                trace = _ANSI.sub("", "\n".join(out.get("traceback", [])))
                what = (f"ran past the {timeout:g} s limit per cell and was interrupted"
                        if timed_out else f"raised {out.get('ename')}: {out.get('evalue')}")
                return (f"{name}: cell {i} {what}\n"
                        f"--- cell {i} source ---\n{cell.source}\n--- traceback ---\n{trace}")
    return f"{name}: {type(exc).__name__}: {_ANSI.sub('', str(exc))}"


def execute(path, out_dir=None, timeout: float = 240, allow_errors: bool = False):
    """Run ``path`` top to bottom on a fresh kernel; return (executed NotebookNode, seconds).

    ``timeout``: seconds allowed per cell. Raises ``NotebookError`` (cell source and
    traceback in the message) when a cell raises or times out, FileNotFoundError when
    ``path`` does not exist. With ``allow_errors`` a cell that raises does not stop the run:
    its error is kept as the cell's output (a student notebook's blank exercises). With
    ``out_dir`` the executed copy is written there as
    ``<name>.ipynb`` carrying ``metadata["handgrad"]["source_sha256"]``.
    """
    return execute_then(path, None, out_dir, timeout, allow_errors)


def execute_then(path, then, out_dir=None, timeout: float = 240, allow_errors: bool = False):
    """``execute(path, ...)``, then the NotebookNode ``then`` (None: nothing) on the same
    kernel, errors allowed; returns ``execute``'s (executed notebook, seconds).

    ``then`` is executed in place: its cells hold their outputs afterwards. ``path`` runs
    first, on the fresh kernel, exactly as ``execute`` runs it (its executed copy is the one
    the site publishes). Before ``then`` runs, ``%reset -f`` empties the kernel's
    namespace, so ``then`` defines every name it uses itself; the modules ``path``
    imported stay imported, which saves their import time (a second kernel costs about 4 s
    of CPU: IPython, torch, matplotlib, scikit-learn). The test of a notebook's student
    version runs it this way, after the instructor's.
    """
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"execute: path={str(path)!r} is not a notebook file")
    digest = source_sha256(path)
    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ, MPLBACKEND=INLINE_BACKEND, PYTHONDONTWRITEBYTECODE="1")
    runs = [(path.name, nb, allow_errors)]
    if then is not None:
        runs += [("reset", new_notebook(cells=[new_code_cell("%reset -f")]), False),
                 (f"{path.stem} (second run)", then, True)]
    with tempfile.TemporaryDirectory(prefix="handgrad-nb-") as cwd:
        seconds = _run_on_one_kernel(runs, _client(timeout, cwd), env=env, cwd=cwd)
    nb.metadata["handgrad"] = {"source_sha256": digest, "seconds": round(seconds, 3)}
    if out_dir is not None:
        _write_atomically(nb, Path(out_dir) / path.name)
    return nb, seconds


def _client(timeout: float, cwd: str):
    """An nbclient ``NotebookClient`` whose kernel is ipykernel run by this Python; each run
    of ``_run_on_one_kernel`` gives it its notebook."""
    from nbclient import NotebookClient
    from nbformat.v4 import new_notebook

    return NotebookClient(new_notebook(), timeout=timeout, kernel_name="python3",
                          kernel_manager_class=_kernel_manager_class(),
                          extra_arguments=["--IPKernelApp.log_level=ERROR"],
                          resources={"metadata": {"path": cwd}})


def _run_on_one_kernel(runs, client, **start) -> float:
    """Execute each ``(name, nb, allow_errors)`` of ``runs`` in place, in order, on one kernel
    that ``client`` starts (``start``: its ``env`` and ``cwd``) and shuts down at the end.

    Returns the seconds up to the end of the first run, the kernel's start included. Raises
    ``NotebookError`` naming the run and the cell, when a cell raises (unless that run
    allows errors) or runs past the client's timeout; the kernel is shut down first, so a
    timed-out cell shows the interruption in its output.
    """
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    begin = time.perf_counter()
    seconds = None
    current = runs[0]
    try:
        with client.setup_kernel(**start):  # the kernel is shut down when the block ends
            for current in runs:
                client.nb = current[1]
                client.allow_errors = current[2]
                client.execute(cleanup_kc=False)  # setup_kernel owns the kernel
                if seconds is None:  # the first run, the kernel's start included
                    seconds = time.perf_counter() - begin
    except (CellExecutionError, CellTimeoutError) as exc:
        name, nb, _ = current
        limit = client.timeout if isinstance(exc, CellTimeoutError) else None
        raise NotebookError(_describe_failure(name, nb, exc, limit)) from None
    return seconds


def _write_atomically(nb, target: Path) -> None:
    """Write ``nb`` to ``target`` through ``atomic_path``, so no reader sees half of it."""
    import nbformat

    from handgrad.bookkeeping.atomic import atomic_path

    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        nbformat.write(nb, tmp)


def executed_copy(path, out_dir):
    """The executed copy of ``path`` in ``out_dir`` if it was made from the current source.

    Returns the NotebookNode, or None when there is no copy, it cannot be read, or its
    ``metadata["handgrad"]["source_sha256"]`` differs from the source file's SHA-256.
    """
    import nbformat

    target = Path(out_dir) / Path(path).name
    if not target.is_file():
        return None
    try:
        nb = nbformat.read(target, as_version=4)
    except Exception:  # a half-written or foreign file: run the notebook again
        return None
    if nb.metadata.get("handgrad", {}).get("source_sha256") != source_sha256(path):
        return None
    return nb


def leftovers(nb) -> list[str]:
    """What a committed notebook should not carry, one phrase per kind, e.g.
    ``["outputs in cells [3, 5]", "execution_count in cells [1, 3, 5]"]``; [] when clean."""
    kinds = {"outputs": [], "execution_count": [], "execution metadata": []}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            kinds["outputs"].append(i)
        if cell.get("execution_count") is not None:
            kinds["execution_count"].append(i)
        if "execution" in cell.get("metadata", {}):
            kinds["execution metadata"].append(i)
    found = [f"{kind} in cells {cells}" for kind, cells in kinds.items() if cells]
    found += [f"notebook metadata {key!r}" for key in ("handgrad", "widgets") if key in nb.metadata]
    return found


def stripped(nb) -> bool:
    """True when ``leftovers(nb)`` is empty."""
    return not leftovers(nb)


def strip(path) -> bool:
    """Remove outputs, execution counts and execution metadata in place; True if changed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    if stripped(nb):
        return False
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    nb.metadata.pop("handgrad", None)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return True


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.notebooks",
                                     description="Strip, check or run notebooks/*.ipynb.")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--strip", action="store_true", help="remove outputs in place")
    mode.add_argument("--check", action="store_true", help="exit 1 if outputs remain")
    mode.add_argument("--run", action="store_true", help="execute into build/notebooks")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.files or notebook_paths()
    for p in paths:
        if not p.is_file():
            parser.error(f"FILE {str(p)!r} does not exist")
    import nbformat

    code = 0
    for p in paths:
        if args.strip:
            print(f"{p}: {'stripped' if strip(p) else 'already clean'}")
        elif args.check:
            left = leftovers(nbformat.read(p, as_version=4))
            if left:
                code = 1
                print(f"{p}: not stripped ({', '.join(left)}); run python -m tools.notebooks "
                      "--strip")
        else:
            try:
                _, seconds = execute(p, out_dir=BUILD)
                print(f"{p.name}: {seconds:.1f} s")
            except NotebookError as exc:
                code = 1
                print(exc)
    return code


if __name__ == "__main__":
    sys.exit(main())
