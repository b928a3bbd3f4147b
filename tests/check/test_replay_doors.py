"""Every door's failing case reruns from its files: ``handgrad verify --replay PATH``.

The user's code lives in a module of its own folder (here ``tmp_path``); the case records
it by name (``module:qualname``), and the rerun imports it again from the current folder.
The rerun must reach the saved verdict with the same figures: same arrays, same seeds.
"""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

from handgrad.compare import check_layer, check_model, cli
from handgrad.compare.check.replay import load_case, replay

LAYER_MODULE = '''
import numpy as np
import torch


def forward(x):
    return np.tanh(x), x


def backward(dout, x):  # a slip: 1 - tanh instead of 1 - tanh**2
    return dout * (1 - np.tanh(x))


def torch_fn(x):
    return torch.tanh(x)


def relu_kinks(x):
    return x
'''

MODEL_MODULE = '''
import numpy as np

PARAMS = {"w": np.zeros(4), "b": np.zeros(1)}


def loss_and_grads(X, y):  # a slip: the 1/m of the mean forgotten in w's gradient
    r = X @ PARAMS["w"] + PARAMS["b"][0] - y
    return 0.5 * np.mean(r ** 2), {"w": X.T @ r, "b": np.array([np.mean(r)])}


def torch_loss(p, X, y):
    return 0.5 * ((X @ p["w"] + p["b"][0] - y) ** 2).mean()


class Net:
    def __init__(self):
        self.params = {"w": np.zeros(4), "b": np.zeros(1)}

    def loss(self, X, y):
        r = X @ self.params["w"] + self.params["b"][0] - y
        return 0.5 * np.mean(r ** 2), {"w": X.T @ r, "b": np.array([np.mean(r)])}


NET = Net()
'''


@pytest.fixture
def user_folder(tmp_path, monkeypatch):
    """A user's folder holding ``layer_slip.py`` and ``model_slip.py``, imported from
    there; ``forget()`` unloads them, so that a rerun must import them again."""
    (tmp_path / "layer_slip.py").write_text(LAYER_MODULE)
    (tmp_path / "model_slip.py").write_text(MODEL_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))

    def forget():
        for name in ("layer_slip", "model_slip"):
            sys.modules.pop(name, None)
        monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
        monkeypatch.chdir(tmp_path)

    yield forget
    for name in ("layer_slip", "model_slip"):
        sys.modules.pop(name, None)


def _figures(report):
    return [(e.name, e.status, e.autograd_rel_err, e.fd_rel_err) for e in report.entries]


