"""``pytest -n 2`` (pytest-xdist) against a serial run of the same suite of handgrad checks:
the same verdicts, the same seed and the same drawn numbers per test, and replay files that
do not collide (each run its own folder; the same files, the same arrays)."""

from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np
import pytest

from handgrad.compare.check.replay import load_case
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
def test_two_workers_agree_with_a_serial_run(tmp_path):
    write_project(tmp_path, {"tests/test_layers.py": USER_TESTS})
    serial = _run(tmp_path, "serial", "-p", "no:xdist")
    parallel = _run(tmp_path, "parallel", "-n", "2")
    assert "2 workers" in parallel.stdout, parallel.stdout  # really two processes
    verdicts = {f"tests/test_layers.py::test_tanh[case{i}]": "PASSED" if i < 5 else "FAILED"
                for i in range(8)}
    assert serial.outcomes == verdicts
    assert parallel.outcomes == verdicts
    assert len(serial.records) == 8
    assert serial.records == parallel.records  # the seeds and the draws, test by test
    for record in serial.records.values():  # the witness: NumPy's generator from the same seed
        np.testing.assert_array_equal(
            record["draw"], np.random.default_rng(record["seed"]).standard_normal((4, 3)))
    assert len({record["seed"] for record in serial.records.values()}) == 8
    serial_names = [p.name for p in serial.files]
    assert serial_names == [p.name for p in parallel.files]
    assert len(serial_names) == 2 * 3  # three failing tests, two files each
    for one, other in zip(serial.files, parallel.files):
        if one.suffix == ".npz":
            first = load_case(one).arrays
            second = load_case(other).arrays
            assert first.keys() == second.keys()
            for key in first:
                np.testing.assert_array_equal(first[key], second[key])
