"""``handgrad train`` refuses bad input before the work: exit 2, one line naming the flag,
in well under 2 s, with neither torch nor scikit-learn imported (so nothing was trained),
and nothing written. All cases run in one fresh interpreter (pytest itself has torch)."""

import json
import subprocess
import sys
import textwrap

import pytest

CASES = [  # (id, extra arguments, words of the one line)
    ("lr-negative", ["--lr", "-1"], ["--lr must be a finite number > 0", "-1.0"]),
    ("lr-zero", ["--lr", "0"], ["--lr must be a finite number > 0", "0.0"]),
    ("lr-nan", ["--lr", "nan"], ["--lr", "nan"]),
    ("lr-inf", ["--lr", "inf"], ["--lr", "inf"]),
    ("epochs-zero", ["--epochs", "0"], ["--epochs must be >= 1 and <= 1000000", "got 0"]),
    ("epochs-huge", ["--epochs", "100000000"], ["--epochs", "<= 1000000", "100000000"]),
    ("batch-negative", ["--batch-size", "-1"], ["--batch-size must be >= 0", "-1"]),
    ("seed-negative", ["--seed", "-1"], ["--seed must be an integer from 0 to 4294967295",
                                         "got -1"]),
    ("seed-too-big", ["--seed", "4294967296"], ["--seed", "4294967296"]),
    ("hidden-superscript", ["--hidden", "²"], ["--hidden must be comma-separated positive",
                                               "'²'"]),
    ("hidden-zero", ["--hidden", "8,0"], ["--hidden", "'8,0'"]),
    ("hidden-0", ["--hidden", "0"], ["--hidden must be comma-separated positive integers",
                                     "or 'none'", "got '0'"]),
    ("hidden-empty", ["--hidden", ""], ["--hidden must be", "got ''"]),
    ("momentum-one", ["--momentum", "1"], ["--momentum must be >= 0 and < 1", "1.0"]),
    ("nesterov-zero", ["--optimizer", "nesterov", "--momentum", "0"],
     ["--momentum must be > 0 for --optimizer nesterov"]),
    ("weight-decay", ["--weight-decay", "-0.1"], ["--weight-decay must be", "-0.1"]),
    ("patience", ["--patience", "0"], ["--patience must be an integer >= 1", "0"]),
    ("grad-tol", ["--grad-tol", "nan"], ["--grad-tol must be a finite number >= 0", "nan"]),
    ("divergence-factor", ["--divergence-factor", "1"], ["--divergence-factor must be",
                                                         "> 1", "1.0"]),
    ("device", ["--device", "tpu"], ["--device must be 'cpu', 'cuda' or 'cuda:N'", "'tpu'"]),
    ("activation", ["--activation", "swish"], ["--activation: unknown activation 'swish'"]),
    ("loss", ["--loss", "hinge"], ["--loss: unknown loss 'hinge'"]),
    ("out-empty", ["--out", ""], ["--out must be a folder name", "''"]),
    ("out-file", ["--out", "a_file"], ["--out a_file is an existing file"]),
    ("out-dangling", ["--out", "dangling"], ["--out dangling is a dangling symbolic link"]),
    ("out-taken", ["--out", "taken"], ["--out taken already exists and is not empty",
                                       "--overwrite"]),
    ("out-not-a-run", ["--out", "taken", "--overwrite"], ["--out taken is not a finished run "
                                                           "folder"]),
    ("out-under-a-file", ["--out", "a_file/run"], ["--out a_file/run cannot be written",
                                                   "is a file, not a folder"]),
    ("memory", ["--hidden", "1000000000000"], ["--hidden 1000000000000: the run needs about",
                                               "PiB of memory but", "is available"]),
]

PROBE = textwrap.dedent("""\
    import contextlib, io, json, os, sys, time
    os.chdir(sys.argv[1])
    open("a_file", "w").write("not a folder")
    os.symlink("nowhere", "dangling")
    os.mkdir("taken"); open("taken/notes.txt", "w").write("mine")
    before = sorted(os.listdir("."))
    from handgrad.compare import cli
    out = []
    for args in json.loads(sys.argv[2]):
        err = io.StringIO()
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = cli.main(["train", *args])
        out.append({"code": code, "err": err.getvalue(), "s": time.perf_counter() - t0,
                    "files": sorted(os.listdir(".")) == before})
    heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "sklearn", "matplotlib"})
    print(json.dumps({"cases": out, "heavy": heavy}))
    """)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("refusals")
    proc = subprocess.run([sys.executable, "-c", PROBE, str(folder),
                           json.dumps([args for _, args, _ in CASES])],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_no_refusal_imports_torch_or_scikit_learn(results):
    assert results["heavy"] == []


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[0] for c in CASES])
def test_bad_input_is_refused_before_the_work(results, index):
    _, _, words = CASES[index]
    case = results["cases"][index]
    lines = case["err"].strip().splitlines()
    assert case["code"] == 2 and len(lines) == 1, case["err"]
    assert lines[0].startswith("handgrad train: error: --"), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert case["files"], "the refusal left something behind"
    assert case["s"] < 2.0, f"took {case['s']:.2f} s"