def _replay_with_the_cli(meta, capsys) -> tuple[int, str, str]:
    code = cli.main(["verify", "--replay", str(meta)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_check_layer_case_reruns_to_the_same_verdict(user_folder, tmp_path, capsys):
    mine = importlib.import_module("layer_slip")
    x = np.random.default_rng(5).standard_normal((3, 4))
    report = check_layer(mine.forward, mine.backward, {"x": x}, mine.torch_fn, seed=7)
    assert report.failures == ["x"], report
    _, meta = report.save(tmp_path / "saved" / "layer")
    assert load_case(meta).meta["code"]["backward"]["name"] == "layer_slip:backward"
    user_folder()
    code, out, _ = _replay_with_the_cli(meta, capsys)
    assert code == 1
    assert "saved verdict: fail" in out and "gradient check FAILED" in out
    again, _ = replay(meta)
    assert _figures(again) == _figures(report)  # the same dout, drawn from the saved seed


@pytest.mark.parametrize("where", ["module-level dict", "attribute of a module-level object"])
def test_a_check_model_case_reruns_on_the_saved_params(user_folder, tmp_path, capsys, where):
    mine = importlib.import_module("model_slip")
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((6, 4)), rng.standard_normal(6)
    if where == "module-level dict":
        params, loss_and_grads = mine.PARAMS, mine.loss_and_grads
    else:
        params, loss_and_grads = mine.NET.params, mine.NET.loss
    params["w"][...] = rng.standard_normal(4)  # the point checked: not the module's zeros
    params["b"][...] = 0.3
    report = check_model(params, loss_and_grads, X, y, mine.torch_loss)
    assert report.failures == ["w"], report
    _, meta = report.save(tmp_path / "model")
    user_folder()
    code, out, _ = _replay_with_the_cli(meta, capsys)
    assert code == 1
    assert "gradients that disagree: ['w']" in out
    again, _ = replay(meta)
    assert _figures(again) == _figures(report)


def test_a_case_whose_module_is_gone_names_the_module(user_folder, tmp_path, capsys):
    mine = importlib.import_module("layer_slip")
    x = np.random.default_rng(5).standard_normal((3, 4))
    _, meta = check_layer(mine.forward, mine.backward, {"x": x}, mine.torch_fn).save(
        tmp_path / "layer")
    user_folder()
    (tmp_path / "layer_slip.py").unlink()
    code, _, err = _replay_with_the_cli(meta, capsys)
    assert code == 2
    assert "the module 'layer_slip' is needed" in err
    assert "run the replay from the folder that holds it" in err


@pytest.mark.parametrize("make, why", [
    ("lambda", "is a lambda"),
    ("closure", "was defined inside another function"),
], ids=["lambda", "closure"])
def test_code_that_cannot_be_imported_again_says_why(tmp_path, make, why):
    def inner_forward(x):
        return np.tanh(x), x

    forward = (lambda x: (np.tanh(x), x)) if make == "lambda" else inner_forward
    x = np.random.default_rng(5).standard_normal((3, 4))
    report = check_layer(forward, lambda d, x: d * (1 - np.tanh(x)), {"x": x})
    assert report.verdict == "fail", report
    _, meta = report.save(tmp_path / "layer")
    with pytest.raises(ValueError, match=f"forward .* cannot be rerun: it {why}"):
        replay(meta)


def test_a_script_function_says_to_move_it_into_a_module(tmp_path):
    def backward(d, x):
        return d * (1 - np.tanh(x))

    def forward(x):
        return np.tanh(x), x

    forward.__module__ = backward.__module__ = "__main__"
    forward.__qualname__ = "forward"
    backward.__qualname__ = "backward"
    report = check_layer(forward, backward, {"x": np.ones((2, 2))})
    _, meta = report.save(tmp_path / "layer")
    with pytest.raises(ValueError, match="script run as __main__.*move it into a module"):
        replay(meta)


def test_params_that_no_module_holds_are_named_as_the_obstacle(user_folder, tmp_path):
    mine = importlib.import_module("model_slip")
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((6, 4)), rng.standard_normal(6)
    params = {"w": rng.standard_normal(4), "b": np.zeros(1)}  # a dict no module holds
    report = check_model(params, mine.loss_and_grads, X, y, mine.torch_loss)
    assert not report.ok, report  # it reads PARAMS, not this dict: nothing agrees
    _, meta = report.save(tmp_path / "model")
    with pytest.raises(ValueError, match="params cannot be found again: keep params in a "
                                         "module-level dict"):
        replay(meta)


def test_a_check_object_case_of_a_local_class_cannot_be_rebuilt(tmp_path):
    from handgrad.compare.check.case import Case, object_case
    from handgrad.compare.check.replay import rerun

    class Dense:  # stands for a user's layer object
        pass

    layer_case = Case("check_layer", {"input:x": np.ones((2, 3))},
                      {"seed": 0, "fd": "auto", "device": "cpu", "no_grad": [],
                       "code": {"forward": None}})
    case = object_case(Dense(), layer_case)
    assert case.door == "check_object" and "code" not in case.meta
    assert case.meta["class"]["name"].endswith("Dense")
    with pytest.raises(ValueError, match="Dense object with check_object: .* cannot be rebuilt"):
        rerun(case)


@pytest.mark.slow  # starts a Python process
def test_handgrad_verify_replay_in_a_fresh_process_imports_from_the_current_folder(
        user_folder, tmp_path):
    from tests.plugin.scratch import replay_in_a_fresh_process

    mine = importlib.import_module("model_slip")
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((6, 4)), rng.standard_normal(6)
    mine.PARAMS["w"][...] = rng.standard_normal(4)
    report = check_model(mine.PARAMS, mine.loss_and_grads, X, y, mine.torch_loss)
    assert report.failures == ["w"], report
    _, meta = report.save(tmp_path / "saved" / "model")
    out = replay_in_a_fresh_process(meta, tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "saved verdict: fail" in out.stdout
    assert "gradients that disagree: ['w']" in out.stdout
