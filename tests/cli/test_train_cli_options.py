"""``handgrad train``'s own rules: the dataset table its checks use, the memory estimate,
the default folder names, the summary's columns, and a divergence that writes nothing."""

import argparse
import os

import numpy as np
import pytest

from handgrad.bookkeeping.memory import estimate_run_memory, human_bytes, n_parameters
from handgrad.compare import cli
from handgrad.compare.cli import train
from handgrad.compare.cli.train_report import summary_table


def test_the_dataset_table_matches_the_datasets():
    from handgrad.compare import datasets

    for name, (rows, n_in, n_out) in train.DATASETS.items():
        data = datasets.load(name, seed=0)
        assert (len(data.X_train), data.n_features, data.n_outputs) == (rows, n_in, n_out), name
        assert max(len(data.X_val), len(data.X_test)) <= rows  # the largest forward pass
    assert sorted(train.DATASETS) == sorted(datasets.DATASETS)


@pytest.mark.parametrize("sizes", [[2, 8, 1], [64, 32, 16, 10], [30, 1]])
def test_the_parameter_count_is_the_models(sizes):
    from handgrad import handmade

    acts = ["tanh"] * (len(sizes) - 2) + ["identity"]
    model = handmade.MLP(sizes, acts, "mse")
    assert n_parameters(sizes) == sum(p.size for p in model.params.values())


def test_the_estimate_adds_its_terms():
    # [2, 10, 1]: 41 parameters; Adam: 2 twins x (3 + 2) copies + 2 extra, float64, plus 2
    # float64 copies for the difference; 100 rows x 13 units x 8 B x 6; 50 steps x 1 KiB
    need = estimate_run_memory([2, 10, 1], 8, rows=100, steps=50, optimizer_slots=2,
                               extra_copies=2)
    assert need == {"parameters": 41 * 8 * 12 + 41 * 16, "activations": 100 * 13 * 8 * 6,
                    "record": 50 * 1024, "total": 3936 + 656 + 62400 + 51200}
    assert human_bytes(15 * 2**40) == "15.0 TiB" and human_bytes(512) == "512 B"


@pytest.mark.parametrize("hidden, name", [("8", "h8"), ("32,16", "h32x16"),
                                          ("none", "nohidden"), (" 4 , 2 ", "h4x2")])
def test_default_folder_names(hidden, name):
    args = argparse.Namespace(dataset="xor", optimizer="adam", dtype="float32")
    assert train.default_folder(args, train.parse_hidden(hidden)) == f"runs/xor-{name}-adam-float32"


@pytest.mark.parametrize("text", ["²", "-1", "1e3", "8,,4", "3.5", "٣"])
def test_hidden_takes_ascii_digits_only(text):
    with pytest.raises(ValueError, match=f"--hidden must be .*got {text!r}"):
        train.parse_hidden(text)


def test_the_summary_columns_never_touch():
    s = {"train_accuracy_handmade": 1.0, "train_accuracy_torch": 1.0,
         "test_accuracy_handmade": None, "test_accuracy_torch": None,
         "train_loss_handmade": 0.123456789, "train_loss_torch": 0.123456789,
         "seconds_per_epoch_handmade": 0.5, "seconds_per_epoch_torch": 1.25,
         "stop_handmade": "early_stopping", "stop_torch": "early_stopping",
         "max_rel_param_diff": 1e-16, "steps": 8, "epochs": 2, "threads": 1,
         "initial_train_loss": 0.7, "chance_accuracy": 0.5, "did_not_learn_handmade": "",
         "did_not_learn_torch": ""}
    lines = summary_table(s)
    table = lines[:-3]  # then the divergence, the threads and the learning lines
    assert len({len(line) for line in table}) == 1  # one width for every row
    stop = next(line for line in table if line.startswith("stopped by"))
    assert stop.split() == ["stopped", "by", "early_stopping", "early_stopping"]
    assert "seconds per epoch (steps only, mean)" in "\n".join(table)
    assert table[0].split() == ["handmade", "torch"]


def test_an_overflowing_run_is_a_divergence_and_writes_nothing(tmp_path, capsys):
    with np.errstate(over="ignore", invalid="ignore"):
        code = cli.main(["train", "--dataset", "xor", "--epochs", "5", "--no-gif",
                         "--lr", "1e300", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("epoch ")]
    assert code == 1 and len(lines) == 1, err
    assert lines[0].startswith("handgrad train: training diverged: ") and "at step" in lines[0]
    assert "1e+300" in lines[0] and "Traceback" not in err
    assert os.listdir(tmp_path) == []


def test_the_divergence_factor_in_help_is_the_trainers():
    from handgrad.bookkeeping.training import DIVERGENCE_FACTOR

    assert train.DIVERGENCE_FACTOR == DIVERGENCE_FACTOR
    parser = argparse.ArgumentParser()
    train.add_arguments(parser)
    assert f"default: {DIVERGENCE_FACTOR:g})" in " ".join(parser.format_help().split())


@pytest.mark.parametrize("margin, undecided", [(1e-12, True), (1e-3, True), (0.3, False),
                                               (None, False)],
                         ids=["xor-neuron", "at-the-margin", "decided", "regression"])
def test_the_summary_says_when_an_accuracy_is_tie_breaking(margin, undecided):
    s = {"train_accuracy_handmade": 0.75, "train_accuracy_torch": 0.75,
         "test_accuracy_handmade": 0.75, "test_accuracy_torch": 0.75,
         "train_loss_handmade": 0.6931, "train_loss_torch": 0.6931,
         "seconds_per_epoch_handmade": 0.5, "seconds_per_epoch_torch": 0.5,
         "stop_handmade": "max_epochs", "stop_torch": "max_epochs",
         "max_rel_param_diff": 1e-16, "steps": 500, "epochs": 500, "threads": 1,
         "initial_train_loss": 0.76, "chance_accuracy": 0.5, "did_not_learn_handmade": "",
         "did_not_learn_torch": "", "decision_margin_handmade": margin}
    text = "\n".join(summary_table(s))
    line = (f"undecided: P = 0.5 ± {margin:.0e} on every training point, so the accuracies "
            "above are tie-breaking at P > 0.5, not a boundary") if margin else "undecided"
    assert (line in text) is undecided, text
