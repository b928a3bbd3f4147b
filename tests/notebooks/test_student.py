"""The two builds of every notebook: the instructor's (notebooks/, solutions in cells tagged
``solution``) and the student's (``python -m tools.student``: every solution blanked).

The tests here read the notebooks. test_notebooks.py executes each instructor's version and,
on the same kernel after it, the student's, which ``raised_beyond_the_blanks`` (below) checks:
it raises only at its blank exercises, each reported as not done (one line, no traceback).
"""

from __future__ import annotations

import ast
import copy

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tools import student
from tools.notebooks import execute_then, notebook_paths

PATHS = notebook_paths()
EXERCISES = {  # notebook -> number of exercises its text announces
    "01_logistic_neuron.ipynb": 3, "02_logistic_regression_as_a_network.ipynb": 3,
    "03_perceptron_and_sigmoid_neuron.ipynb": 3, "04_a_3-2-1_network_by_hand.ipynb": 5,
    "05_mlp_softmax_xor.ipynb": 3, "06_verify_your_own_backward.ipynb": 7,
    "07_backprop_by_hand.ipynb": 27,
}


def read(path):
    return nbformat.read(path, as_version=4)


def code_lines(source: str) -> set[str]:
    """The lines of a cell that carry code (stripped; no blanks, comments or bare ``...``)."""
    return {line.strip() for line in source.splitlines()
            if line.strip() and not line.strip().startswith("#") and line.strip() != "..."}


def leaked_solution_lines(instructor, blanked) -> list[str]:
    """Lines of the instructor's solutions found in the student notebook's code, less the
    lines that the instructor's own non-solution cells hold too."""
    shared = set().union(*(code_lines(c.source) for c in instructor.cells
                           if c.cell_type == "code" and not student.is_solution(c)))
    solutions = set().union(*(code_lines(c.source) for c in instructor.cells
                              if student.is_solution(c)))
    given = set().union(*(code_lines(c.source) for c in blanked.cells if c.cell_type == "code"))
    return sorted((solutions - shared) & given)


def blank_is_only_ellipses(source: str) -> bool:
    """A student cell: comments, and assignments of ``...`` to one name each."""
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Constant) and node.value.value is Ellipsis):
            return False
    return True


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_every_exercise_has_a_tagged_solution_and_a_check_after_it(path):
    nb = read(path)
    solutions = [i for i, c in enumerate(nb.cells) if student.is_solution(c)]
    assert len(solutions) == EXERCISES[path.name]
    for i in solutions:
        checks = student.check_cells(nb.cells, i)
        assert checks, f"{path.name}: solution cell {i} has no check cell after it"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_the_student_version_has_no_solution_left(path):
    instructor = read(path)
    blanked = student.student(instructor)
    assert leaked_solution_lines(instructor, blanked) == []
    for i, cell in enumerate(blanked.cells):
        if student.is_solution(cell):
            assert cell.source.startswith(student.HEADER)
            assert blank_is_only_ellipses(cell.source), cell.source
            assert "= ..." in cell.source, f"cell {i} asks for nothing"
    assert not any(c.get("outputs") for c in blanked.cells if c.cell_type == "code")
    same = [c.source for c in instructor.cells if not student.is_solution(c)]
    assert same == [c.source for c in blanked.cells if not student.is_solution(c)]


def planted_notebook():
    solution = new_code_cell("# your answer\ntmp = 2 * x\nmy_y = tmp + 1\n")
    solution.metadata["tags"] = ["solution"]
    return new_notebook(cells=[
        new_code_cell("x = 3\nfrom handgrad.compare.teach.exercises import answer"),
        new_markdown_cell("**Exercise.** y = 2x + 1"), solution,
        new_code_cell("answer('my_y', my_y, 2 * x + 1)"),
        new_markdown_cell("The end.")])


def test_a_leaked_solution_is_found():
    instructor = planted_notebook()
    leaky = copy.deepcopy(instructor)  # a "student" version that forgot to blank
    assert leaked_solution_lines(instructor, leaky) == ["my_y = tmp + 1", "tmp = 2 * x"]
    blanked = student.student(instructor)
    assert leaked_solution_lines(instructor, blanked) == []
    assert blanked.cells[2].source == student.HEADER + "\nmy_y = ...\n"  # tmp: not checked


def test_a_function_answer_gets_its_signature_as_the_hint():
    source = "# your answer\ndef f(X, T, *, lr=0.1):\n    return X\n"
    assert student.blank(source, {"f"}) == (
        student.HEADER + "\nf = ...  # write: def f(X, T, *, lr=0.1): ...\n")


