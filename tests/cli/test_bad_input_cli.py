"""Issue 6's bad-input corpus, section 10: the CLI exits 2 with the message on one line of
stderr and no traceback (the other sections are the tests/*/test_bad_input_*.py files)."""

import time

import pytest
import torch

from handgrad.compare import cli

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")


# --- 10. the CLI: exit 2, the message on one line of stderr, no traceback --------------------

def cli_case(id, args, *words, marks=()):
    return pytest.param(args, words, id=id, marks=marks)


@pytest.mark.parametrize("args, words", [
    cli_case("dataset", ["train", "--dataset", "mnist"], "invalid choice: 'mnist'", "moons"),
    cli_case("hidden-not-int", ["train", "--hidden", "8,x"], "--hidden", "positive integers",
             "'8,x'"),
    cli_case("hidden-zero", ["train", "--hidden", "8,0"], "--hidden", "'8,0'"),
    cli_case("hidden-0", ["train", "--hidden", "0"], "--hidden", "positive integers",
             "'none'", "'0'"),
    cli_case("optimizer", ["train", "--optimizer", "rmsprop"], "invalid choice: 'rmsprop'",
             "adam", "nesterov"),
    cli_case("lr-negative", ["train", "--lr", "-1"], "--lr must be", "> 0", "-1.0"),
    cli_case("lr-not-a-number", ["train", "--lr", "fast"], "--lr", "invalid float value"),
    cli_case("batch-size-negative", ["train", "--batch-size", "-4"], "--batch-size", ">= 0",
             "-4"),
    cli_case("epochs-zero", ["train", "--epochs", "0"], "epochs", ">= 1", "0"),
    cli_case("momentum-negative", ["train", "--optimizer", "momentum", "--momentum", "-0.5"],
             "momentum", ">= 0", "-0.5"),
    cli_case("patience-zero", ["train", "--patience", "0"], "patience", ">= 1", "0"),
    cli_case("grad-tol-negative", ["train", "--grad-tol", "-1"], "--grad-tol", ">= 0", "-1.0"),
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
    cli_case("example", ["derive", "seed004"], "EXAMPLE", "invalid choice: 'seed004'",
             "did you mean 'seed003'?"),
    cli_case("bug", ["derive", "--bug", "nope"], "--bug", "invalid choice: 'nope'", "sign_flip"),
    cli_case("bug-typo", ["derive", "--bug", "sign_flp"], "--bug", "did you mean 'sign_flip'?"),
    cli_case("example-and-bug", ["derive", "xor", "--bug", "sign_flip"], "EXAMPLE or --bug",
             "'xor'", "'sign_flip'"),
    cli_case("one-size", ["count", "5"], "sizes", "positive integers", "[5]"),
    cli_case("size-zero", ["count", "0", "3"], "SIZE", "positive integer", "'0'"),
    cli_case("size-word", ["count", "3", "x"], "SIZE", "positive integer", "'x'"),
    cli_case("verify-dtype", ["verify", "--dtype", "float46"], "--dtype",
             "did you mean 'float64'?"),
    cli_case("verify-device", ["verify", "--device", "tpu"], "--device", "'tpu'", "cuda:N"),
    cli_case("verify-device-index", ["verify", "--device", "cuda:x"], "--device", "'cuda:x'"),
    *[cli_case(f"{cmd}-{flag[2:]}-{value}", [cmd, flag, value], flag, f"'{value}'", *words)
      for cmd, flag, value, *words in [
          ("bench", "--threads", "0", "positive integers"),
          ("bench", "--threads", "-1", "positive integers"),
          ("bench", "--threads", "two", "positive integers"),
          ("bench", "--threads", "2,", "positive integers"),
          ("bench", "--cases", "1024", "SIZES:BATCH"),
          ("bench", "--cases", "1024:8", "SIZES:BATCH"),
          ("bench", "--cases", "3-2-1:0", "SIZES:BATCH"),
          ("bench", "--cases", "3-x-1:2", "SIZES:BATCH"),
          ("bench", "--repeats", "0", "positive integer"),
          ("bench", "--repeats", "1.5", "positive integer"),
          ("bench", "--block", "-1", ">= 0"),
          ("bench", "--block", "nan", ">= 0"),
          ("bench", "--block", "inf", ">= 0"),
      ]],
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


@pytest.mark.parametrize("cmd, flag", [("verify", "--json"), ("bench", "--json"),
                                       ("bench", "--plot")])
def test_an_output_file_that_is_a_folder_is_refused_before_the_run(cmd, flag, tmp_path, capsys):
    start = time.perf_counter()
    assert cli.main([cmd, flag, str(tmp_path)]) == 2
    assert time.perf_counter() - start < 2  # at parse time: nothing was run
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith(f"handgrad {cmd}: error: argument {flag}: ")
    assert f"{str(tmp_path)!r} is a directory" in err and ".tmp" not in err
    missing = tmp_path / "no" / "out.json"
    assert cli.main([cmd, flag, str(missing)]) == 2
    assert f"the folder {str(missing.parent)!r} does not exist" in capsys.readouterr().err


def test_library_errors_are_one_line_on_stderr(capsys, tmp_path):
    assert cli.main(["train", "--lr", "-1", "--out", str(tmp_path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["handgrad train: error: --lr must be a finite number > 0, got -1.0"]
