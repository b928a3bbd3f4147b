"""Fixtures shared by every test folder, and how a parallel run shares the machine."""

import contextlib
import os
import warnings

# Under pytest-xdist (`pytest -n auto`: one worker per core) each worker, and every process
# it starts (handgrad commands, notebook kernels, scratch pytest runs), keeps to one
# OpenMP/BLAS thread unless the caller chose otherwise: two workers with a pool of two
# threads each on two cores only take turns, and the idle threads' spinning costs CPU
# (measured: about 5 % less CPU for `pytest -m "not slow" -n auto` on 2 cores). Set here,
# before NumPy and torch are imported, so that their thread pools start at that size. A
# serial run keeps the defaults; the tests of thread budgets set their own counts.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@contextlib.contextmanager
def _strict_floating_point():
    """Overflow, division by zero and invalid operations raise; so does any warning.

    Underflow to 0 is allowed (it is exact in the limit).
    """
    with np.errstate(over="raise", divide="raise", invalid="raise"), \
            warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.fixture(scope="session")
def strict_floating_point():
    """The context above, for the numerics tests: ``with strict_floating_point(): ...``.

    Session scope: it hands out the context manager itself, which keeps no state, so one
    object serves every test (and a hypothesis test may use it too).
    """
    return _strict_floating_point


# --- the slow tier -----------------------------------------------------------------------------
# `pytest -m "not slow"` is the contributor's quick loop; the README's test command and CI run
# every tier. A test that is slow by its nature (it starts processes, executes notebooks, drives
# a browser, builds a wheel, times something) carries @pytest.mark.slow where it is written;
# the files below are slow as a whole, for the reason given, and are marked here in one place.
SLOW_FILES = {
    "tests/notebooks/test_notebooks.py": "executes every notebook in a fresh Jupyter kernel",
    "tests/docs/test_site.py": "loads every page of the built site in headless Chromium",
    "tests/docs/test_verify_doc.py": "runs the documented pytest examples in subprocesses",
    "tests/docs/test_readme_commands.py": "runs the README's commands in subprocesses",
    "tests/cli/test_cli_process.py": "starts handgrad processes and signals them",
    "tests/cli/test_train_cli_process.py": "starts training processes, kills and races them",
}


def pytest_collection_modifyitems(config, items):
    root = config.rootpath
    for item in items:
        where = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""
        if where in SLOW_FILES:
            item.add_marker(pytest.mark.slow(reason=SLOW_FILES[where]))
    # the slow tests first (a stable sort keeps each group's order): under `pytest -n auto`
    # the long ones then start early and the workers end together on short tests
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
