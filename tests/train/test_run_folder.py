"""A run folder is one unit: written whole or not at all, checked against its manifest on
load, and every damaged, mixed or incomplete folder is refused naming the file."""

import hashlib
import json
import os
import shutil

import numpy as np
import pytest
import torch

from handgrad.bookkeeping.manifest import MANIFEST, RunFolderError
from handgrad.compare import build_twins
from handgrad.compare.spec import Spec
from handgrad.compare.train.runs import (
    PARAMS,
    RUN_JSON,
    STATE,
    load_into,
    load_run,
    run_folder,
    save_run,
)

SPEC = Spec((3, 4, 2), ("tanh", "identity"), "cross_entropy")


def _run(path, seed=0, **kwargs):
    hand, twin = build_twins(SPEC, seed=seed)
    return save_run(path, SPEC, hand, twin, {"dtype": "float64", "seed": seed}, **kwargs)


def _flip_bit(path, where):
    """Flip one bit inside the payload (``where``: a fraction of the file) of ``path``."""
    raw = bytearray(path.read_bytes())
    raw[int(len(raw) * where)] ^= 0x04
    path.write_bytes(bytes(raw))


def test_the_manifest_lists_every_file_with_its_size_and_hash(tmp_path):
    folder = _run(tmp_path / "run")
    manifest = json.loads((folder / MANIFEST).read_text())
    assert sorted(manifest["files"]) == [PARAMS, RUN_JSON, STATE]
    for name, entry in manifest["files"].items():
        raw = (folder / name).read_bytes()
        assert entry["bytes"] == len(raw)
        # the witness: hashlib over the whole bytes, not the module's block reader
        assert entry["sha256"] == hashlib.sha256(raw).hexdigest()
    assert sorted(os.listdir(tmp_path)) == ["run"]  # no temporary, no lock left beside it


@pytest.mark.parametrize("name", [PARAMS, STATE, RUN_JSON])
@pytest.mark.parametrize("damage", ["replaced", "truncated", "bit-flipped", "missing"])
def test_load_run_refuses_a_damaged_or_mixed_folder_naming_the_file(tmp_path, name, damage):
    folder, other = _run(tmp_path / "a", seed=1), _run(tmp_path / "b", seed=2)
    path = folder / name
    if damage == "replaced":  # one file from another run: each file whole, the folder mixed
        shutil.copyfile(other / name, path)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:-7])
    elif damage == "bit-flipped":
        _flip_bit(path, 0.6)
    else:
        path.unlink()
    with pytest.raises(RunFolderError) as info:
        load_run(folder)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert {"replaced": "replaced", "truncated": "truncated", "missing": "missing",
            "bit-flipped": "SHA-256 differs"}[damage] in message


def test_load_into_checks_the_file_against_its_folders_manifest(tmp_path):
    folder = _run(tmp_path / "run")
    _flip_bit(folder / PARAMS, 0.7)
    hand, _ = build_twins(SPEC, seed=5)
    with pytest.raises(RunFolderError, match="params.npz: its SHA-256 differs"):
        load_into(hand, folder / PARAMS)


@pytest.mark.parametrize("name, where", [(STATE, 0.55), (PARAMS, 0.5)])
def test_a_bare_file_with_a_flipped_bit_is_refused_without_a_manifest(tmp_path, name, where):
    folder = _run(tmp_path / "run")
    bare = tmp_path / name
    shutil.copyfile(folder / name, bare)  # no manifest beside it
    _flip_bit(bare, where)
    hand, _ = build_twins(SPEC, seed=5)
    with pytest.raises(ValueError, match=f"{bare}.*(CRC|crc)"):
        load_into(hand, bare)


def test_a_folder_without_manifest_is_incomplete(tmp_path):
    folder = _run(tmp_path / "run")
    (folder / MANIFEST).unlink()
    with pytest.raises(RunFolderError, match="no manifest.json: the folder is incomplete"):
        load_run(folder)
    load_run(folder, verify=False)  # a folder from before manifests still loads on request


def test_a_run_file_mixed_in_after_the_run_is_refused(tmp_path):
    folder = _run(tmp_path / "run")
    (folder / "boundary.gif").write_bytes(b"GIF89a from an older run")
    with pytest.raises(RunFolderError, match="boundary.gif: not listed in manifest.json"):
        load_run(folder)


def test_npy_under_an_npz_name_is_named(tmp_path):
    path = tmp_path / "params.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros((2, 3)))
    hand, _ = build_twins(SPEC)
    with pytest.raises(ValueError, match=f"{path} holds a single .npy array \\(2, 3\\), not an "
                                         ".npz archive"):
        load_into(hand, path)


