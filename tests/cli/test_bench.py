"""The benchmark's arithmetic and records, and float32 staying float32 through every update."""

import json

import numpy as np
import pytest

from handgrad import handmade
from handgrad.compare import bench, cli
from handgrad.compare.cli import bench as bench_cli

TUNED = bench_cli.MALLOC_TUNING
GLIBC = pytest.mark.skipif(not bench_cli.is_glibc(), reason="malloc tuning is glibc's")


def test_step_flops_counts_the_products_the_step_does():
    # 1024-500-10 at batch 4: forward 2·4·(1024·500 + 500·10), dW the same again,
    # dX only for the second layer (the first layer's input is the data): 2·4·500·10
    fwd = 2 * 4 * (1024 * 500 + 500 * 10)
    assert bench.step_flops((1024, 500, 10), 4) == 2 * fwd + 2 * 4 * 500 * 10


def test_the_two_steps_train_the_same_model():
    hand_step, torch_step, hand, twin = bench.make_steps((6, 5, 3), 8, "float64")
    before = {k: v.copy() for k, v in hand.params.items()}
    for _ in range(3):
        hand_step()
        torch_step()
    assert any(not np.array_equal(before[k], hand.params[k]) for k in before)
    for key, value in twin.state_dict().items():
        # float64, three steps of the same update on the same batch: 1e-12 relative
        np.testing.assert_allclose(hand.params[key], value.numpy(), rtol=1e-12, atol=1e-15)


def test_bench_cli_writes_records_with_the_required_fields(tmp_path, capsys):
    # measured here (--no-malloc-tuning: no child process); the run in a child with the
    # tuning on is tests/cli/test_cli_process.py::test_bench_into_head_ends_quietly_...
    out, plot = tmp_path / "bench.json", tmp_path / "bench.png"
    assert cli.main(["bench", "--quick", "--threads", "1", "--cases", "3-2-1:2,64-32-10:64",
                     "--json", str(out), "--plot", str(plot), "--no-malloc-tuning"]) == 0
    records = json.loads(out.read_text())
    assert len(records) == 4  # 2 cases x 2 dtypes
    for r in records:
        assert {"case", "dtype", "batch", "handmade_s", "torch_s", "ratio",
                "gemm_frac"} <= set(r)
        assert r["ratio"] == pytest.approx(r["handmade_s"] / r["torch_s"])
        assert r["handmade_samples_s"] == [r["handmade_s"]]  # --quick: one block
        assert r["noisy"] is False
    assert plot.stat().st_size > 0
    out = capsys.readouterr().out
    assert "hand/torch = handmade / torch" in out and "min/med/max" in out


def test_no_malloc_tuning_measures_here_with_glibc_defaults(monkeypatch, capsys):
    for key in TUNED:
        monkeypatch.delenv(key, raising=False)
    assert cli.main(["bench", "--quick", "--threads", "1", "--cases", "3-2-1:2",
                     "--no-malloc-tuning"]) == 0
    assert "glibc malloc tuning: off" in capsys.readouterr().out


@GLIBC
@pytest.mark.parametrize("tuned, environ, expected", [
    (True, {"A": "1"}, {"A": "1", **TUNED}),
    (True, {"MALLOC_MMAP_THRESHOLD_": "5"}, {**TUNED, "MALLOC_MMAP_THRESHOLD_": "5"}),
    (True, {**TUNED, "MALLOC_TRIM_THRESHOLD_": "7"}, None),  # the user's values stay
    (False, {"A": "1"}, None),
    (False, {"A": "1", "MALLOC_TRIM_THRESHOLD_": "7"}, {"A": "1"}),
], ids=["add", "complete", "already-tuned", "already-default", "remove"])
def test_malloc_environ(tuned, environ, expected):
    assert bench_cli.malloc_environ(tuned, environ) == expected


def test_malloc_tuning_values_are_those_mallopt_set():
    assert TUNED == {"MALLOC_MMAP_THRESHOLD_": str(32 * 2**20),
                     "MALLOC_TRIM_THRESHOLD_": str(2**30)}


@pytest.mark.parametrize("argv", [
    ["bench"],
    ["bench", "--threads", "1", "--repeats", "2", "--block", "0.1", "--json", "a b.json",
     "--plot", "p.png", "--cases", "3-2-1:2", "--quick", "--no-malloc-tuning"],
], ids=["defaults", "every-option"])
def test_the_child_command_line_parses_back_to_the_same_options(argv):
    parser = cli.build_parser()
    args = parser.parse_args(argv)
    again = parser.parse_args(bench_cli.bench_argv(args))
    assert vars(again) == vars(args)


