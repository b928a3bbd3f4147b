"""A failing ``assert_...`` check saved per test: named from the node id, never overwritten by
another test, replaced by a rerun of the same test, named in its own failure message.

Real pytest runs in a scratch folder (slow); the saved cases are read back with
``load_case`` and rerun with ``handgrad verify --replay``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from handgrad.compare.check.replay import load_case
from handgrad.pytest_plugin import replay_name
from tests.plugin.scratch import CLEAN_ENV, failure_sections, run_pytest, write_project

# Two tests and a parametrized one, every one a handmade model with a planted slip: the
# first layer's weight gradient scaled by a factor (3; the variable SLIP_<seed> sets the
# factor of the test with that seed: 1 fixes it).
USER_TESTS = """
    import os

    import numpy as np
    import pytest

    from handgrad import assert_gradients_match
    from handgrad.handmade import MLP


    class Slip(MLP):
        factor = 3.0

        def loss_and_grads(self, X, y):
            loss, grads = super().loss_and_grads(X, y)
            return loss, {k: (self.factor * g if k == "layers.0.weight" else g)
                          for k, g in grads.items()}


    def check(rows, seed):
        X = np.random.default_rng(seed).standard_normal((rows, 3))
        model = Slip([3, 4, 2], ["tanh", "identity"], "mse", seed=seed)
        model.factor = float(os.environ.get(f"SLIP_{seed}", "3"))
        assert_gradients_match(model, X, X[:, :2])


    def test_first():
        check(5, 1)


    def test_second():
        check(6, 2)


    @pytest.mark.parametrize("rows", [3, 4], ids=["three-rows", "four.rows"])
    def test_rows(rows):
        check(rows, 3)
