"""``handgrad train`` says what it measured: whether the run learned (exit 1 when it did
not, the folder written all the same) and the one thread budget both twins were timed with.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from handgrad import handmade, torch_ref
from handgrad.bookkeeping.training import did_not_learn
from handgrad.compare import cli, datasets
from tests.thread_spy import spy_on_threads


@pytest.mark.parametrize("first, last, accuracy, chance, words", [
    (0.7, 0.7, None, None, ["went from 0.7 to 0.7", "not below"]),  # equal: not below
    (0.7, 0.9, 0.9, 0.5, ["went from 0.7 to 0.9"]),
    (0.7, float("nan"), None, None, ["to nan"]),
    (0.7, 0.6, 0.19, 0.5, ["accuracy 0.1900 is below chance 0.5000"]),
    (0.7, 0.6, 0.6, 0.62, ["accuracy 0.6000 is below chance 0.6200"]),
], ids=["loss-equal", "loss-grew", "loss-nan", "worse-than-chance", "below-a-skewed-chance"])
def test_a_run_that_did_not_learn_is_named(first, last, accuracy, chance, words):
    reason = did_not_learn(first, last, accuracy, chance)
    for word in words:
        assert word in reason, reason


@pytest.mark.parametrize("first, last, accuracy, chance", [
    (0.7, 0.69, None, None), (0.7, 0.1, 0.5, 0.5), (0.7, 0.1, 0.75, 0.5)],
    ids=["regression-loss-down", "at-chance", "above-chance"])
def test_a_run_that_learned_is_not_named(first, last, accuracy, chance):
    assert did_not_learn(first, last, accuracy, chance) == ""


def test_adam_at_lr_1e6_on_moons_did_not_learn_and_exits_1(tmp_path, capsys):
    out = tmp_path / "run"
    code = cli.main(["train", "--optimizer", "adam", "--lr", "1e6", "--epochs", "3",
                     "--no-gif", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    lines = [line for line in captured.err.splitlines() if not line.startswith("epoch ")]
    assert len(lines) == 1 and lines[0].startswith("handgrad train: did not learn "), lines
    assert "below chance 0.5000" in lines[0] and "was written all the same" in lines[0]
    summary = json.loads((out / "run.json").read_text())["summary"]
    labels = datasets.load("moons").y_train
    chance = max(np.mean(labels == 0), np.mean(labels == 1))  # the larger class's share
    assert summary["chance_accuracy"] == pytest.approx(chance, abs=1e-15)
    for side in ("handmade", "torch"):
        assert summary[f"train_accuracy_{side}"] < chance
        assert summary[f"train_loss_{side}"] >= summary["initial_train_loss"]
        assert "not below where it began" in summary[f"did_not_learn_{side}"]


def test_a_run_that_learns_exits_0_and_says_so(tmp_path, capsys):
    assert cli.main(["train", "--dataset", "xor", "--hidden", "3", "--optimizer", "adam",
                     "--lr", "0.05", "--epochs", "300", "--batch-size", "0", "--no-gif",
                     "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "learned: the training loss went from " in out
    assert "training accuracy 1.0000 against chance 0.5000" in out


@pytest.mark.parametrize("threads", [1, 2], ids=["1-thread", "2-threads"])
def test_the_summary_names_the_thread_budget_both_twins_ran_under(monkeypatch, tmp_path,
                                                                   capsys, threads):
    hand_seen, torch_seen = [], []
    spy_on_threads(monkeypatch, handmade.Trainer, hand_seen)
    spy_on_threads(monkeypatch, torch_ref.Trainer, torch_seen)
    torch_threads = torch.get_num_threads()
    assert cli.main(["train", "--dataset", "xor", "--epochs", "3", "--no-gif", "--threads",
                     str(threads), "--out", str(tmp_path / "run")]) in (0, 1)
    assert len(hand_seen) == len(torch_seen) == 3
    assert all(seen == (threads, {threads}) for seen in hand_seen + torch_seen), \
        (hand_seen, torch_seen)
    assert torch.get_num_threads() == torch_threads  # put back after the run
    out = capsys.readouterr().out
    assert f"seconds: both timed with {threads} thread(s)" in out
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["threads"] == record["summary"]["threads"] == threads


@pytest.mark.parametrize("patience, epochs_of_val", [([], 0), (["--patience", "5"], 2)],
                         ids=["without-patience", "with-patience"])
def test_the_validation_loss_is_recorded_and_drawn_with_patience_only(
        monkeypatch, tmp_path, patience, epochs_of_val):
    from handgrad.compare.train import plots

    drawn = []
    losses = plots.plot_losses

    def spied(trajectory, path, val=None, **options):
        drawn.append(val)
        return losses(trajectory, path, val=val, **options)
    monkeypatch.setattr(plots, "plot_losses", spied)
    assert cli.main(["train", "--epochs", "2", "--no-gif", *patience,
                     "--out", str(tmp_path / "run")]) in (0, 1)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert len(record["val"]) == epochs_of_val
    assert len(drawn) == 1 and len(drawn[0] or []) == epochs_of_val
    # and the README says so, where it lists what losses.png shows
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    assert "the validation loss when `--patience` monitors the validation split" in readme
