"""The tutorial notebooks: each runs top to bottom on a fresh kernel, its student version
stops only at its blank exercises, and none is committed with outputs.

Every ``notebooks/*.ipynb`` is executed through ``tools.notebooks.execute_then``, which
runs it exactly as ``execute`` (the site build's function) does, its executed copy written
to ``build/notebooks/``; a cell that raises fails the test with the cell's source and
traceback. Its student version then runs on the same kernel (test_student.py says what is
checked of it). The execution times are printed at the end of the module (and with ``-s``
after each notebook).
"""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from tests.notebooks.test_student import raised_beyond_the_blanks
from tools import student
from tools.notebooks import (
    BUILD,
    NotebookError,
    execute,
    execute_then,
    executed_copy,
    leftovers,
    notebook_paths,
    strip,
)

EXPECTED = [
    "01_logistic_neuron.ipynb",
    "02_logistic_regression_as_a_network.ipynb",
    "03_perceptron_and_sigmoid_neuron.ipynb",
    "04_a_3-2-1_network_by_hand.ipynb",
    "05_mlp_softmax_xor.ipynb",
    "06_verify_your_own_backward.ipynb",
    "07_backprop_by_hand.ipynb",
]
LIMIT_S = 120  # per notebook, fresh kernel included, on CI's 2 cores (they aim at < 60 s)
PATHS = notebook_paths()
TIMES: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def _time_summary(request):
    """After the module: one line per executed notebook, printed past pytest's capture."""
    yield
    if not TIMES:
        return
    lines = [f"notebook execution times (fresh kernel each, limit {LIMIT_S} s):"]
    lines += [f"  {name:48} {s:6.1f} s" for name, s in sorted(TIMES.items())]
    lines.append(f"  {'total':48} {sum(TIMES.values()):6.1f} s")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        print("\n" + "\n".join(lines))
        return
    with capture.global_and_fixture_disabled():
        print("\n" + "\n".join(lines))


def test_the_seven_notebooks_are_there():
    names = [p.name for p in PATHS]
    missing, unexpected = sorted(set(EXPECTED) - set(names)), sorted(set(names) - set(EXPECTED))
    assert names == EXPECTED, f"notebooks/: missing {missing}, unexpected {unexpected}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    left = leftovers(nbformat.read(path, as_version=4))
    assert not left, (f"{path.name} carries {', '.join(left)}; "
                      "run: python -m tools.notebooks --strip")


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom_and_its_student_version_stops_only_at_blanks(
        path, record_property):
    """The instructor's notebook on a fresh kernel, then (same kernel, namespace emptied)
    the student's: one kernel start and one round of imports serve both."""
    failure = None
    instructor = nbformat.read(path, as_version=4)
    try:
        blanked = student.student(instructor)  # executed in place, after the instructor's
        nb, seconds = execute_then(path, blanked, out_dir=BUILD)
    except NotebookError as exc:
        failure = str(exc)  # reported outside the except: no chained traceback around it
    if failure:
        pytest.fail(failure, pytrace=False)
    TIMES[path.name] = seconds
    record_property("seconds", round(seconds, 1))  # in --junitxml reports
    print(f"\n{path.name}: {seconds:.1f} s")
    errors = [i for i, c in enumerate(nb.cells)
              if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert not errors, f"{path.name}: error outputs in cells {errors}"
    images = sum("image/png" in o.get("data", {}) for c in nb.cells
                 for o in c.get("outputs", []))
    assert images >= 1, f"{path.name}: no inline picture"
    assert seconds < LIMIT_S, f"{path.name} took {seconds:.0f} s, limit {LIMIT_S} s"
    assert executed_copy(path, BUILD) is not None
    assert raised_beyond_the_blanks(instructor, blanked) == []


# --- the runner itself, on throw-away notebooks -------------------------------------------

def _write(tmp_path, name, *sources):
    path = tmp_path / name
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources]), path)
    return path


def test_runner_reports_the_failing_cell_with_source_and_traceback(tmp_path):
    path = _write(tmp_path, "bad.ipynb", "x = 1", "def f():\n    return 1 / 0\nf()")
    with pytest.raises(NotebookError) as err:
        execute(path)
    message = str(err.value)
    assert message.startswith("bad.ipynb: cell 1 raised ZeroDivisionError: division by zero")
    assert "def f():\n    return 1 / 0" in message  # the cell's source
    assert "----> 3 f()" in message and "\x1b[" not in message  # traceback, colours removed


def test_runner_names_the_cell_that_runs_past_the_limit(tmp_path):
    path = _write(tmp_path, "slow.ipynb", "x = 1", "import time\ntime.sleep(60)")
    with pytest.raises(NotebookError) as err:
        execute(path, timeout=2)
    assert str(err.value).startswith("slow.ipynb: cell 1 ran past the 2 s limit per cell")
    assert "time.sleep(60)" in str(err.value)


def test_runner_plots_inline_in_a_temporary_folder_and_caches_by_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the caller's backend must not reach the kernel
    path = _write(tmp_path, "ok.ipynb", "import os\nprint(os.getcwd())",
                  "import matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()")
    out = tmp_path / "out"
    nb, seconds = execute(path, out_dir=out)
    cwd = nb.cells[0].outputs[0]["text"].strip()
    assert cwd != str(tmp_path) and "handgrad-nb-" in cwd
    assert any("image/png" in o.get("data", {}) for o in nb.cells[1].outputs)
    assert seconds > 0
    cached = executed_copy(path, out)
    assert cached is not None and cached.metadata["handgrad"]["source_sha256"]
    assert leftovers(cached)  # the executed copy carries outputs
    nbformat.write(new_notebook(cells=[new_code_cell("1 + 1")]), path)  # the source changes
    assert executed_copy(path, out) is None
    assert executed_copy(path, tmp_path / "nowhere") is None


def test_strip_removes_outputs_and_counts(tmp_path):
    # what an executed copy holds (as execute writes it), made by hand: no kernel needed
    cell = new_code_cell("print(1)", execution_count=1,
                         outputs=[new_output("stream", name="stdout", text="1\n")])
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00.000000Z"}
    executed = tmp_path / "s.ipynb"
    nb = new_notebook(cells=[cell])
    nb.metadata["handgrad"] = {"source_sha256": "0" * 64, "seconds": 1.0}
    nbformat.write(nb, executed)
    assert leftovers(nbformat.read(executed, as_version=4)) == [
        "outputs in cells [0]", "execution_count in cells [0]",
        "execution metadata in cells [0]", "notebook metadata 'handgrad'"]
    assert strip(executed) is True
    clean = nbformat.read(executed, as_version=4)
    assert leftovers(clean) == [] and clean.cells[0].source == "print(1)"
    assert strip(executed) is False  # already clean: the file is left alone
