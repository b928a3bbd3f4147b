"""A failing ``check_object`` case reruns from its files: ``handgrad verify --replay PATH``.

The user's layer class lives in a module of its own folder (``tmp_path``). The case keeps
the class by name and the object's state as it stood before the check; the rerun imports
the class again from the current folder, rebuilds the object without calling its
``__init__`` and checks it with the saved inputs and settings. The witness of "the same
verdict" is the first run's own figures (same arrays, same seed: same numbers); the
witness of "the code as it is now" is the module rewritten with the slip fixed.
"""

from __future__ import annotations

import copy
import importlib
import sys

import numpy as np
import pytest

from handgrad.compare import cli
from handgrad.compare.check.objects import assert_object_match, check_object
from handgrad.compare.check.replay import load_case, replay

MODULE = '''
import numpy as np


class Dense:
    def __init__(self, n_inputs, n_neurons, seed=0):
        rng = np.random.default_rng(seed)
        self.weights = 0.1 * rng.standard_normal((n_inputs, n_neurons))
        self.biases = 0.1 * rng.standard_normal((1, n_neurons))
        self.shape = (n_inputs, n_neurons)
        self.notes = {"name": "dense", "scale": 0.1, "sizes": [n_inputs, n_neurons]}

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = BIAS_GRADIENT(dvalues, axis=0, keepdims=True)
        self.dinputs = np.dot(dvalues, self.weights.T)


class ReLU:
    def forward(self, inputs):
        return np.maximum(0, inputs)


class DenseWithActivation(Dense):
    def __init__(self, n_inputs, n_neurons):
        super().__init__(n_inputs, n_neurons)
        self.activation = ReLU()  # another object: not kept in a case


def torch_dense(p, x):
    return x @ p["weights"] + p["biases"]


def torch_named(p, x):
    return x @ p["W"] + p["b"]


class ScaledDense(Dense):
    def forward(self, inputs, scale=1.0):
        self.scale = scale
        self.inputs = inputs
        self.output = scale * (np.dot(inputs, self.weights) + self.biases)

    def backward(self, dvalues, scale=1.0):
        super().backward(self.scale * dvalues)


def torch_scaled(p, x):
    return 2.0 * (x @ p["weights"] + p["biases"])


def scaled_kinks(p, x):
    return x @ p["weights"]  # not a kink of this layer: it only makes fd step aside
'''
SLIP = "BIAS_GRADIENT = np.mean  # the slip: averaged, while dweights is summed\n"
FIXED = "BIAS_GRADIENT = np.sum\n"


@pytest.fixture
def user_folder(tmp_path, monkeypatch):
    """``tmp_path`` holding ``dense_slip.py`` (with the slip), imported from there;
    ``forget(fixed)`` unloads it (the rerun must import it again), rewritten fixed or not,
    and makes ``tmp_path`` the current folder, off sys.path."""
    (tmp_path / "dense_slip.py").write_text(MODULE + SLIP)
    monkeypatch.syspath_prepend(str(tmp_path))

    def forget(fixed=False):
        sys.modules.pop("dense_slip", None)
        (tmp_path / "dense_slip.py").write_text(MODULE + (FIXED if fixed else SLIP))
        monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
        monkeypatch.chdir(tmp_path)

    yield forget
    sys.modules.pop("dense_slip", None)


def _figures(report):
    return [(e.name, e.kind, e.status, e.autograd_rel_err, e.fd_rel_err)
            for e in report.entries]


def _replay_with_the_cli(meta, capsys) -> tuple[int, str, str]:
    code = cli.main(["verify", "--replay", str(meta)])
    out = capsys.readouterr()
    return code, out.out, out.err


def _failing_case(tmp_path, cls_name="Dense", torch_name="torch_dense", **kwargs):
    """A failing assert_object_match on dense_slip's layer, saved; (report, json path)."""
    mine = importlib.import_module("dense_slip")
    layer = getattr(mine, cls_name)(4, 3)
    x = np.random.default_rng(5).standard_normal((6, 4))
    with pytest.raises(AssertionError, match="gradient check FAILED") as failed:
        assert_object_match(layer, {"inputs": x}, getattr(mine, torch_name), seed=11,
                            **kwargs)
    report = failed.value.report  # what the pytest plugin saves
    _, meta = report.save(tmp_path / "saved" / "dense")
    return report, meta