def test_bad_threads_are_a_usage_error_before_any_child(capsys):
    assert cli.main(["bench", "--threads", "two"]) == 2
    assert ("handgrad bench: error: argument --threads: expected comma-separated positive "
            "integers (e.g. 2,1), got 'two'") in capsys.readouterr().err


@pytest.mark.parametrize("name, options", [
    ("sgd", {"lr": 0.1}), ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weight_decay": 1e-3}),
    ("adam", {"lr": 0.01, "weight_decay": 1e-3})],
    ids=["sgd", "nesterov", "momentum-decay", "adam"])
def test_float32_model_never_computes_in_float64(name, options):
    model = handmade.MLP([5, 7, 3], ["sigmoid", "identity"], "cross_entropy",
                         dtype=np.float32)
    X = np.random.default_rng(0).standard_normal((9, 5))  # float64 on purpose
    y = np.random.default_rng(1).integers(0, 3, 9)
    opt = handmade.make_optimizer(name, model.params, **options)
    for _ in range(3):
        _, grads = model.loss_and_grads(X, y)
        opt.step(grads)
    arrays = {**{f"param {k}": v for k, v in model.params.items()},
              **{f"grad {k}": v for k, v in grads.items()},
              **{f"delta {i}": d for i, d in enumerate(model.deltas)},
              **{f"state {k}": v for attr in ("buffers", "m", "v")
                 for k, v in getattr(opt, attr, {}).items()},
              "output": model.forward(X)}
    assert {k: v.dtype for k, v in arrays.items()} == {k: np.dtype(np.float32) for k in arrays}


def test_check_vs_gradcheck_records_both_sides_and_their_ratio():
    import torch

    threads = torch.get_num_threads()
    (r,) = bench.check_vs_gradcheck([((12, 9, 4), 16)], repeats=2)
    assert torch.get_num_threads() == threads  # one thread while measuring, then restored
    assert r["case"] == "check-vs-gradcheck-12-9-4" and r["batch"] == 16
    assert (r["dtype"], r["threads"], r["repeats"]) == ("float64", 1, 2)
    assert r["check_verdict"] == "pass" and r["gradcheck_verdict"] == "pass"
    for side in ("check", "gradcheck"):
        assert 0 < r[f"{side}_min_s"] <= r[f"{side}_median_s"] <= r[f"{side}_max_s"]
    assert r["ratio"] == pytest.approx(r["check_median_s"] / r["gradcheck_median_s"])


def test_bench_cli_prints_and_writes_the_check_cost(monkeypatch, tmp_path, capsys):
    """The extras with the slow ones stubbed, measured here (no child process)."""
    for key in TUNED:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(bench, "sklearn_epoch", lambda dtype: {
        "case": "sklearn", **bench.compared("handmade", [1.0, 1.1], "sklearn", [4.0, 4.0])})
    monkeypatch.setattr(bench, "vectorization", lambda: {
        "case": "vectorization", "double_loop_s": 1.0, "sample_loop_s": 1.0, "vectorized_s": 1.0,
        "speedup_vs_double": 1.0, "speedup_vs_sample": 1.0})
    monkeypatch.setattr(bench, "verify_seconds", lambda: {"case": "verify-matrix",
                                                          "checks": 0, "ok": True,
                                                          "seconds": 0.0})
    monkeypatch.setattr(bench, "CHECK_CASES", [((12, 9, 4), 16)])
    out = tmp_path / "bench.json"
    assert cli.main(["bench", "--threads", "1", "--cases", "3-2-1:2", "--repeats", "1",
                     "--block", "0.01", "--json", str(out), "--no-malloc-tuning"]) == 0
    records = [r for r in json.loads(out.read_text()) if r["case"].startswith("check-vs")]
    assert [r["case"] for r in records] == ["check-vs-gradcheck-12-9-4"]
    assert records[0]["repeats"] == 5  # at least five, whatever --repeats says
    text = capsys.readouterr().out
    assert "check_gradients vs torch.autograd.gradcheck(fast_mode=True)" in text
    assert "ratio = check / gradcheck" in text.split("gradcheck(fast_mode=True)")[1]
    # handmade 1.05 s (median of 1.0, 1.1) against sklearn's 4.0 s: handmade / sklearn
    assert "handmade / sklearn 0.26" in text
