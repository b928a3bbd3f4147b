"""Saved runs reload into either twin; damaged files are clear errors; writes are atomic."""

import json

import numpy as np
import pytest
import torch

from handgrad import handmade
from handgrad.compare import build_twins, hand_to_torch
from handgrad.compare.spec import Spec
from handgrad.compare.train.runs import PARAMS, RUN_JSON, STATE, load_into, load_run, save_run
from handgrad.handmade.persist import load_params, save_params
from handgrad.torch_ref.persist import load_state, save_state

SPEC = Spec((3, 5, 2), ("tanh", "identity"), "cross_entropy")


def _trained(dtype="float64"):
    hand, twin = build_twins(SPEC, seed=3, dtype=dtype)
    X = np.random.default_rng(0).standard_normal((20, 3))
    y = np.random.default_rng(1).integers(0, 2, 20)
    opt = handmade.SGD(hand.params, lr=0.3)
    for _ in range(5):
        opt.step(hand.loss_and_grads(X, y)[1])
    hand_to_torch(hand, twin)
    return hand, twin


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_round_trip_restores_both_twins_exactly(tmp_path, dtype):
    hand, twin = _trained(dtype)
    save_run(tmp_path, SPEC, hand, twin, {"dtype": dtype, "note": "x"})
    hand2, twin2, record = load_run(tmp_path)
    assert record["note"] == "x" and record["spec"]["sizes"] == [3, 5, 2]
    for key, p in hand.params.items():
        assert hand2.params[key].dtype == p.dtype
        np.testing.assert_array_equal(hand2.params[key], p, err_msg=key)
        np.testing.assert_array_equal(twin2.state_dict()[key].numpy(), p, err_msg=key)


def test_each_file_loads_into_the_other_twin(tmp_path):
    hand, twin = _trained()
    save_run(tmp_path, SPEC, hand, twin, {})
    other_hand, other_twin = build_twins(SPEC, seed=99)
    load_into(other_hand, tmp_path / STATE)  # torch's state_dict into the NumPy model
    load_into(other_twin, tmp_path / PARAMS)  # NumPy's npz into the torch model
    for key, p in hand.params.items():
        np.testing.assert_array_equal(other_hand.params[key], p, err_msg=key)
        np.testing.assert_array_equal(other_twin.state_dict()[key].numpy(), p, err_msg=key)


def test_npz_is_written_without_pickle(tmp_path):
    hand, _ = _trained()
    save_params(hand.params, tmp_path / "p.npz")
    with np.load(tmp_path / "p.npz", allow_pickle=False) as data:
        assert sorted(data.files) == sorted(hand.params)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_files_are_value_errors(tmp_path, damage):
    hand, twin = _trained()
    save_params(hand.params, tmp_path / "p.npz")
    save_state(twin, tmp_path / "s.pt")
    for path in (tmp_path / "p.npz", tmp_path / "s.pt"):
        raw = path.read_bytes()
        path.write_bytes({"truncate": raw[: len(raw) // 2], "garbage": b"not a model" * 10,
                          "empty": b""}[damage])
    with pytest.raises(ValueError, match="p.npz"):
        load_params(tmp_path / "p.npz")
    with pytest.raises(ValueError, match="s.pt"):
        load_state(tmp_path / "s.pt")


def test_npz_with_an_object_array_is_refused(tmp_path):
    np.savez(tmp_path / "bad.npz", w=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError):
        load_params(tmp_path / "bad.npz")


def test_state_dict_with_a_foreign_object_is_refused(tmp_path):
    torch.save({"w": torch.zeros(2), "evil": Spec((1, 1), ("identity",), "mse")},
               tmp_path / "bad.pt")
    with pytest.raises(ValueError):
        load_state(tmp_path / "bad.pt")  # weights_only=True will not build a Spec


def test_mismatched_layout_is_a_value_error(tmp_path):
    hand, twin = _trained()
    save_params(hand.params, tmp_path / "p.npz")
    small = handmade.MLP([3, 4, 2], ["tanh", "identity"], "cross_entropy")
    with pytest.raises(ValueError, match="layers.0"):
        load_into(small, tmp_path / "p.npz")


@pytest.mark.parametrize("writer", ["npz", "state_dict"])
def test_a_crash_mid_write_leaves_the_previous_file_intact(tmp_path, monkeypatch, writer):
    hand, twin = _trained()
    path = tmp_path / ("p.npz" if writer == "npz" else "s.pt")
    save = (lambda: save_params(hand.params, path)) if writer == "npz" else (
        lambda: save_state(twin, path))
    save()
    before = path.read_bytes()

    def crash(*args, **kwargs):  # np.savez(file, ...) or torch.save(obj, file)
        f = args[0] if hasattr(args[0], "write") else args[1]
        f.write(b"half a file")
        raise OSError("disk full")

    target = ("handgrad.handmade.persist.np.savez" if writer == "npz"
              else "handgrad.torch_ref.persist.torch.save")
    monkeypatch.setattr(target, crash)
    with pytest.raises(OSError, match="disk full"):
        save()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind


def test_run_json_is_plain_json(tmp_path):
    hand, twin = _trained()
    save_run(tmp_path, SPEC, hand, twin, {"trajectory": [{"step": 1, "hand_loss": 0.5}]})
    record = json.loads((tmp_path / RUN_JSON).read_text())
    assert record["trajectory"][0]["hand_loss"] == 0.5
    assert record["spec"]["activations"] == ["tanh", "identity"]


def test_load_params_names_an_empty_file_and_the_path_of_a_nan(tmp_path):
    save_params({}, tmp_path / "empty.npz")
    with pytest.raises(ValueError, match="expected float32/float64 parameter arrays, found "
                                         "nothing"):
        load_params(tmp_path / "empty.npz")
    save_params({"layers.0.weight": np.array([[np.nan]])}, tmp_path / "nan.npz")
    with pytest.raises(ValueError, match=r"nan\.npz: parameter layers\.0\.weight holds 1"):
        load_params(tmp_path / "nan.npz")