def test_the_command_writes_every_student_notebook(tmp_path, capsys):
    assert student.main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.glob("*.ipynb")) == sorted(EXERCISES)
    assert capsys.readouterr().out.count("written") == len(EXERCISES)


def raised_beyond_the_blanks(instructor, executed) -> list[str]:
    """What is wrong with an executed student version of ``instructor``: each blank's check
    (the cell right after it) must raise NotDone, reported in one line, and no other cell
    may raise. [] when all is as it should be."""
    raised = student.not_done_cells(executed)
    solutions = [i for i, c in enumerate(instructor.cells) if student.is_solution(c)]
    first_checks = {i + 1 for i in solutions}  # the check right after each blank
    problems = [f"cell {i} raised {name}" for i, name in sorted(raised.items())
                if i not in first_checks or name != "NotDone"]
    problems += [f"cell {i}, the check of a blank, did not raise NotDone"
                 for i in sorted(first_checks) if raised.get(i) != "NotDone"]
    for i in sorted(first_checks & set(raised)):
        error = next(o for o in executed.cells[i].outputs if o["output_type"] == "error")
        if len(error["traceback"]) != 1 or "not done yet" not in error["traceback"][0]:
            problems.append(f"cell {i}: not the one-line 'not done yet' report")
    return problems


def test_a_blank_whose_check_does_not_report_not_done_is_found():
    """Executed student versions made by hand (no kernel): the check cell after the blank
    raising nothing, then raising NotDone with a full traceback."""
    instructor = planted_notebook()
    executed = student.student(instructor)
    assert raised_beyond_the_blanks(instructor, executed) == [
        "cell 3, the check of a blank, did not raise NotDone"]
    executed.cells[3].outputs = [new_output("error", ename="NotDone", evalue="my_y",
                                            traceback=["Traceback", "  line 1", "NotDone"])]
    assert raised_beyond_the_blanks(instructor, executed) == [
        "cell 3: not the one-line 'not done yet' report"]
    executed.cells[3].outputs[0]["traceback"] = ["my_y: not done yet"]
    assert raised_beyond_the_blanks(instructor, executed) == []


@pytest.mark.slow
def test_a_planted_student_notebook_raises_only_not_done(tmp_path):
    """The student version runs after the instructor's on the same kernel (execute_then):
    the namespace is emptied between the two, so a later cell that uses a name only a
    solution defined (``tmp``, which the blank drops) still raises, as on a fresh kernel."""
    instructor = planted_notebook()
    instructor.cells.append(new_code_cell("print(tmp)"))  # cell 5: needs the solution's tmp
    path = tmp_path / "planted.ipynb"
    nbformat.write(instructor, path)
    executed = student.student(instructor)
    execute_then(path, executed)  # runs it in place, after the instructor's
    assert student.not_done_cells(executed) == {3: "NotDone", 5: "NameError"}
    assert raised_beyond_the_blanks(instructor, executed) == ["cell 5 raised NameError"]


def fold_problems(instructor, folded) -> list[str]:
    """What is wrong with the site's form of ``instructor`` (``student.folded``): each
    solution must sit, folded (``hide-cell``), right under its blank, which has no output."""
    problems = []
    solutions = sum(map(student.is_solution, instructor.cells))
    if len(folded.cells) != len(instructor.cells) + solutions:
        problems.append(f"{len(folded.cells)} cells, expected {len(instructor.cells)} + "
                        f"{solutions} blanks")
    for i, cell in enumerate(folded.cells):
        if not student.is_solution(cell):
            continue
        before = folded.cells[i - 1]
        if "hide-cell" not in cell.metadata.get("tags", []):
            problems.append(f"cell {i}: the solution is not folded")
        if student.BLANK_TAG not in before.metadata.get("tags", []) \
                or not before.source.startswith(student.HEADER) or before.outputs:
            problems.append(f"cell {i}: no empty blank above the solution")
    return problems


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_the_site_shows_each_blank_with_its_solution_folded_under_it(path):
    instructor = read(path)
    assert fold_problems(instructor, student.folded(instructor)) == []


def test_a_solution_left_unfolded_is_found():
    instructor = read(PATHS[0])
    folded = student.folded(instructor)
    solution = next(c for c in folded.cells if student.is_solution(c))
    solution.metadata["tags"].remove("hide-cell")
    assert any("not folded" in p for p in fold_problems(instructor, folded))
