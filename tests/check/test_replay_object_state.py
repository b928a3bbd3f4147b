"""A layer object's state, kept without pickle (``compare.check.object_state``).

The witness is the object itself: what comes back from the saved files must equal, type
and value, what was read off the object (written out in each test), and what cannot be
kept must be named, never dropped.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from handgrad.compare.check.object_state import read_state, rebuild, unsaved_message


class Holder:
    """Stands for a user's layer: attributes set by the test."""


class Slotted:
    __slots__ = ("weights",)


def _through_files(obj, tmp_path):
    """``obj``'s state written as the case files write it and read back: (record, arrays)."""
    arrays, record = read_state(obj)
    np.savez(tmp_path / "state.npz", **arrays)
    (tmp_path / "state.json").write_text(json.dumps(record, allow_nan=False))
    with np.load(tmp_path / "state.npz", allow_pickle=False) as data:
        loaded = {k: data[k] for k in data.files}
    return json.loads((tmp_path / "state.json").read_text()), loaded


KEPT = [
    pytest.param("weights", np.arange(6.0).reshape(2, 3), id="array"),
    pytest.param("mask", np.array([True, False]), id="bool-array"),
    pytest.param("lr", np.float32(0.5), id="numpy-scalar"),
    pytest.param("shape", (4, 3), id="tuple"),
    pytest.param("sizes", [4, [3, 2]], id="nested-list"),
    pytest.param("by_int", {1: "a", (2, 3): None}, id="dict-with-non-str-keys"),
    pytest.param("params", {"W": np.ones((2, 2)), "b": [np.zeros(2)]}, id="arrays-in-a-dict"),
    pytest.param("flag", True, id="bool"),
    pytest.param("name", "dense", id="str"),
    pytest.param("scale", 0.1, id="float"),
]


@pytest.mark.parametrize("name, value", KEPT)
def test_a_kept_attribute_comes_back_with_its_type_and_value(tmp_path, name, value):
    obj = Holder()
    setattr(obj, name, value)
    record, arrays = _through_files(obj, tmp_path)
    assert record["unsaved"] == {}
    back = getattr(rebuild(Holder, record, arrays), name)
    assert type(back) is type(value)
    if isinstance(value, (np.ndarray, np.generic)):
        assert back.dtype == value.dtype
        np.testing.assert_array_equal(back, value)
    elif name == "params":
        np.testing.assert_array_equal(back["W"], value["W"])
        np.testing.assert_array_equal(back["b"][0], value["b"][0])
    else:
        assert back == value


@pytest.mark.parametrize("value, why", [
    (Holder(), "a tests.check.test_replay_object_state.Holder object"),
    (print, "a function or other callable"),
    (float("nan"), "the float nan"),
    ([1, Holder()], "Holder object"),
    (np.array([Holder()], dtype=object), "dtype object"),
    (np.ma.array([1.0]), "an ndarray subclass"),
], ids=["object", "function", "nan", "object-in-a-list", "object-array", "masked-array"])
def test_what_cannot_be_kept_is_named_and_refused(tmp_path, value, why):
    obj = Holder()
    obj.weights = np.ones(2)
    obj.extra = value
    record, arrays = _through_files(obj, tmp_path)
    assert list(record["unsaved"]) == ["extra"] and why in record["unsaved"]["extra"]
    assert "state:extra" not in arrays  # nothing half-kept
    assert "the attributes ['extra'] could not be saved" in unsaved_message(record)
    with pytest.raises(ValueError, match=r"\['extra'\] could not be saved"):
        rebuild(Holder, record, arrays)


def test_an_object_with_slots_is_refused(tmp_path):
    obj = Slotted()
    obj.weights = np.ones(2)
    record, arrays = _through_files(obj, tmp_path)
    assert "__slots__" in record["unsaved"]["weights"]
    with pytest.raises(ValueError, match="could not be saved"):
        rebuild(Slotted, record, arrays)
    with pytest.raises(ValueError, match="keeps its attributes in __slots__"):
        rebuild(Slotted, {"json": {}, "unsaved": {}}, {})


def test_the_rebuilt_object_skips_init(tmp_path):
    class Drawn:
        def __init__(self):
            raise AssertionError("__init__ ran: it would draw new weights")

    obj = Drawn.__new__(Drawn)
    obj.weights = np.full(3, 7.0)
    record, arrays = _through_files(obj, tmp_path)
    np.testing.assert_array_equal(rebuild(Drawn, record, arrays).weights, [7.0, 7.0, 7.0])
