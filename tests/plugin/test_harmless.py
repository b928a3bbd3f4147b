"""The plugin loads with every pytest run in the environment: it must never break a suite.

A user's project with its own ``compare.py``, ``bookkeeping.py``, ``handmade.py``,
``torch_ref.py`` and ``tools.py`` runs its tests unchanged; loading the plugin imports
nothing of the project; a user's module that hides a package handgrad needs gets one line.
Each runs a real ``python -m pytest`` in a scratch folder (slow: a process each).
"""

from __future__ import annotations

import json

import pytest

from tests.plugin.scratch import run_pytest, write_project

# the names handgrad's rooms once took at the top level, and one more that is common
USER_MODULES = {
    "compare.py": "def compare(a, b):\n    return (a > b) - (a < b)\n",
    "bookkeeping.py": "LEDGER = []\n\ndef book(x):\n    LEDGER.append(x)\n    return len(LEDGER)\n",
    "handmade.py": "def knit(n):\n    return 'x' * n\n",
    "torch_ref.py": "FLAME = 'torch'\n",
    "tools.py": "def hammer():\n    return 'nail'\n",
}
USER_TESTS = """
    import bookkeeping
    import compare
    import handmade
    import tools
    import torch_ref


    def test_their_compare():
        assert compare.compare(2, 1) == 1 and compare.compare(1, 2) == -1


    def test_their_bookkeeping():
        assert bookkeeping.book("a") == 1


    def test_their_other_modules():
        assert handmade.knit(3) == "xxx"
        assert torch_ref.FLAME == "torch"
        assert tools.hammer() == "nail"
"""


@pytest.mark.slow
def test_a_project_with_the_old_room_names_runs_its_suite_unchanged(tmp_path):
    write_project(tmp_path, {**USER_MODULES, "tests/test_mine.py": USER_TESTS})
    run = run_pytest(tmp_path, "-q")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout


@pytest.mark.slow
def test_handgrad_checks_run_beside_the_users_compare_module(tmp_path):
    """The same project, one test using handgrad's fixture and judge as well."""
    also = USER_TESTS + '''

    def test_a_handgrad_check_beside_them(handgrad_rng):
        import numpy as np
        import torch
        from handgrad import assert_layer_match

        x = handgrad_rng.standard_normal((3, 4))
        assert_layer_match(lambda x: (np.tanh(x), x), lambda d, x: d * (1 - np.tanh(x) ** 2),
                           {"x": x}, torch.tanh)
        assert compare.compare(1, 1) == 0  # theirs, still
    '''
    write_project(tmp_path, {**USER_MODULES, "tests/test_mine.py": also})
    run = run_pytest(tmp_path, "-q")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 passed" in run.stdout


RECORD_MODULES = """
    import json
    import sys


    def pytest_collection_finish(session):
        with open("modules.json", "w") as f:
            json.dump(sorted(sys.modules), f)
"""
USES_NOTHING = """
    def test_plain():
        assert 1 + 1 == 2
"""


def _modules_at_collection(folder, *args) -> set[str]:
    run = run_pytest(folder, "-q", *args)
    assert run.returncode == 0, run.stdout + run.stderr
    return set(json.loads((folder / "modules.json").read_text()))


@pytest.mark.slow
def test_loading_the_plugin_imports_nothing_of_the_project(tmp_path):
    """The modules loaded by collection's end, with the plugin and without it (-p no:handgrad):
    the plugin adds its own two modules, nothing else (no NumPy, no torch, no room)."""
    write_project(tmp_path, {"conftest.py": RECORD_MODULES, "test_plain.py": USES_NOTHING})
    without = _modules_at_collection(tmp_path, "-p", "no:handgrad")
    with_plugin = _modules_at_collection(tmp_path, "--handgrad-seed", "3")
    assert "handgrad.pytest_plugin" not in without  # the baseline really is without it
    assert with_plugin - without == {"handgrad", "handgrad.pytest_plugin"}
    heavy = {"numpy", "torch", "scipy", "handgrad.compare", "handgrad.handmade",
             "handgrad.torch_ref", "handgrad.bookkeeping"}
    assert not heavy & with_plugin


@pytest.mark.slow
def test_the_fixture_imports_numpy_when_used(tmp_path):
    """The witness that the recorder above sees imports: a test that uses handgrad_rng."""
    uses_rng = USES_NOTHING + """

    def test_rng(handgrad_rng):
        import sys
        assert "numpy" in sys.modules and handgrad_rng.standard_normal(2).shape == (2,)
    """
    write_project(tmp_path, {"conftest.py": RECORD_MODULES, "test_plain.py": uses_rng})
    assert "numpy" not in _modules_at_collection(tmp_path)


SHADOWED_TEST = """
    def test_seeded(handgrad_rng):
        pass


    def test_their_own():
        import {name}
        assert {name}.MINE
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", ["numpy", "torch"])
def test_a_users_module_that_hides_a_needed_package_gets_one_line(tmp_path, name):
    """``python -m pytest`` puts the current folder first on sys.path: their numpy.py wins."""
    write_project(tmp_path, {f"{name}.py": "MINE = True\n",
                             "tests/test_mine.py": SHADOWED_TEST.format(name=name)})
    run = run_pytest(tmp_path, "-q", "-rE")
    assert run.returncode == 1, run.stdout + run.stderr
    line = (f"handgrad needs the installed {name}, but `import {name}` finds your "
            f"{tmp_path / f'{name}.py'} first on sys.path: rename that file")
    error = run.stdout.split("ERROR at setup of test_seeded")[1].split("====")[0]
    assert error.split("\n")[1:-1] == [line + f" (it hides {name} from every import)"], error
    assert "1 passed, 1 error" in run.stdout  # their own test still runs, on their module