"""
NODE_IDS = {
    "test_first": "tests/test_net.py::test_first",
    "test_second": "tests/test_net.py::test_second",
    "test_rows[three-rows]": "tests/test_net.py::test_rows[three-rows]",
    "test_rows[four.rows]": "tests/test_net.py::test_rows[four.rows]",
}
ROWS = {"test_first": 5, "test_second": 6, "test_rows[three-rows]": 3, "test_rows[four.rows]": 4}


def _project(tmp_path):
    return write_project(tmp_path, {"tests/test_net.py": USER_TESTS})


SAVED = ("saved", "cases")  # the first run's --handgrad-replays folder, under the project


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """The scratch project after one run of its four failing tests, each case saved under
    ``--handgrad-replays saved/cases``: (folder, the run). (The default folder,
    ``.handgrad/replays``, is where tests/check/test_replay.py's run saves its case.)

    Run once per module (each run starts torch in a subprocess: seconds); a test that
    reads it leaves it as it is, a test that runs it again works on a copy (``copied``).
    """
    folder = _project(tmp_path_factory.mktemp("first_run"))
    return folder, run_pytest(folder, "-q", "-p", "no:randomly", "--handgrad-replays",
                              "/".join(SAVED))


def copied(first_run, tmp_path):
    """A copy of the first run's project, saved cases included, to run again."""
    shutil.copytree(first_run[0], tmp_path, dirs_exist_ok=True)
    return tmp_path


def test_a_replay_name_keeps_the_whole_node_id_and_no_dot():
    """Written out by hand: every character but letters, digits, - and _ becomes _."""
    assert replay_name("tests/test_net.py::test_rows[four.rows]") == \
        "tests_test_net_py__test_rows_four_rows_"
    assert replay_name("a.py::test_x") != replay_name("a.py::test_y")
    long_one = "tests/test_net.py::test_long[" + "x" * 300 + "]"
    other = "tests/test_net.py::test_lang[" + "x" * 300 + "]"
    assert len(replay_name(long_one)) == 150
    assert replay_name(long_one) != replay_name(other)  # same end, told apart by the CRC


@pytest.mark.slow
def test_every_failing_test_leaves_its_own_replayable_case(first_run):
    project, run = first_run
    assert run.returncode == 1, run.stdout + run.stderr
    folder = project.joinpath(*SAVED)
    assert not (project / ".handgrad").exists()  # the option's folder, not the default
    expected = {name: folder / replay_name(nodeid) for name, nodeid in NODE_IDS.items()}
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{base.name}{suffix}" for base in expected.values() for suffix in (".json", ".npz"))
    sections = failure_sections(run.stdout)
    for name, base in expected.items():  # each message names its own files, no other's
        assert f"failing check saved to {base}.npz" in sections[name], sections[name]
        others = [b for n, b in expected.items() if n != name]
        assert not any(str(b) in sections[name] for b in others)
        case = load_case(base)
        assert case.report["verdict"] == "fail"
        assert case.arrays["X"].shape == (ROWS[name], 3)  # this test's batch, not another's


@pytest.mark.slow
def test_two_saved_cases_rerun_with_handgrad_verify(first_run):
    """``handgrad verify --replay`` rebuilds each test's model (class Slip from test_net,
    found from the folder it runs in) and reaches the same verdict: the slip in
    layers.0.weight."""
    project, run = first_run
    assert run.returncode == 1, run.stdout + run.stderr
    for nodeid in (NODE_IDS["test_first"], NODE_IDS["test_second"]):
        meta = project.joinpath(*SAVED, f"{replay_name(nodeid)}.json")
        again = subprocess.run([sys.executable, "-m", "handgrad", "verify", "--replay",
                                str(meta)], cwd=project / "tests", env=CLEAN_ENV,
                               capture_output=True, text=True, timeout=300)
        assert again.returncode == 1, again.stdout + again.stderr
        assert "saved verdict: fail" in again.stdout
        assert "layers.0.weight" in again.stdout.split("gradients that disagree:")[1]


@pytest.mark.slow
def test_a_rerun_replaces_or_takes_away_its_own_case_and_no_other(first_run, tmp_path):
    """One rerun of two tests: four.rows fails again with another slip (its case is saved
    anew in place), test_first is fixed and passes (its case goes); the other two cases
    stay as they were."""
    assert first_run[1].returncode == 1
    copied(first_run, tmp_path)
    folder = tmp_path.joinpath(*SAVED)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    rerun = run_pytest(tmp_path, "-q", NODE_IDS["test_rows[four.rows]"], NODE_IDS["test_first"],
                       "--handgrad-replays", "/".join(SAVED),
                       env={"SLIP_3": "5", "SLIP_1": "1"})  # test_rows: seed 3; test_first: 1
    assert rerun.returncode == 1, rerun.stdout + rerun.stderr
    assert "1 failed, 1 passed" in rerun.stdout, rerun.stdout
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    fixed = replay_name(NODE_IDS["test_first"])
    assert after.keys() == before.keys() - {f"{fixed}.json", f"{fixed}.npz"}  # none added
    mine = replay_name(NODE_IDS["test_rows[four.rows]"])
    changed = {name for name in after if after[name] != before[name]}
    # the npz too: the model's point is the same, but the case is saved anew (the json's
    # table now holds the factor-5 slip)
    assert changed == {f"{mine}.json", f"{mine}.npz"} or changed == {f"{mine}.json"}
    assert load_case(folder / mine).arrays["X"].shape == (4, 3)


@pytest.mark.slow
def test_the_replays_option_chooses_the_folder(first_run):
    project, run = first_run
    base = project.joinpath(*SAVED, replay_name(NODE_IDS["test_first"]))
    assert f"failing check saved to {base}.npz" in run.stdout
    assert np.array_equal(load_case(base).arrays["X"],
                          np.random.default_rng(1).standard_normal((5, 3)))
    assert not (project / ".handgrad").exists()


@pytest.mark.slow
def test_an_empty_replays_option_saves_nothing(tmp_path):
    _project(tmp_path)
    none = run_pytest(tmp_path, "-q", "tests/test_net.py::test_second", "--handgrad-replays", "")
    assert none.returncode == 1
    assert "failing check not saved (--handgrad-replays '')" in none.stdout
    assert not (tmp_path / ".handgrad").exists()
