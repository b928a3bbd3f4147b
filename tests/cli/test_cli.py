"""``handgrad verify``: exit codes, the printed table and the JSON records."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from handgrad import handmade
from handgrad.compare import cli
from handgrad.compare.check import suite as matrix

REQUIRED = {"config", "dtype", "device", "param", "autograd_rel_err", "fd_rel_err", "ok"}


@pytest.fixture(scope="module")
def verify_json(tmp_path_factory):
    path = tmp_path_factory.mktemp("verify") / "verify.json"
    code = cli.main(["verify", "--device", "cpu", "--quiet", "--json", str(path)])
    return code, json.loads(path.read_text())


def test_verify_exits_0_and_writes_one_record_per_config_and_parameter(verify_json):
    code, records = verify_json
    assert code == 0
    assert "NaN" not in json.dumps(records) and "Infinity" not in json.dumps(records)
    assert all(REQUIRED <= set(r) for r in records)
    params = [r for r in records if r["kind"] == "param"]
    expected = {(c.name, dtype, key) for c in matrix.default_configs()
                for dtype in ("float64", "float32")
                for key in c.build(np.float64).params}
    assert {(r["config"], r["dtype"], r["param"]) for r in params} == expected
    assert len(params) == len(expected)  # no duplicates
    assert all(r["ok"] and r["device"] == "cpu" for r in records)
    # finite differences judge float64; float32 code is judged through its float64 run
    assert all(r["fd_rel_err"] is not None for r in params if r["dtype"] == "float64")


def refuse_constant(token):
    raise AssertionError(f"non-standard JSON token {token}")


def test_verify_json_is_strict_and_writes_non_finite_as_null(monkeypatch, tmp_path):
    from handgrad.compare.check.report import GradReport

    records = GradReport.records

    def with_inf(self, config=""):
        return [{**r, "fd_rel_err": float("inf")} for r in records(self, config)]
    monkeypatch.setattr(GradReport, "records", with_inf)
    first = matrix.default_configs()[:1]
    monkeypatch.setattr(matrix, "default_configs", lambda: first)
    path = tmp_path / "v.json"
    assert cli.main(["verify", "--device", "cpu", "--dtype", "float64", "--quiet",
                     "--json", str(path)]) == 0
    written = json.loads(path.read_text(), parse_constant=refuse_constant)
    assert written and all(r["fd_rel_err"] is None for r in written)


def test_json_files_write_null_for_non_finite_and_plain_numbers(tmp_path):
    from handgrad.bookkeeping.atomic import write_json_atomic

    path = tmp_path / "x.json"
    write_json_atomic(path, [{"a": float("nan"), "b": np.float32(np.inf), "c": -np.inf,
                              "d": np.bool_(True), "e": np.array([1.0, np.nan]), "f": 1.5,
                              "g": None, "h": "NaN", "i": (np.int64(3),)}])
    assert json.loads(path.read_text(), parse_constant=refuse_constant) == [
        {"a": None, "b": None, "c": None, "d": True, "e": [1.0, None], "f": 1.5, "g": None,
         "h": "NaN", "i": [3]}]


def test_verify_fails_with_exit_1_on_a_wrong_gradient(monkeypatch, capsys):
    class NoFactorTwo(handmade.MLP):
        def loss_and_grads(self, X, y):
            loss, grads = super().loss_and_grads(X, y)
            return loss, {k: g / 2 for k, g in grads.items()}  # mse's factor 2 forgotten

    bad = matrix.Config("bad-mse", lambda dt: NoFactorTwo([3, 4, 2], ["tanh", "identity"],
                                                          "mse", dtype=dt), "mse")
    monkeypatch.setattr(matrix, "default_configs", lambda: [bad])
    assert cli.main(["verify", "--device", "cpu", "--dtype", "float64"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "layers.0.weight" in out and "0 passed, 1 failed" in out


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_verify_on_missing_cuda_is_a_usage_error(capsys):
    assert cli.main(["verify", "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "CUDA is not available" in err and "Traceback" not in err


def test_verify_quiet_prints_the_summary_lines_and_no_table_header(monkeypatch, capsys):
    first = matrix.default_configs()[:1]
    monkeypatch.setattr(matrix, "default_configs", lambda: first)
    assert cli.main(["verify", "--device", "cpu", "--dtype", "float64", "--quiet"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == ["worst float64"], lines
    assert lines[-1].startswith("1 passed, 0 failed"), lines
    assert not any("config" in line and "result" in line for line in lines), lines


@pytest.mark.parametrize("command", [["verify", "--device", "cuda"],
                                     ["verify", "--device", "cuda:0"],
                                     ["train", "--device", "cuda", "--epochs", "1"]],
                         ids=["verify-cuda", "verify-cuda-0", "train-cuda"])
def test_missing_cuda_is_answered_in_the_command_line_spelling(monkeypatch, capsys, tmp_path,
                                                               command):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on a machine without
    out = ["--out", str(tmp_path / "run")] if command[0] == "train" else []
    assert cli.main([*command, *out]) == 2
    err = capsys.readouterr().err
    assert "CUDA is not available" in err and "use --device cpu" in err, err
    assert "device='cpu'" not in err and "Traceback" not in err, err
    assert not (tmp_path / "run").exists()


def test_module_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "handgrad", "verify", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "--json" in proc.stdout


def test_train_writes_the_run_folder(tmp_path, capsys):
    from handgrad.compare.train.runs import load_run

    assert cli.main(["train", "--epochs", "3", "--out", str(tmp_path)]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"run.json", "params.npz", "state_dict.pt", "losses.png", "divergence.png",
                     "boundary.png", "boundary.gif", "manifest.json"}
    out = capsys.readouterr().out
    assert "test accuracy" in out and "seconds per epoch" in out
    hand, twin, record = load_run(tmp_path)
    assert record["summary"]["steps"] == len(record["trajectory"]) == 3 * 8  # 240 / 32
    assert record["summary"]["max_rel_param_diff"] <= 1e-9


def test_train_divergence_is_an_error_with_the_step(tmp_path, capsys):
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore"):
        code = cli.main(["train", "--dataset", "seed003", "--hidden", "none", "--lr", "1e3",
                         "--epochs", "500", "--out", str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert "diverged" in err and "at step" in err and "learning rate (1000.0)" in err
    assert "Traceback" not in err
