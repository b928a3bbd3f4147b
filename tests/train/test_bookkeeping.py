"""bookkeeping: the rules, errors, atomic writes and size checks both twins share, once."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import handgrad.bookkeeping.atomic
from handgrad import handmade, torch_ref
from handgrad.bookkeeping import training
from handgrad.bookkeeping.atomic import atomic_path, write_json_atomic
from handgrad.bookkeeping.checks import check_sizes
from handgrad.compare import build_twins
from handgrad.compare.spec import Spec
from handgrad.handmade.persist import save_params
from handgrad.torch_ref.persist import save_state

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = {"_apply", "_lr", "_snapshot", "_restore", "val_loss", "_host", "_prepare", "_index"}


def test_both_twins_raise_and_record_with_the_same_classes():
    assert handmade.DivergenceError is torch_ref.DivergenceError
    assert handmade.NonFiniteParameterError is torch_ref.NonFiniteParameterError
    assert handmade.History is torch_ref.train.History is training.History
    assert handmade.make_batches is training.make_batches


@pytest.mark.parametrize("trainer", [handmade.Trainer, torch_ref.Trainer],
                         ids=["handmade", "torch"])
def test_each_trainer_is_the_one_loop_plus_its_own_lines(trainer):
    assert trainer.__bases__ == (training.BaseTrainer,)
    own = {name for name in vars(trainer) if not name.startswith("__")}
    assert own <= PROTOCOL, f"{trainer.__module__} defines more than the protocol: {own}"
    for rule in ("step", "end_epoch", "finish", "fit"):
        assert getattr(trainer, rule) is getattr(training.BaseTrainer, rule)


def test_the_base_names_what_a_twin_must_supply():
    with pytest.raises(NotImplementedError):
        training.BaseTrainer(None, None)._lr()


def test_bookkeeping_imports_no_twin_and_no_torch():
    code = ("import sys, handgrad.bookkeeping.training, handgrad.bookkeeping.atomic, "
            "handgrad.bookkeeping.checks, handgrad.bookkeeping.errors, "
            "handgrad.bookkeeping.batches, handgrad.bookkeeping.threads; "
            "print(sorted(m for m in ('torch', 'handgrad.handmade', 'handgrad.torch_ref', "
            "'handgrad.compare') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("side", ["handmade", "torch"])
@pytest.mark.parametrize("batch", [np.array([0, 3]), [0, 3], torch.tensor([0, 3])],
                         ids=["numpy", "list", "tensor"])
def test_a_batch_may_be_numpy_a_list_or_a_tensor_on_either_side(side, batch):
    X = np.random.default_rng(0).standard_normal((5, 3))
    y = np.arange(5.0)
    hand, twin = build_twins(Spec((3, 1), ("identity",), "mse"))
    if side == "handmade":
        trainer = handmade.Trainer(hand, handmade.make_optimizer("sgd", hand.params, lr=0.1))
    else:
        trainer = torch_ref.Trainer(twin, torch_ref.make_optimizer("sgd", twin.parameters(),
                                                                   lr=0.1))
    history = trainer.fit(X, y, [[batch]])
    assert len(history.losses) == 1 and history.stop_reason == "max_epochs"


@pytest.mark.parametrize("batch, error, words", [
    (np.array([0.0, 1.0]), TypeError, "dtype float64 and shape (2,) in epoch 3"),
    (torch.tensor([0.0, 1.0]).numpy(), TypeError, "dtype float32 and shape (2,)"),
    (np.array([[0, 1]]), TypeError, "shape (1, 2)"),
    (np.array([True, False]), TypeError, "dtype bool"),
    ([[0, 1], [2]], TypeError, "got list in epoch 3"),
    ([], ValueError, "epoch 3 holds an empty batch"),
    (np.array([-1, 2]), ValueError, "[0, 5) (X has 5 rows), got -1..2 in epoch 3"),
], ids=["float", "float32", "2-D", "bool", "ragged", "empty", "negative"])
def test_check_batch_names_the_epoch_and_what_is_wrong(batch, error, words):
    with pytest.raises(error, match="batches") as e:
        training.check_batch(batch, 5, 3)
    assert words in str(e.value)


def test_check_batch_hands_back_a_numpy_array():
    out = training.check_batch([2, 0], 5, 1)
    assert isinstance(out, np.ndarray) and out.tolist() == [2, 0]


@pytest.mark.parametrize("sizes", [[3], [3, 0], [3, True], [3, 2.0], "35", 5, {3, 4}],
                         ids=["one", "zero", "bool", "float", "string", "int", "set"])
def test_check_sizes_refuses_what_is_not_a_list_of_positive_ints(sizes):
    with pytest.raises(ValueError, match="sizes must be .n_in, ..., n_out.: at least two "
                                         "positive integers") as e:
        check_sizes(sizes)
    assert str(e.value).endswith(f"got {sizes!r}")


def test_check_sizes_gives_plain_ints():
    out = check_sizes(np.array([4, 3, 1]))
    assert out == [4, 3, 1] and all(type(s) is int for s in out)
    assert check_sizes((2, 1)) == [2, 1]


@pytest.mark.parametrize("writer", ["npz", "state_dict", "json"])
def test_every_atomic_write_is_fsynced_before_the_rename(tmp_path, monkeypatch, writer):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync")
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", Path(src).name, Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr(handgrad.bookkeeping.atomic.os, "fsync", fsync)
    monkeypatch.setattr(handgrad.bookkeeping.atomic.os, "replace", replace)
    hand, twin = build_twins(Spec((3, 1), ("identity",), "mse"))
    path = tmp_path / {"npz": "p.npz", "state_dict": "s.pt", "json": "r.json"}[writer]
    {"npz": lambda: save_params(hand.params, path),
     "state_dict": lambda: save_state(twin, path),
     "json": lambda: write_json_atomic(path, {"a": 1})}[writer]()
    assert [e if e == "fsync" else e[0] for e in events] == ["fsync", "replace"]
    assert events[1][1].startswith(f".{path.name}.") and events[1][2] == path.name
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_atomic_path_keeps_the_old_file_when_the_block_raises(tmp_path):
    target = tmp_path / "r.json"
    write_json_atomic(target, {"old": True})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def _eager_batches(n_samples, batch_size, epochs, seed=0, shuffle=True):
    """The witness: make_batches as it was written before it became lazy (a full list)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(epochs):
        order = rng.permutation(n_samples) if shuffle else np.arange(n_samples)
        out.append([order[i:i + batch_size] for i in range(0, n_samples, batch_size)])
    return out


