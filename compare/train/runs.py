"""A run folder: the trained twins and the record of how they were trained, as one unit.

    run.json          the spec, dtype, options, summary and trajectory (strict JSON)
    params.npz        the handmade model's parameters (``handmade.persist``, no pickle)
    state_dict.pt     the torch twin's ``state_dict`` (``torch_ref.persist``, weights_only)
    losses.png, divergence.png, boundary.png, boundary.gif   what ``handgrad train`` draws
    manifest.json     size and SHA-256 of every other file, written last

``run_folder(out)`` (a ``bookkeeping.folder.FolderWriter``) gives a hidden temporary
folder beside ``out``; what is written there reaches ``out`` at the end of the ``with``
block, whole, by one rename, or not at all (see docs/runs.md). ``save_run`` is the same for
the three model files. ``load_run(folder)`` checks the manifest (every file whole and
unchanged), rebuilds both twins from the spec and loads each side's file;
``load_into(model, path)`` loads either file into either twin (so a run saved from one
side reloads into the other), checking the file against its folder's manifest when it
has one. A folder that fails is a ``RunFolderError`` (a ValueError) naming the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from handgrad.bookkeeping.atomic import write_json_atomic
from handgrad.bookkeeping.folder import FolderWriter
from handgrad.bookkeeping.manifest import (
    MANIFEST,
    RunFolderError,
    read_manifest,
    verify_file,
    verify_folder,
)
from handgrad.compare.spec import Spec
from handgrad.compare.transfer import check_same_layout, hand_to_torch
from handgrad.handmade.persist import load_params, save_params
from handgrad.torch_ref.persist import load_state, save_state

RUN_JSON, PARAMS, STATE = "run.json", "params.npz", "state_dict.pt"
PICTURES = ("losses.png", "divergence.png", "boundary.png", "boundary.gif")
REQUIRED = (RUN_JSON, PARAMS, STATE)
SPEC_KEYS = ("sizes", "activations", "loss", "reduction")

__all__ = ["MANIFEST", "PARAMS", "RUN_JSON", "STATE", "RunFolderError", "load_into",
           "load_run", "read_record", "run_folder", "save_run", "write_run_files"]


def run_folder(out, *, overwrite: bool = False, unique: bool = False, what: str = "folder",
               hint: str = "overwrite=True") -> FolderWriter:
    """A ``FolderWriter`` for a run folder at ``out``: ``with run_folder(out) as w:`` write
    into ``w.path``; at the end ``w.target`` holds it all, with its manifest.

    ``overwrite``: replace an existing run folder as a whole; ``unique``: take the first
    free name of ``out``, ``out-2``, ``out-3``, ... instead of refusing an existing one.
    """
    return FolderWriter(out, overwrite=overwrite, unique=unique, what=what, hint=hint,
                        replaceable=(MANIFEST, RUN_JSON))


def write_run_files(folder, spec: Spec, hand, twin, record: dict) -> None:
    """Write ``run.json``, ``params.npz`` and ``state_dict.pt`` into ``folder`` (existing)."""
    folder = Path(folder)
    save_params(hand.params, folder / PARAMS)
    save_state(twin, folder / STATE)
    write_json_atomic(folder / RUN_JSON, {"spec": {"sizes": list(spec.sizes),
                                                   "activations": list(spec.activations),
                                                   "loss": spec.loss,
                                                   "reduction": spec.reduction},
                                          **record})


def save_run(folder, spec: Spec, hand, twin, record: dict, *, overwrite: bool = False) -> Path:
    """Write a run folder at ``folder`` as one unit (an empty or missing folder; an existing
    run folder only with ``overwrite``); the folder."""
    with run_folder(folder, overwrite=overwrite) as w:
        write_run_files(w.path, spec, hand, twin, record)
    return w.target


def load_into(model, path) -> None:
    """Load ``params.npz`` or ``state_dict.pt`` at ``path`` into a handmade or torch model.

    When the file's folder has a manifest that lists it, the file must match it first.
    """
    path = Path(os.fspath(path))
    if (path.parent / MANIFEST).is_file():
        manifest = read_manifest(path.parent)
        if path.name in manifest["files"]:
            verify_file(path.parent, path.name, manifest)
    if path.suffix == ".npz":
        params = load_params(path)
    else:
        params = {k: v.cpu().numpy() for k, v in load_state(path).items()}
    if isinstance(model, torch.nn.Module):
        hand_to_torch(params, model)  # checks the layout, keeps the model's dtype/device
    else:
        check_same_layout(model.params, {k: np.asarray(v) for k, v in params.items()})
        for key, p in model.params.items():
            p[...] = params[key]


def read_record(folder) -> dict:
    """``run.json`` of ``folder`` with its spec checked; RunFolderError naming path and key."""
    path = Path(folder) / RUN_JSON
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunFolderError(path, "missing: not a run folder") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunFolderError(path, f"not readable JSON ({exc}); the file is damaged or "
                                   "truncated") from None
    if not isinstance(record, dict) or not isinstance(record.get("spec"), dict):
        raise RunFolderError(path, "has no key 'spec' (the model: "
                                   f"{', '.join(map(repr, SPEC_KEYS))})")
    missing = [k for k in SPEC_KEYS if k not in record["spec"]]
    if missing:
        raise RunFolderError(path, f"its 'spec' has no key {', '.join(map(repr, missing))}")
    return record


def load_run(folder, *, device="cpu", verify: bool = True):
    """``(hand, twin, record)``: both twins rebuilt from ``run.json``, each from its file.

    ``verify`` checks the manifest first (set it False only for a folder written before
    manifests existed): a missing, truncated, altered or replaced file is refused.
    """
    folder = Path(folder)
    if verify:
        verify_folder(folder, required=REQUIRED, expected=(*REQUIRED, *PICTURES))
    record = read_record(folder)
    s = record["spec"]
    try:
        spec = Spec(tuple(s["sizes"]), tuple(s["activations"]), s["loss"], s["reduction"])
    except (TypeError, ValueError) as exc:
        raise RunFolderError(folder / RUN_JSON, f"its 'spec' does not build a model: "
                                                f"{exc}") from None
    dtype = record.get("dtype", "float64")
    hand, twin = spec.hand(dtype=dtype), spec.torch(dtype=dtype, device=device)
    load_into(hand, folder / PARAMS)
    load_into(twin, folder / STATE)
    return hand, twin, record
