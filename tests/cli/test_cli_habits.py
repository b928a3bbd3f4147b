"""The habits every ``handgrad`` command shares through ``compare.cli.parser``: defaults in
``--help``, "did you mean", the exit codes in the epilog, help text free of reST markup."""

import argparse
import re

import pytest

from handgrad.compare import cli
from handgrad.compare.cli import derive, parser


def subparsers():
    top = cli.build_parser()
    (action,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    return top, action.choices


def flat(text: str) -> str:
    return " ".join(text.split())  # help wraps lines wherever it likes


@pytest.mark.parametrize("name", [name for name, *_ in cli.COMMANDS])
def test_help_shows_every_default(name):
    _, subs = subparsers()
    sub = subs[name]
    text = flat(sub.format_help())
    shown = [a for a in sub._actions
             if not (a.default is None or a.default is False or a.default is argparse.SUPPRESS)]
    for action in shown:
        if "default:" in (action.help or ""):
            continue  # the help text says it in its own words
        assert f"(default: {action.default})" in text, (name, action.dest, text)
    assert "(default: None)" not in text and "(default: False)" not in text
    assert all(len(line) <= 100 for line in sub.format_help().splitlines() if "{" not in line)


def test_every_subcommand_is_built_by_the_shared_parser():
    top, subs = subparsers()
    assert isinstance(top, parser.HandgradParser)
    assert all(isinstance(s, parser.HandgradParser) for s in subs.values())


def test_the_top_level_help_lists_the_exit_codes_and_has_no_rest_markup(capsys):
    assert cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    for code in ("0", "1", "2", "130", "141"):
        assert re.search(rf"^  {code} +\S", text, re.M), code
    assert "interrupted" in text and "bad usage" in text


@pytest.mark.parametrize("name", [None] + [name for name, *_ in cli.COMMANDS])
def test_no_help_prints_rest_backticks(name):
    top, subs = subparsers()
    text = (top if name is None else subs[name]).format_help()
    assert "``" not in text and ":func:" not in text and ":class:" not in text


def test_verify_device_has_help():
    _, subs = subparsers()
    (device,) = [a for a in subs["verify"]._actions if "--device" in a.option_strings]
    assert device.help and "cuda:N" in device.help


@pytest.mark.parametrize("argv, line", [
    (["trian"], "handgrad: error: unknown command 'trian'; did you mean 'train'?"),
    (["verfy"], "handgrad: error: unknown command 'verfy'; did you mean 'verify'?"),
    (["train", "--hiden", "3"],
     "handgrad train: error: unrecognized arguments: --hiden 3; did you mean --hidden?"),
    (["verify", "--jsno=x.json"],
     "handgrad verify: error: unrecognized arguments: --jsno=x.json; did you mean --json?"),
    (["bench", "--thread", "1"], None),  # an abbreviation argparse accepts: no error
    (["verify", "--dtype", "float46"],
     "handgrad verify: error: argument --dtype: invalid choice: 'float46'; did you mean "
     "'float64'? (choose from both, float64, float32)"),
    (["train", "--dataset", "moon"], "did you mean 'moons'?"),
])
def test_did_you_mean(argv, line, capsys):
    if line is None:
        assert cli.build_parser().parse_args(argv).threads == (1,)
        return
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert line in err.splitlines()[-1]
    assert "Traceback" not in err


def test_no_guess_when_nothing_is_close(capsys):
    assert cli.main(["xyzzy"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "handgrad: error: unknown command 'xyzzy' (choose from verify, train, derive, bench, "
        "count) (see handgrad --help)"]
    assert cli.main(["count", "3", "4", "--zzz"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "handgrad count: error: unrecognized arguments: --zzz (see handgrad count --help)"]


def test_a_usage_error_is_one_line_without_the_usage_block(capsys):
    assert cli.main(["train", "--dataset", "mnist"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "--dataset" in lines[0] and "'moons'" in lines[0]


def test_closest():
    assert parser.closest("trian", ["verify", "train"]) == "train"
    assert parser.closest("zzz", ["verify", "train"]) is None


def test_derive_names_are_the_gallerys():
    from handgrad.compare.teach.bugs import BUGS
    from handgrad.compare.teach.derive import EXAMPLES

    assert derive.EXAMPLE_NAMES == tuple(EXAMPLES)
    assert derive.BUG_NAMES == tuple(BUGS)
    assert derive.BUG_SENTENCES == {name: bug.sentence for name, bug in BUGS.items()}


def test_derive_ends_with_the_largest_difference_over_its_quantities(capsys):
    # the steps of a derivation are the quantities it prints (Z, A, L, δ, ...), not
    # gradient-descent steps: it works one step of gradient descent
    assert cli.main(["derive", "seed003"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    shown = sum(line.startswith("  max |difference|: ") for line in lines)
    assert shown > 1
    assert lines[-1].startswith(f"largest difference over all {shown} quantities: "), lines[-1]
