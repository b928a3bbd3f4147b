"""docs/cli.md says what the command does: its options, exit codes, the noisy bound, and
the error lines it quotes are the ones the command prints."""

import argparse
import re
import shlex
from pathlib import Path

import pytest

from handgrad.compare import bench, cli
from handgrad.compare.cli import process

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
EXAMPLES = re.findall(r"^ *\$ (handgrad .+)\n *(handgrad.+)$", DOC, re.M)


def options(name):
    top = cli.build_parser()
    (subs,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    return [o for a in subs.choices[name]._actions for o in a.option_strings if o != "-h"
            and o != "--help"]


@pytest.mark.parametrize("name", ["verify", "bench", "derive", "count"])
def test_every_option_is_in_the_doc(name):
    assert f"## `handgrad {name}`" in DOC
    missing = [o for o in options(name) if o not in DOC]
    assert missing == []


def test_every_command_has_a_section():
    assert [n for n, *_ in cli.COMMANDS if f"## `handgrad {n}`" not in DOC] == []


def test_the_exit_codes_are_the_ones_main_returns():
    table = dict(re.findall(r"^\| (\d+) \| (.+) \|$", DOC, re.M))
    assert set(table) == {"0", "1", "2", "130", "141"}
    assert (process.EXIT_USAGE, process.EXIT_INTERRUPTED, process.EXIT_PIPE) == (2, 130, 141)


def test_the_noisy_bound_is_the_one_bench_uses():
    assert f"`NOISY_SPREAD` = {bench.NOISY_SPREAD}" in DOC


def test_the_doc_has_examples():
    assert len(EXAMPLES) == 3


@pytest.mark.parametrize("command, line", EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_a_quoted_error_is_what_the_command_prints(command, line, capsys):
    assert cli.main(shlex.split(command)[1:]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == line
