"""A failing check saved (npz + json, no pickle) and rerun; the pytest plugin saves one."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from handgrad import handmade
from handgrad.compare import assert_gradients_match, check_gradients, check_layer, check_model
from handgrad.compare.check.replay import load_case, rebuild_model, replay


class DoubledOutputBias(handmade.MLP):
    """A slip: the output bias gradient twice what it is."""

    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        grads = dict(grads)
        grads["layers.1.bias"] = 2 * grads["layers.1.bias"]
        return loss, grads


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((8, 4)), rng.integers(0, 3, 8)


def _strict_json(path):
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")
    return json.loads(path.read_text(), parse_constant=refuse)


def test_a_saved_check_gradients_reruns_to_the_same_verdict(tmp_path):
    model = DoubledOutputBias([4, 5, 3], ["tanh", "identity"], "cross_entropy", seed=2)
    X, y = _batch()
    report = check_gradients(model, X, y)
    assert report.failures == ["layers.1.bias"]
    npz, meta = report.save(tmp_path / "case")
    record = _strict_json(meta)
    assert record["verdict"] == "fail" and record["door"] == "check_gradients"
    assert set(record["versions"]) == {"python", "numpy", "torch", "handgrad"}
    assert "autograd float64" in record["tolerances"]
    with np.load(npz, allow_pickle=False) as data:  # plain arrays, no pickle
        np.testing.assert_array_equal(data["X"], X)
        np.testing.assert_array_equal(data["param:layers.0.weight"],
                                      model.params["layers.0.weight"])
    again, case = replay(meta)
    assert again.failures == ["layers.1.bias"]
    rebuilt = rebuild_model(case)
    assert type(rebuilt) is DoubledOutputBias
    for key, value in model.params.items():  # the saved point, not a fresh init
        np.testing.assert_array_equal(rebuilt.params[key], value)


def test_a_passing_check_keeps_no_copy_and_says_so(tmp_path):
    model = handmade.MLP([4, 5, 3], ["tanh", "identity"], "cross_entropy")
    report = check_gradients(model, *_batch())
    assert report.ok and report.case is None
    with pytest.raises(ValueError, match="this check passed: .* nothing to save or replay"):
        report.save(tmp_path / "x")


def test_a_check_model_case_holds_the_arrays_to_rerun_it(tmp_path):
    rng = np.random.default_rng(1)
    params = {"w": rng.standard_normal(4)}
    X, y = rng.standard_normal((6, 4)), rng.standard_normal(6)

    def loss(X, y):  # a slip: the 1/m of the mean forgotten in the gradient
        r = X @ params["w"] - y
        return 0.5 * np.mean(r**2), {"w": X.T @ r}

    report = check_model(params, loss, X, y, lambda p, X, y: 0.5 * ((X @ p["w"] - y)**2).mean())
    assert report.verdict == "fail"
    case = load_case(report.save(tmp_path / "model")[0])
    assert case.door == "check_model" and case.meta["seed"] == 0
    np.testing.assert_array_equal(case.params["w"], params["w"])
    np.testing.assert_array_equal(case.arrays["y"], y)
    with pytest.raises(ValueError, match="rerun it in Python"):
        rebuild_model(case)


def test_a_check_layer_case_holds_the_upstream_gradient_it_drew(tmp_path):
    x = np.random.default_rng(5).standard_normal((3, 4))
    report = check_layer(lambda x: (np.tanh(x), x), lambda d, x: d * (1 - np.tanh(x)),
                         {"x": x}, torch.tanh, seed=7)  # slip: 1 - tanh instead of 1 - tanh²
    assert report.verdict == "fail"
    case = load_case(report.save(tmp_path / "layer")[1])
    witness = np.random.default_rng(7).standard_normal((3, 4))  # dout = N(0, 1), seeded
    np.testing.assert_array_equal(case.arrays["dout:0"], witness)
    np.testing.assert_array_equal(case.inputs["x"], x)


def test_load_case_names_what_is_missing_or_broken(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved check"):
        load_case(tmp_path / "nothing")
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "bad.npz").write_bytes(b"")
    with pytest.raises(ValueError, match="bad.json"):
        load_case(tmp_path / "bad")


def test_assert_raises_with_the_report_attached():
    model = DoubledOutputBias([4, 5, 3], ["tanh", "identity"], "cross_entropy")
    with pytest.raises(AssertionError) as info:
        assert_gradients_match(model, *_batch())
    assert info.value.report.failures == ["layers.1.bias"]


FAILING_TEST = '''
import numpy as np
from handgrad import handmade
from handgrad.compare import assert_gradients_match

class Slip(handmade.MLP):
    def loss_and_grads(self, X, y):
        loss, grads = super().loss_and_grads(X, y)
        return loss, {k: (-g if k == "layers.0.weight" else g) for k, g in grads.items()}

def test_net():
    X = np.random.default_rng(0).standard_normal((5, 3))
    assert_gradients_match(Slip([3, 4, 2], ["relu", "identity"], "mse"), X, X[:, :2])
'''


def test_the_pytest_plugin_saves_a_failing_check_and_says_where(tmp_path):
    (tmp_path / "test_user.py").write_text(FAILING_TEST)
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(tmp_path / "test_user.py"), "--rootdir", str(tmp_path)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 1, out.stdout + out.stderr
    saved = list((tmp_path / ".handgrad" / "replays").glob("*.json"))
    assert len(saved) == 1, out.stdout
    assert f"failing check saved to {saved[0].with_suffix('.npz')}" in out.stdout
    assert "handgrad verify --replay" in out.stdout
    assert load_case(saved[0]).report["verdict"] == "fail"


def test_the_notebook_table_marks_a_failing_entry():
    model = DoubledOutputBias([4, 5, 3], ["tanh", "identity"], "cross_entropy")
    page = check_gradients(model, *_batch())._repr_html_()
    rows = {row.split("<td>")[1].split("</td>")[0]: row for row in page.split("<tr")[2:]}
    assert 'class="handgrad-fail"' in rows["layers.1.bias"] and "FAIL" in rows["layers.1.bias"]
    assert "background:#fdd" in rows["layers.1.bias"]
    assert 'class="handgrad-pass"' in rows["layers.0.weight"]
    assert "background" not in rows["layers.0.weight"]
    assert "gradient check FAILED" in page


def test_handgrad_verify_replay_reruns_a_saved_check(tmp_path, capsys):
    from handgrad.compare import cli

    model = DoubledOutputBias([4, 5, 3], ["tanh", "identity"], "cross_entropy", seed=2)
    _, meta = check_gradients(model, *_batch()).save(tmp_path / "case")
    assert cli.main(["verify", "--replay", str(meta)]) == 1
    out = capsys.readouterr().out
    assert "saved verdict: fail" in out and "gradient check FAILED" in out
    assert "layers.1.bias" in out.split("gradients that disagree:")[1]
    assert cli.main(["verify", "--replay", str(tmp_path / "missing")]) == 2
    assert "no saved check" in capsys.readouterr().err


def test_a_class_from_a_script_or_the_current_folder(tmp_path, monkeypatch):
    from handgrad.compare.check.replay import Case

    meta = {"class": "__main__:MyMLP", "sizes": [2, 1], "activations": ["identity"],
            "loss": ["mse"], "reduction": ["mean"]}
    case = Case("check_gradients", {"param:layers.0.weight": np.zeros((1, 2)),
                                    "param:layers.0.bias": np.zeros(1)}, meta)
    with pytest.raises(ValueError, match="defined in a script"):
        rebuild_model(case)
    (tmp_path / "mine_here.py").write_text("from handgrad import handmade\n"
                                           "class Mine(handmade.MLP):\n"
                                           "    pass\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    case.meta["class"] = "mine_here:Mine"
    assert type(rebuild_model(case)).__name__ == "Mine"  # found in the current folder