def test_a_failing_object_case_reruns_to_the_same_verdict(user_folder, tmp_path, capsys):
    report, meta = _failing_case(tmp_path)
    assert report.failures == ["biases"], report
    user_folder()
    code, out, err = _replay_with_the_cli(meta, capsys)
    assert code == 1, out + err
    assert "saved verdict: fail" in out and "gradient check FAILED" in out
    assert "gradients that disagree: ['biases']" in out
    again, _ = replay(meta)
    assert _figures(again) == _figures(report)  # same state, inputs and seed: same numbers


def test_the_rerun_checks_the_code_as_it_is_now(user_folder, tmp_path, capsys):
    report, meta = _failing_case(tmp_path)
    assert report.verdict == "fail", report
    user_folder(fixed=True)
    code, out, err = _replay_with_the_cli(meta, capsys)
    assert code == 0, out + err
    assert "saved verdict: fail" in out
    again, _ = replay(meta)
    assert again.ok and [e.name for e in again.entries if e.kind == "param"] == [
        "weights", "biases"], again


def test_the_state_saved_is_the_state_before_the_check(user_folder, tmp_path):
    mine = importlib.import_module("dense_slip")
    layer = mine.Dense(4, 3)
    before = copy.deepcopy(vars(layer))
    x = np.random.default_rng(5).standard_normal((6, 4))
    report = check_object(layer, {"inputs": x}, mine.torch_dense, seed=11)
    _, meta = report.save(tmp_path / "dense")
    case = load_case(meta)
    assert sorted(case.meta["state"]["json"]) == sorted(before)  # no inputs, output, d...
    assert case.meta["state"]["unsaved"] == {}
    np.testing.assert_array_equal(case.arrays["state:weights"], before["weights"])
    np.testing.assert_array_equal(case.arrays["state:biases"], before["biases"])
    user_folder()
    from handgrad.compare.check.replay import rebuild_object
    rebuilt = rebuild_object(case)
    assert type(rebuilt).__name__ == "Dense" and sorted(vars(rebuilt)) == sorted(before)
    assert rebuilt.shape == (4, 3) and rebuilt.notes == before["notes"]  # tuple stays tuple
    assert [k for k in case.inputs] == ["inputs"]  # the parameters live in the state


def test_an_attribute_holding_another_object_is_named_and_refused(user_folder, tmp_path,
                                                                  capsys):
    report, meta = _failing_case(tmp_path, "DenseWithActivation")
    assert load_case(meta).meta["state"]["unsaved"] == {
        "activation": "a dense_slip.ReLU object"}
    user_folder()
    code, out, err = _replay_with_the_cli(meta, capsys)
    assert code == 2, out + err
    assert "DenseWithActivation object with check_object: it cannot be rebuilt" in err
    assert "the attributes ['activation'] could not be saved" in err
    assert "a half-rebuilt object is never rerun" in err


def test_params_given_as_callables_cannot_be_saved(user_folder, tmp_path, capsys):
    def weights(layer):
        return layer.weights

    _, meta = _failing_case(tmp_path, params={"weights": weights, "biases": "biases"},
                            grads={"weights": "dweights", "biases": "dbiases"})
    user_folder()
    code, _, err = _replay_with_the_cli(meta, capsys)
    assert code == 2
    assert "the settings ['params'] could not be saved" in err
    assert "callables cannot be saved" in err


def test_params_given_as_attribute_names_replay(user_folder, tmp_path, capsys):
    report, meta = _failing_case(tmp_path, torch_name="torch_named",
                                 params={"W": "weights", "b": "biases"},
                                 grads={"W": "dweights", "b": "dbiases"})
    assert report.failures == ["b"], report
    user_folder()
    code, out, _ = _replay_with_the_cli(meta, capsys)
    assert code == 1 and "gradients that disagree: ['b']" in out


def test_keyword_arguments_and_kinks_replay(user_folder, tmp_path, capsys):
    mine = importlib.import_module("dense_slip")
    report, meta = _failing_case(tmp_path, "ScaledDense", torch_name="torch_scaled",
                                 forward_kwargs={"scale": 2.0},
                                 backward_kwargs={"scale": np.float64(2.0)},
                                 kinks=mine.scaled_kinks)
    assert report.failures == ["biases"], report
    call = load_case(meta).meta["call"]
    assert call["kinks"]["name"] == "dense_slip:scaled_kinks"
    assert call["torch_fn"]["name"] == "dense_slip:torch_scaled"
    user_folder()
    code, out, _ = _replay_with_the_cli(meta, capsys)
    assert code == 1 and "gradients that disagree: ['biases']" in out
    again, _ = replay(meta)
    assert _figures(again) == _figures(report)


