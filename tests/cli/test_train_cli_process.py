"""``handgrad train`` as real processes: killed, interrupted or racing another run, it never
leaves a partial or mixed run folder at its target.

Each test starts real ``python -m handgrad train`` processes (a few seconds each: torch,
scikit-learn and matplotlib are imported); a long run is stopped as soon as it has printed
its first progress line (a tenth of its epochs).
"""

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from handgrad.compare.train.runs import load_run

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals and pids as on POSIX")

ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}
# a short run that learns (exit 0) from any seed (seeds 0-39 tried): xor3 is linearly
# separable (x3 = x1*x2), 20 full-batch steps; it needs no scikit-learn, so it starts sooner
TINY = ["--dataset", "xor3", "--epochs", "20", "--no-gif"]
LONG = ["--dataset", "xor", "--epochs", "5000", "--no-gif"]  # a progress line per 500 steps


def start(args, cwd):
    return subprocess.Popen([sys.executable, "-m", "handgrad", "train", *args], cwd=cwd,
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until_training(proc, timeout=180):
    """Block until ``proc`` has reported its first epochs (stderr: ``epoch ...``)."""
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        line = proc.stderr.readline()
    finally:
        timer.cancel()
    assert line.startswith("epoch "), (line, proc.stderr.read() if proc.poll() else "")


def finish(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def test_a_killed_run_leaves_no_folder_and_the_next_start_cleans(tmp_path):
    proc = start([*LONG, "--out", "run"], tmp_path)
    wait_until_training(proc)
    proc.send_signal(signal.SIGKILL)
    finish(proc)
    names = sorted(os.listdir(tmp_path))
    assert "run" not in names  # no partial folder at the target
    assert ".run.lock" in names and any(n.startswith(".run.tmp-") for n in names), names
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    code, _, err = finish(start([*TINY, "--out", "taken"], tmp_path))  # refused, but cleans
    assert code == 2 and "--out taken already exists" in err
    assert sorted(os.listdir(tmp_path)) == ["taken"]


def test_ctrl_c_writes_nothing_and_says_where(tmp_path):
    proc = start([*LONG, "--out", "run"], tmp_path)
    wait_until_training(proc)
    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc)
    lines = [line for line in err.splitlines() if not line.startswith("epoch ")]  # progress
    assert code == 130, err
    assert len(lines) == 1 and lines[0].startswith("handgrad: interrupted at epoch "), err
    assert lines[0].endswith("; nothing written"), err
    assert os.listdir(tmp_path) == []  # no folder, no temporary, no lock


def _manifest_names(folder):
    return sorted(json.loads((folder / "manifest.json").read_text())["files"])


def test_two_runs_racing_for_one_out_folder(tmp_path):
    procs = [start([*TINY, "--seed", str(seed), "--out", "same"], tmp_path) for seed in (1, 2)]
    results = [finish(p) for p in procs]
    codes = [r[0] for r in results]
    assert sorted(codes) == [0, 2], results
    winner, loser = (1, 2) if codes[0] == 0 else (2, 1)
    err = results[codes.index(2)][2]
    assert ("is being written by another run" in err or "already exists" in err
            or "written by another run meanwhile" in err), err
    _, _, record = load_run(tmp_path / "same")  # raises unless every file matches its manifest
    assert record["seed"] == winner != loser
    files = sorted(n for n in os.listdir(tmp_path / "same") if n != "manifest.json")
    assert _manifest_names(tmp_path / "same") == files  # every file listed, none of the loser
    assert sorted(os.listdir(tmp_path)) == ["same"]


def test_two_runs_with_the_default_folder_take_different_ones(tmp_path):
    procs = [start([*TINY, "--seed", str(seed)], tmp_path) for seed in (1, 2)]
    results = [finish(p) for p in procs]
    assert [r[0] for r in results] == [0, 0], results
    runs = tmp_path / "runs"
    assert sorted(os.listdir(runs)) == ["xor3-h8-sgd-float64", "xor3-h8-sgd-float64-2"]
    for seed, (_, out, _) in zip((1, 2), results):
        written = out.strip().splitlines()[-1]
        assert written.startswith("wrote runs/xor3-h8-sgd-float64"), out
        _, _, record = load_run(tmp_path / written.removeprefix("wrote ").rstrip("/"))
        assert record["seed"] == seed
