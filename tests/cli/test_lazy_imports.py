"""The command line is lazy: building the parser, ``--help``, a usage error and ``count``
import neither torch, scikit-learn, matplotlib nor SciPy; each subcommand imports its heavy
packages inside its ``run``. Every check runs in a fresh interpreter (pytest itself has
torch loaded)."""

import json
import subprocess
import sys
import textwrap

import pytest

HEAVY = ("torch", "sklearn", "matplotlib", "scipy")

PROBE = textwrap.dedent("""\
    import contextlib, io, json, sys
    {code}
    heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))
    sys.__stdout__.write("\\n" + json.dumps({{"heavy": heavy, "code": code}}) + "\\n")
    """)


def probe(code: str) -> dict:
    """Run ``code`` (which sets ``code``, an exit status) in a fresh interpreter."""
    proc = subprocess.run([sys.executable, "-c", PROBE.format(code=code, heavy=HEAVY)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main_call(argv) -> str:
    return textwrap.dedent(f"""\
        from handgrad.compare import cli
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = cli.main({argv!r})
        """)


COUNT = ()  # count_parameters is plain Python: not even NumPy


@pytest.mark.parametrize("code, expected, allowed", [
    ("import handgrad.compare.cli\ncode = 0", 0, ()),
    ("from handgrad.compare.cli import build_parser\nbuild_parser()\ncode = 0", 0, ()),
    (main_call(["--help"]), 0, ()),
    (main_call(["train", "--help"]), 0, ()),
    (main_call(["count", "3", "4"]), 0, COUNT),
    (main_call(["count", "1024", "500", "10"]), 0, COUNT),
    (main_call(["count", "5"]), 2, COUNT),  # a usage error from the size check
    (main_call(["trian"]), 2, ()),  # a mistyped subcommand
    (main_call(["train", "--dataset", "mnist"]), 2, ()),
    (main_call([]), 2, ()),
    (main_call(["bench", "--threads", "0"]), 2, ()),
    (main_call(["bench", "--cases", "1024"]), 2, ()),
    (main_call(["verify", "--json", "."]), 2, ()),
    (main_call(["verify", "--device", "tpu"]), 2, ()),
    (main_call(["derive", "seed004"]), 2, ()),
    (main_call(["derive", "xor", "--bug", "sign_flip"]), 2, ()),
    (main_call(["derive", "--bug", "list"]), 0, ()),
    (main_call(["derive"]), 0, ()),  # no argument: the same list
], ids=["import", "build-parser", "help", "train-help", "count", "count-seed004",
        "count-error", "mistyped", "bad-choice", "no-command", "bench-threads", "bench-cases",
        "verify-json-folder", "verify-device", "derive-example", "derive-both",
        "derive-bug-list", "derive-no-argument"])
def test_no_heavy_package_is_imported(code, expected, allowed):
    result = probe(code)
    assert result["code"] == expected
    assert [m for m in result["heavy"] if m not in allowed] == [], f"imported {result['heavy']}"


@pytest.mark.parametrize("argv", [["--help"], ["bench", "--help"], ["trian"],
                                  ["bench", "--repeats", "0"]])
def test_help_and_usage_errors_import_not_even_numpy(argv):
    # what keeps `handgrad --help` near the interpreter's own start-up time (~0.1 s)
    result = probe(main_call(argv) + "code = int('numpy' in sys.modules)\n")
    assert result["code"] == 0


def test_the_probe_sees_a_heavy_import():
    # the check above can fail: the same probe after an eager import of one of them (SciPy:
    # the quickest of the four to import)
    assert probe("import handgrad.compare.cli, scipy.special\ncode = 0")["heavy"] == ["scipy"]


def test_compare_public_names_load_on_first_use():
    result = probe(textwrap.dedent("""\
        import handgrad
        before = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "sklearn", "numpy"})
        from handgrad import (MLP, Entry, GradReport, Spec, TorchMLP, assert_gradients_match,
                              build_twins, check_gradients, check_layer, check_model, datasets,
                              hand_to_torch, torch_to_hand)
        assert "check_gradients" in dir(handgrad) and "datasets" in dir(handgrad)
        assert set(handgrad.__all__) <= set(dir(handgrad))
        xor_needs_no_sklearn = datasets.load("xor").n_features == 2 and "sklearn" not in sys.modules
        iris = datasets.load("iris")  # a scikit-learn set: sklearn is imported now
        code = 0 if before == [] and xor_needs_no_sklearn and iris.n_classes == 3 else 1
        """))
    assert result["code"] == 0
    assert {"sklearn", "torch"} <= set(result["heavy"])  # now, and only now


def test_an_unknown_name_is_an_attribute_error():
    import handgrad
    from handgrad import compare

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        handgrad.nope  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        compare.nope  # noqa: B018


def test_the_dataset_choices_are_the_datasets():
    from handgrad.compare import datasets
    from handgrad.compare.cli.train import DATASET_NAMES

    assert DATASET_NAMES == tuple(sorted(datasets.DATASETS))


def test_every_subcommand_has_add_arguments_and_run():
    from handgrad.compare import cli

    names = [name for name, *_ in cli.COMMANDS]
    assert names == ["verify", "train", "derive", "bench", "count"]
    for _, module, _ in cli.COMMANDS:
        assert callable(module.add_arguments) and callable(module.run)
