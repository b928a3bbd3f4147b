"""Issue 6's bad-input corpus, section 10: the CLI exits 2 with the message on one line of
stderr and no traceback (the other sections are the tests/*/test_bad_input_*.py files)."""

import pytest
import torch

from compare import cli

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")


# --- 10. the CLI: exit 2, the message on one line of stderr, no traceback --------------------

def cli_case(id, args, *words, marks=()):
    return pytest.param(args, words, id=id, marks=marks)


@pytest.mark.parametrize("args, words", [
    cli_case("dataset", ["train", "--dataset", "mnist"], "invalid choice: 'mnist'", "moons"),
    cli_case("hidden-not-int", ["train", "--hidden", "8,x"], "--hidden", "positive integers",
             "'8,x'"),
    cli_case("hidden-zero", ["train", "--hidden", "8,0"], "--hidden", "'8,0'"),
    cli_case("optimizer", ["train", "--optimizer", "rmsprop"], "invalid choice: 'rmsprop'",
             "adam", "nesterov"),
    cli_case("lr-negative", ["train", "--lr", "-1"], "lr must be", ">= 0", "-1.0"),
    cli_case("lr-not-a-number", ["train", "--lr", "fast"], "--lr", "invalid float value"),
    cli_case("batch-size-negative", ["train", "--batch-size", "-4"], "batch_size", ">= 1", "-4"),
    cli_case("epochs-zero", ["train", "--epochs", "0"], "epochs", ">= 1", "0"),
    cli_case("momentum-negative", ["train", "--optimizer", "momentum", "--momentum", "-0.5"],
             "momentum", ">= 0", "-0.5"),
    cli_case("patience-zero", ["train", "--patience", "0"], "patience", ">= 1", "0"),
    cli_case("grad-tol-negative", ["train", "--grad-tol", "-1"], "grad_tol", ">= 0", "-1.0"),
    cli_case("activation", ["train", "--activation", "swish"], "unknown activation 'swish'",
             "relu"),
    cli_case("loss", ["train", "--loss", "hinge"], "unknown loss 'hinge'", "cross_entropy"),
    cli_case("class-loss-on-binary-data", ["train", "--loss", "cross_entropy"],
             "cross_entropy", "integer class indices", "float64"),
    cli_case("dtype", ["train", "--dtype", "float16"], "invalid choice: 'float16'", "float32"),
    cli_case("device-name", ["train", "--device", "tpu"], "'tpu'", "cpu", "cuda"),
    cli_case("device-index", ["train", "--device", "cuda:7"], "cuda:7"),
    cli_case("train-cuda", ["train", "--device", "cuda"], "CUDA is not available",
             marks=NO_CUDA),
    cli_case("verify-cuda", ["verify", "--device", "cuda"], "CUDA is not available",
             marks=NO_CUDA),
    cli_case("example", ["derive", "seed004"], "unknown example 'seed004'", "seed003"),
    cli_case("bug", ["derive", "--bug", "nope"], "unknown bug 'nope'"),
    cli_case("one-size", ["count", "5"], "sizes", "positive integers", "[5]"),
])
def test_cli_usage_errors_exit_2_without_a_traceback(args, words, capsys, tmp_path):
    out = ["--out", str(tmp_path / "run")] if args[0] == "train" else []
    assert cli.main([*args, *out]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"handgrad {args[0]}: error: " in err
    for word in words:
        assert word in err, (word, err)
    assert not (tmp_path / "run").exists()  # nothing was written


def test_library_errors_are_one_line_on_stderr(capsys, tmp_path):
    assert cli.main(["train", "--lr", "-1", "--out", str(tmp_path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["handgrad train: error: lr must be a finite number >= 0, got -1.0"]
