"""``pytest -n 2`` (pytest-xdist) on a suite of handgrad checks does what a serial run does:
the same verdicts, each test's own seed and drawn numbers (the documented rule, written out
in the test), and replay files that do not collide (one per failing test, its own arrays)."""

from __future__ import annotations

import json
import zlib
from typing import NamedTuple

import numpy as np
import pytest

from handgrad.compare.check.replay import load_case
from handgrad.pytest_plugin import replay_name
from tests.plugin.scratch import outcomes, run_pytest, write_project

pytest.importorskip("xdist", reason="pytest-xdist is the optional extra handgrad[xdist]")

# Eight layer checks, three of them with a slip (the tanh derivative without its square);
# every test writes its seed and its first draw to seen/<test>.json for the comparison.
USER_TESTS = """
    import json
    import os
    import pathlib

    import numpy as np
    import pytest
    import torch

    from handgrad import assert_layer_match


    def record(request, seed, rng):
        folder = pathlib.Path(os.environ["SEEN"])
        name = request.node.name.replace("/", "_")
        draw = rng.standard_normal((4, 3))
        (folder / f"{name}.json").write_text(json.dumps({"seed": seed, "draw": draw.tolist()}))
        return draw


    @pytest.mark.parametrize("slip", [False] * 5 + [True] * 3,
                             ids=[f"case{i}" for i in range(8)])
    def test_tanh(request, handgrad_seed, handgrad_rng, slip):
        x = record(request, handgrad_seed, handgrad_rng)
        power = 1 if slip else 2
        assert_layer_match(lambda x: (np.tanh(x), x),
                           lambda d, x: d * (1 - np.tanh(x) ** power), {"x": x}, torch.tanh)
"""


class Run(NamedTuple):
    outcomes: dict   # node id -> PASSED / FAILED
    records: dict    # test name -> {"seed": ..., "draw": ...}
    files: list      # the saved cases' files, sorted
    stdout: str


def _run(folder, name: str, *args) -> Run:
    """One run of the suite, its own seen-<name>/ and replays-<name>/ folders."""
    seen = folder / f"seen-{name}"
    seen.mkdir()
    run = run_pytest(folder, "-rA", "--handgrad-replays", f"replays-{name}", *args,
                     env={"SEEN": str(seen)}, timeout=600)
    assert run.returncode == 1, run.stdout + run.stderr
    records = {p.stem: json.loads(p.read_text()) for p in seen.iterdir()}
    return Run(outcomes(run.stdout), records, sorted((folder / f"replays-{name}").iterdir()),
               run.stdout)


@pytest.mark.slow
def test_two_workers_draw_what_a_serial_run_draws(tmp_path):
    """The witness is the rule a serial run follows, written out: each test's seed is the
    CRC-32 of ``<file name>::<test name>`` (docs/pytest-plugin.md), its draw NumPy's
    generator from that seed, and a failing test's case is saved under its own node id."""
    write_project(tmp_path, {"tests/test_layers.py": USER_TESTS})
    parallel = _run(tmp_path, "parallel", "-n", "2")
    assert "2 workers" in parallel.stdout, parallel.stdout  # really two processes
    names = [f"test_tanh[case{i}]" for i in range(8)]
    assert parallel.outcomes == {f"tests/test_layers.py::{name}": "PASSED" if i < 5 else "FAILED"
                                 for i, name in enumerate(names)}
    assert sorted(parallel.records) == sorted(names)
    for name in names:
        seed = zlib.crc32(f"test_layers.py::{name}".encode())
        assert parallel.records[name]["seed"] == seed, name
        np.testing.assert_array_equal(parallel.records[name]["draw"],
                                      np.random.default_rng(seed).standard_normal((4, 3)))
    failing = [f"tests/test_layers.py::{name}" for name in names[5:]]
    assert [p.name for p in parallel.files] == sorted(
        f"{replay_name(nodeid)}{suffix}" for nodeid in failing for suffix in (".json", ".npz"))
    for nodeid, name in zip(failing, names[5:]):  # each case holds its own test's draw
        case = load_case(tmp_path / "replays-parallel" / replay_name(nodeid))
        np.testing.assert_array_equal(case.inputs["x"], parallel.records[name]["draw"])
