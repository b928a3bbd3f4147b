"""The student build of the notebooks: every solution blanked, in build/student/.

The notebooks in notebooks/ are the instructor's version: each exercise's answer cell is
tagged ``solution`` (cell metadata ``tags``) and holds a working solution, so the notebook
runs top to bottom and the tests execute it. The student version is generated from it:

    python -m tools.student            write build/student/<name>.ipynb for every notebook
    python -m tools.student --run      ... and execute each one, reporting its blank exercises
    python -m tools.student --out DIR  write them into DIR instead

In the student version a solution cell keeps only a header and one line per answer its
check (the code cells after it, up to the next Markdown cell) reads, set to ``...``::

    # your answer: replace each ... with your code, run this cell, then the check below
    my_dW = ...

A name the solution defines with ``def`` gets ``name = ...`` and a comment with the
signature to write. Run as it is, a student notebook raises only in the check cells of its
blank exercises, each with ``compare.teach.exercises.NotDone`` ("my_dW: not done yet"),
shown as one line without a traceback; tests/notebooks/test_student.py checks both that
and that no line of a solution is left in the student version.

The site (``python -m tools.site build``) shows a third form, ``folded(executed)``: the
executed instructor notebook with each solution cell's blank shown first and the solution
itself, code and output, behind a fold that is closed until the reader opens it (MyST-NB's
``hide-cell`` tag: an HTML ``<details>`` labelled "Show the solution").
"""

from __future__ import annotations

import ast
import copy
import sys
from pathlib import Path

from tools.notebooks import NOTEBOOKS, ROOT, execute, notebook_paths

TAG = "solution"
STUDENT = ROOT / "build" / "student"
HEADER = "# your answer: replace each ... with your code, run this cell, then the check below"


def is_solution(cell) -> bool:
    return cell.cell_type == "code" and TAG in cell.get("metadata", {}).get("tags", [])


def defined_names(source: str) -> dict[str, str]:
    """Every name a cell binds at module level (not inside a def), in order: name -> the
    hint for its blank ('' for a plain value, the signature for a function)."""
    names: dict[str, str] = {}

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.ClassDef)):
                names[child.name] = _signature(child)
                continue
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                names.setdefault(child.id, "")
            visit(child)
    visit(ast.parse(source))
    return names


def _signature(node) -> str:
    if isinstance(node, ast.ClassDef):
        return f"class {node.name}: ..."
    return f"def {node.name}({ast.unparse(node.args)}): ..."


def read_names(cells) -> set[str]:
    """Every name that the code ``cells`` read (load)."""
    names = set()
    for cell in cells:
        if cell.cell_type == "code":
            tree = ast.parse(_python(cell.source))
            names |= {n.id for n in ast.walk(tree)
                      if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return names


def bound_names(cells) -> set[str]:
    """Every name that the code ``cells`` bind themselves (a check's own loop variable)."""
    return {name for cell in cells if cell.cell_type == "code"
            for name in defined_names(_python(cell.source))}


def _python(source: str) -> str:
    """A cell's source less its IPython magics (``%matplotlib inline``)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def blank(source: str, later_reads: set[str]) -> str:
    """The student's cell for a solution: the header, then ``name = ...`` for each name the
    solution binds that is in ``later_reads`` (what its check reads and does not bind)."""
    lines = [HEADER]
    for name, hint in defined_names(_python(source)).items():
        if name in later_reads:
            lines.append(f"{name} = ...  # write: {hint}" if hint else f"{name} = ...")
    return "\n".join(lines) + "\n"


def student(nb):
    """A copy of notebook ``nb`` with every solution cell blanked and no outputs."""
    out = copy.deepcopy(nb)
    for i, cell in enumerate(out.cells):
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if is_solution(cell):
            checks = check_cells(nb.cells, i)
            cell.source = blank(cell.source, read_names(checks) - bound_names(checks))
    out.metadata["handgrad"] = {"version": "student"}
    return out


FOLD = {"code_prompt_show": "Show the solution", "code_prompt_hide": "Hide the solution"}
BLANK_TAG = "exercise-blank"  # the blank shown on the site above each folded solution


def folded(executed):
    """A copy of the executed notebook ``executed`` for the site: before each solution cell
    its student blank (a code cell tagged ``exercise-blank``, no output), and the solution
    cell tagged ``hide-cell``, so that the site shows it folded (MyST-NB, labels ``FOLD``)."""
    import nbformat

    out = copy.deepcopy(executed)
    cells = []
    for i, cell in enumerate(out.cells):
        if is_solution(cell):
            checks = check_cells(executed.cells, i)
            blanked = nbformat.v4.new_code_cell(
                blank(cell.source, read_names(checks) - bound_names(checks)),
                metadata={"tags": [BLANK_TAG]})
            cells.append(blanked)
            cell.source = "\n".join(line for line in cell.source.splitlines()
                                    if not line.startswith("# your answer ("))
            cell.metadata["tags"] = [*cell.metadata.get("tags", []), "hide-cell"]
            cell.metadata["mystnb"] = dict(FOLD)
        cells.append(cell)
    out.cells = cells
    return out


def check_cells(cells, i: int) -> list:
    """The code cells that check solution ``cells[i]``: those after it, up to the next
    Markdown cell or solution."""
    found = []
    for cell in cells[i + 1:]:
        if cell.cell_type != "code" or is_solution(cell):
            break
        found.append(cell)
    return found


def solution_count(nb) -> int:
    return sum(map(is_solution, nb.cells))


def write_student(path: Path, out_dir: Path = STUDENT) -> Path:
    """Write the student version of notebook ``path`` to ``out_dir``; returns its path."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    target = Path(out_dir) / Path(path).name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(student(nb), target)
    return target


def not_done_cells(executed) -> dict[int, str]:
    """Cell index -> error name, for every cell of an executed notebook that raised."""
    return {i: out.get("ename", "") for i, cell in enumerate(executed.cells)
            for out in cell.get("outputs", []) if out.get("output_type") == "error"}


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.student",
                                     description="Write the student notebooks (solutions "
                                                 "blanked) into build/student/.")
    parser.add_argument("--run", action="store_true",
                        help="execute each student notebook and list what raised")
    parser.add_argument("--out", type=Path, default=STUDENT,
                        help="output folder (default build/student)")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.files or notebook_paths(NOTEBOOKS)
    code = 0
    for path in paths:
        if not path.is_file():
            parser.error(f"FILE {str(path)!r} does not exist")
        target = write_student(path, args.out)
        shown = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
        print(f"{shown}: written")
        if args.run:
            executed, seconds = execute(target, allow_errors=True)
            raised = not_done_cells(executed)
            others = {i: e for i, e in raised.items() if e != "NotDone"}
            code |= bool(others)
            print(f"  ran in {seconds:.1f} s: {len(raised)} check(s) not done"
                  + (f"; other errors in cells {others}" if others else ""))
    return code


if __name__ == "__main__":
    sys.exit(main())