def test_a_keyword_argument_holding_an_object_is_named(user_folder, tmp_path, capsys):
    mine = importlib.import_module("dense_slip")
    _, meta = _failing_case(tmp_path, "ScaledDense", torch_name="torch_scaled",
                            forward_kwargs={"scale": 2.0},
                            backward_kwargs={"scale": mine.ReLU()})
    user_folder()
    code, _, err = _replay_with_the_cli(meta, capsys)
    assert code == 2
    assert "the settings ['backward_kwargs'] could not be saved" in err
    assert "a dense_slip.ReLU object" in err


@pytest.mark.parametrize("where, why", [
    ("__main__", "was defined in a script run as __main__"),
    ("function", "was defined inside another function"),
], ids=["script", "inside-a-function"])
def test_a_class_that_cannot_be_imported_is_named(tmp_path, capsys, where, why):
    class Scale:
        def __init__(self):
            self.weights = np.full((1, 3), 2.0)

        def forward(self, inputs):
            self.inputs = inputs
            self.output = inputs * self.weights

        def backward(self, dvalues):
            self.dweights = np.sum(dvalues, axis=0, keepdims=True)  # slip: times inputs lost
            self.dinputs = dvalues * self.weights

    if where == "__main__":
        Scale.__module__ = "__main__"
        Scale.__qualname__ = "Scale"
    report = check_object(Scale(), {"inputs": np.ones((2, 3)) * 3.0})
    assert report.failures == ["weights"], report
    _, meta = report.save(tmp_path / "scale")
    code, _, err = _replay_with_the_cli(meta, capsys)
    assert code == 2
    assert ("Scale object with check_object: it cannot be rebuilt: its class cannot be "
            "imported again: it " + why) in err


def test_a_missing_module_is_named(user_folder, tmp_path, capsys):
    _, meta = _failing_case(tmp_path)
    user_folder()
    (tmp_path / "dense_slip.py").unlink()
    code, _, err = _replay_with_the_cli(meta, capsys)
    assert code == 2
    assert "the module 'dense_slip' is needed" in err


@pytest.mark.slow  # starts a Python process
def test_handgrad_verify_replay_reruns_an_object_case_in_a_fresh_process(user_folder,
                                                                         tmp_path):
    from tests.plugin.scratch import replay_in_a_fresh_process

    report, meta = _failing_case(tmp_path)
    assert report.failures == ["biases"], report
    user_folder()
    out = replay_in_a_fresh_process(meta, tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "saved verdict: fail" in out.stdout
    assert "gradients that disagree: ['biases']" in out.stdout


PLUGIN_TEST = """
    import numpy as np

    from handgrad import assert_object_match

    import dense_slip


    def test_dense():
        x = np.random.default_rng(5).standard_normal((6, 4))
        assert_object_match(dense_slip.Dense(4, 3), {"inputs": x}, dense_slip.torch_dense)
"""


@pytest.mark.slow  # runs pytest and handgrad in processes of their own
def test_a_case_the_pytest_plugin_saved_replays(tmp_path):
    import subprocess

    from tests.plugin.scratch import CLEAN_ENV, run_pytest, write_project

    write_project(tmp_path, {"dense_slip.py": MODULE + SLIP, "tests/test_layers.py": PLUGIN_TEST,
                             "pytest.ini": "[pytest]\npythonpath = .\n"})
    run = run_pytest(tmp_path, "-q")
    assert run.returncode == 1, run.stdout + run.stderr
    meta = tmp_path / ".handgrad" / "replays" / "tests_test_layers_py__test_dense.json"
    assert f"rerun: handgrad verify --replay {meta}" in run.stdout

    # the slip fixed, the saved case passes: the replay runs the code as it is now (that a
    # replay in a fresh process fails as the saved case did is the test above)
    (tmp_path / "dense_slip.py").write_text(MODULE + FIXED)
    fixed = subprocess.run([sys.executable, "-m", "handgrad", "verify", "--replay", str(meta)],
                           cwd=tmp_path, env=CLEAN_ENV, capture_output=True, text=True,
                           timeout=120)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "saved verdict: fail" in fixed.stdout