@pytest.mark.parametrize("text, words", [
    ('{"spec": {"sizes": [3, 4', "not readable JSON"),
    ('{"dtype": "float64"}', "has no key 'spec'"),
    ('{"spec": {"sizes": [3, 4, 2], "loss": "cross_entropy"}}', "'activations', 'reduction'"),
])
def test_a_bad_run_json_names_the_path_and_the_key(tmp_path, text, words):
    folder = _run(tmp_path / "run")
    (folder / RUN_JSON).write_text(text)
    with pytest.raises(RunFolderError) as info:
        load_run(folder, verify=False)  # the manifest would refuse it first
    assert str(folder / RUN_JSON) in str(info.value) and words in str(info.value)


def test_run_json_is_strict_json_with_null_for_non_finite(tmp_path):
    hand, twin = build_twins(SPEC)
    folder = save_run(tmp_path / "run", SPEC, hand, twin,
                      {"summary": {"a": float("nan"), "b": float("inf"), "c": np.float32(2.5),
                                   "d": np.float64(-np.inf)}})
    text = (folder / RUN_JSON).read_text()
    assert "NaN" not in text and "Infinity" not in text
    record = json.loads(text, parse_constant=lambda c: pytest.fail(f"token {c}"))
    assert record["summary"] == {"a": None, "b": None, "c": 2.5, "d": None}


def test_an_exception_inside_the_block_writes_nothing(tmp_path):
    target = tmp_path / "run"
    with pytest.raises(RuntimeError, match="mid-run"), run_folder(target) as w:
        (w.path / "params.npz").write_bytes(b"half")
        raise RuntimeError("mid-run")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("existing", ["run folder", "other folder", "file", "dangling link"])
def test_an_existing_target_is_refused_without_overwrite(tmp_path, existing):
    target = tmp_path / "run"
    if existing == "run folder":
        _run(target)
    elif existing == "other folder":
        target.mkdir()
        (target / "notes.txt").write_text("mine")
    elif existing == "file":
        target.write_text("a file")
    else:
        target.symlink_to(tmp_path / "nowhere")
    before = sorted(os.listdir(tmp_path))
    words = {"run folder": "already exists and is not empty", "other folder": "already exists",
             "file": "is an existing file", "dangling link": "dangling symbolic link"}[existing]
    with pytest.raises(ValueError, match=words):
        _run(target)
    assert sorted(os.listdir(tmp_path)) == before  # no temporary, no lock left


def test_overwrite_replaces_the_folder_as_a_whole(tmp_path):
    target = _run(tmp_path / "run", seed=1)
    (target / "boundary.gif").write_bytes(b"an older picture")
    _run(target, seed=2, overwrite=True)
    assert sorted(os.listdir(target)) == [MANIFEST, PARAMS, RUN_JSON, STATE]
    assert load_run(target)[2]["seed"] == 2
    assert sorted(os.listdir(tmp_path)) == ["run"]


def test_overwrite_replaces_only_a_run_folder(tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "thesis.tex").write_text("keep me")
    with pytest.raises(ValueError, match="is not a finished run folder"):
        _run(target, overwrite=True)
    assert (target / "thesis.tex").read_text() == "keep me"


def test_unique_folders_are_numbered(tmp_path):
    claimed, names = [], []
    for _ in range(3):
        with run_folder(tmp_path / "xor-h8-sgd-float64", unique=True) as w:
            claimed.append(w.target.name)  # claimed at the start, before the work
            (w.path / "run.json").write_text("{}")
        names.append(w.target.name)
    assert claimed == names == ["xor-h8-sgd-float64", "xor-h8-sgd-float64-2",
                                "xor-h8-sgd-float64-3"]


def test_a_unique_folder_taken_during_the_run_moves_to_the_next_number(tmp_path):
    with run_folder(tmp_path / "run", unique=True) as w:
        (tmp_path / "run").mkdir()  # something that ignores the claim: a copy, a user
        (tmp_path / "run" / "run.json").write_text('{"other": 1}')
        (w.path / "run.json").write_text('{"mine": 1}')
    assert w.target.name == "run-2"
    assert json.loads((tmp_path / "run" / "run.json").read_text()) == {"other": 1}
    assert json.loads((tmp_path / "run-2" / "run.json").read_text()) == {"mine": 1}


def test_a_bare_state_dict_round_trips_through_the_crc_check(tmp_path):
    hand, twin = build_twins(SPEC, seed=4)
    torch.save(twin.state_dict(), tmp_path / "s.pt")
    other, _ = build_twins(SPEC, seed=9)
    load_into(other, tmp_path / "s.pt")
    for key, p in hand.params.items():
        np.testing.assert_array_equal(other.params[key], p)


def test_overwrite_never_replaces_the_current_folder(tmp_path, monkeypatch):
    target = _run(tmp_path / "run")
    monkeypatch.chdir(target)
    with pytest.raises(ValueError, match="is not a finished run folder"):
        _run(".", overwrite=True)
    assert sorted(os.listdir(target)) == [MANIFEST, PARAMS, RUN_JSON, STATE]
