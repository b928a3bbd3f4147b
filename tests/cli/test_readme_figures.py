"""The README's figures come from the commands it lists, run now, on both twins.

Each figure of the README is read out of the README itself and checked against the command
that makes it: the accuracy table (its target on both twins, and its measured column digit
for digit), the default run's step count and twin-difference bound, the float32 drift's
bounds, the verification matrix's check count and worst-error bounds, and ``count``'s
totals. A figure that varies from machine to machine (rounding differences, drift) is
stated in the README as a bound, and checked as one; a failure says what the README's
text should read now, so a figure cannot drift from what the commands print.
"""

import json
import math
import re
import shlex
from pathlib import Path

import pytest

from handgrad.compare import cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
FLAT = " ".join(README.split())  # the README's prose wraps lines anywhere
ROW = r"^\| (.+?) \| `\.venv/bin/(handgrad train [^`]+)` \| ([≥≤=]) ([\d.]+) \| ([\d.]+) \|$"
ROWS = re.findall(ROW, README, re.M)
FLOAT32_UNIT = 2.0**-24  # float32's unit roundoff, 5.96e-8


def claim(pattern: str) -> tuple[str, ...]:
    """The groups of ``pattern`` in the README's text (whitespace made single spaces)."""
    found = re.search(pattern, FLAT)
    assert found, f"the README no longer says: {pattern}"
    return found.groups()


def train(tmp_path, args: list[str]) -> dict:
    """``handgrad train ARGS`` into a fresh folder (no GIF); its ``run.json`` summary."""
    out = tmp_path / "run"
    assert cli.main(["train", *args, "--out", str(out), "--no-gif"]) == 0
    return json.loads((out / "run.json").read_text())["summary"]


def test_the_table_is_there():
    assert len(ROWS) == 5


@pytest.mark.slow  # each row is a real run of up to 500 epochs
@pytest.mark.parametrize("claim_text, command, op, target, measured", ROWS,
                         ids=[r[0] for r in ROWS])
def test_readme_figure(tmp_path, claim_text, command, op, target, measured):
    summary = train(tmp_path, shlex.split(command)[2:])
    for side in ("handmade", "torch"):
        acc = summary[f"test_accuracy_{side}"]
        holds = {"≥": acc >= float(target), "≤": acc <= float(target),
                 "=": acc == float(target)}[op]
        assert holds, f"{claim_text}: {side} test accuracy {acc} is not {op} {target}"
    # the measured column is what this run measures, to its four printed digits (float64,
    # seeded data, init and batches: the run is deterministic on one machine)
    now = f"{summary['test_accuracy_handmade']:.4f}"
    assert measured == now, (f"the README's row should read: | {claim_text} | "
                             f"`.venv/bin/{command}` | {op} {target} | {now} |")


@pytest.mark.slow  # the default run: 800 steps
def test_the_default_run_is_as_the_readme_says(tmp_path):
    steps, bound = claim(r"SGD for 100 epochs \((\d+) steps\) in about [\d–]+ s here\. The twins "
                         r"agree to below (\S+) \(relative parameter difference\) at every step")
    summary = train(tmp_path, [])
    assert summary["steps"] == int(steps) == 100 * math.ceil(240 / 32)  # 240 rows, by 32
    drift = summary["max_rel_param_diff"]
    assert drift < float(bound), f"the default run's drift {drift:.2e} is not below {bound}"


@pytest.mark.slow  # 800 float32 steps
def test_the_float32_drift_is_as_the_readme_says(tmp_path):
    args, unit, bound = claim(r"in float32 \(`(--dtype float32 [^`]+)`\) the drift is visible "
                              r"\(above float32's rounding unit (\S+)\) and stays below (\S+)\.")
    assert float(unit) == pytest.approx(FLOAT32_UNIT, rel=0.01)  # 6e-8, rounded in the text
    drift = train(tmp_path, shlex.split(args))["max_rel_param_diff"]
    assert FLOAT32_UNIT < drift < float(bound), f"float32 drift {drift:.2e}"


@pytest.mark.slow  # the whole verification matrix on the CPU
def test_the_verification_figures_are_as_the_readme_says(tmp_path):
    checks, autograd, differences = claim(
        r"the default run makes (\d+) checks in .*? the worst float64 figures are below "
        r"(\S+) \(hand vs autograd\) and below (\S+) \(hand vs finite differences\)")
    path = tmp_path / "verify.json"
    assert cli.main(["verify", "--device", "cpu", "--quiet", "--json", str(path)]) == 0
    records = json.loads(path.read_text())
    assert len({(r["config"], r["dtype"], r["device"]) for r in records}) == int(checks)
    params = [r for r in records if r["dtype"] == "float64" and r["kind"] == "param"]
    worst = max(r["autograd_rel_err"] for r in params)
    assert worst < float(autograd), f"hand vs autograd {worst:.1e} is not below {autograd}"
    worst = max(r["fd_rel_err"] for r in params)
    assert worst < float(differences), (f"hand vs finite differences {worst:.1e} is not "
                                        f"below {differences}")


def test_count_is_as_the_readme_says(capsys):
    weights, biases, total = claim(r"handgrad count 1024 500 10 # ([\d ]+) weights, ([\d ]+) "
                                   r"biases, ([\d ]+) parameters")
    assert int(weights.replace(" ", "")) == 1024 * 500 + 500 * 10  # written out
    assert int(biases.replace(" ", "")) == 500 + 10
    assert int(total.replace(" ", "")) == 517_000 + 510
    assert cli.main(["count", "1024", "500", "10"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"total: {weights} weights, {biases} biases, {total} parameters"