@pytest.mark.parametrize("n, b, epochs, seed, shuffle", [
    (10, 3, 4, 1, True), (240, 32, 7, 0, True), (5, 5, 3, 2, True), (7, 1, 2, 9, True),
    (9, 4, 3, 0, False)])
def test_lazy_batches_are_the_eager_ones_batch_for_batch(n, b, epochs, seed, shuffle):
    lazy = training.make_batches(n, b, epochs, seed=seed, shuffle=shuffle)
    eager = _eager_batches(n, b, epochs, seed, shuffle)
    assert len(lazy) == epochs and lazy.steps_per_epoch == len(eager[0])
    assert lazy.n_steps == sum(map(len, eager))
    for _ in range(2):  # re-iterable: the second pass gives the same batches again
        got = list(lazy)
        assert len(got) == epochs
        for e_lazy, e_eager in zip(got, eager):
            assert isinstance(e_lazy, list) and len(e_lazy) == len(e_eager)
            for a, w in zip(e_lazy, e_eager):
                np.testing.assert_array_equal(a, w)
    np.testing.assert_array_equal(np.concatenate(lazy[-1]), np.concatenate(eager[-1]))
    sliced = lazy[1::2]
    assert len(sliced) == len(eager[1::2])
    for e_lazy, e_eager in zip(sliced, eager[1::2]):
        np.testing.assert_array_equal(np.concatenate(e_lazy), np.concatenate(e_eager))


def test_a_hundred_million_epochs_cost_the_memory_of_one():
    import time
    import tracemalloc

    tracemalloc.start()
    t0 = time.perf_counter()
    batches = training.make_batches(240, 32, 10**8, seed=0)
    first = next(iter(batches))
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(batches) == 10**8 and batches.n_steps == 8 * 10**8
    assert seconds < 1.0 and peak < 1_000_000  # eagerly: 5.4 GB and minutes
    np.testing.assert_array_equal(first[0], _eager_batches(240, 32, 1)[0][0])


@pytest.mark.parametrize("index, error, words", [
    (3, IndexError, "epoch index 3 out of range for 3 epoch(s)"),
    (-4, IndexError, "epoch index -4 out of range"),
    (1.0, TypeError, "an epoch index must be an integer or a slice, got float")])
def test_a_wrong_epoch_index_says_what_is_wrong(index, error, words):
    with pytest.raises(error) as info:
        training.make_batches(6, 2, 3)[index]
    assert words in str(info.value)


def test_check_data_names_the_first_non_finite_row_and_column():
    X = np.zeros((50, 4))
    X[37, 2], X[40, 0] = np.nan, np.inf
    with pytest.raises(ValueError) as info:
        training.check_data(X, np.zeros(50))
    assert str(info.value) == ("X has a non-finite value in row 37 (column 2): nan; X must be "
                               "finite (2 NaN/Inf value(s) in all)")
    y = np.zeros(50)
    y[11] = -np.inf
    with pytest.raises(ValueError, match=r"^y_val has a non-finite value in row 11: -inf; "
                                         r"y_val must be finite \(1 NaN/Inf"):
        training.check_data(np.zeros((50, 4)), y, ("X_val", "y_val"))
    training.check_data(np.zeros((3, 2), dtype=int), [0, 1, 1])  # ints: finite by nature
