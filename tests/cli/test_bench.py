"""The benchmark's arithmetic and records, and float32 staying float32 through every update."""

import json

import numpy as np
import pytest

import handmade
from compare import bench, cli


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
    out, plot = tmp_path / "bench.json", tmp_path / "bench.png"
    assert cli.main(["bench", "--quick", "--threads", "1", "--cases", "3-2-1:2,64-32-10:64",
                     "--json", str(out), "--plot", str(plot)]) == 0
    records = json.loads(out.read_text())
    assert len(records) == 4  # 2 cases x 2 dtypes
    for r in records:
        assert {"case", "dtype", "batch", "handmade_s", "torch_s", "ratio",
                "gemm_frac"} <= set(r)
        assert r["ratio"] == pytest.approx(r["handmade_s"] / r["torch_s"])
    assert plot.stat().st_size > 0
    assert "ratio" in capsys.readouterr().out


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
              **{f"state {k}": v for attr in ("buffers", "m", "v", "_scaled")
                 for k, v in getattr(opt, attr, {}).items()},
              "output": model.forward(X)}
    assert {k: v.dtype for k, v in arrays.items()} == {k: np.dtype(np.float32) for k in arrays}
