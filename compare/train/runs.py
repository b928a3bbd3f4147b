"""A run folder: the trained twins and the record of how they were trained.

    run.json          the spec, dtype, options, summary and trajectory (written atomically)
    params.npz        the handmade model's parameters (``handmade.persist``, no pickle)
    state_dict.pt     the torch twin's ``state_dict`` (``torch_ref.persist``, weights_only)

``load_run(folder)`` rebuilds both twins from the spec and loads each side's file;
``load_into(model, path)`` loads either file into either twin, so a run saved from one
side reloads into the other.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from bookkeeping.atomic import write_json_atomic
from compare.spec import Spec
from compare.transfer import check_same_layout, hand_to_torch
from handmade.persist import load_params, save_params
from torch_ref.persist import load_state, save_state

RUN_JSON, PARAMS, STATE = "run.json", "params.npz", "state_dict.pt"


def save_run(folder, spec: Spec, hand, twin, record: dict) -> Path:
    """Write the three files of a run into ``folder`` (created if needed)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_params(hand.params, folder / PARAMS)
    save_state(twin, folder / STATE)
    write_json_atomic(folder / RUN_JSON, {"spec": {"sizes": list(spec.sizes),
                                                   "activations": list(spec.activations),
                                                   "loss": spec.loss,
                                                   "reduction": spec.reduction},
                                          **record})
    return folder


def load_into(model, path) -> None:
    """Load ``params.npz`` or ``state_dict.pt`` at ``path`` into a handmade or torch model."""
    path = os.fspath(path)
    if path.endswith(".npz"):
        params = load_params(path)
    else:
        params = {k: v.cpu().numpy() for k, v in load_state(path).items()}
    if isinstance(model, torch.nn.Module):
        hand_to_torch(params, model)  # checks the layout, keeps the model's dtype/device
    else:
        check_same_layout(model.params, {k: np.asarray(v) for k, v in params.items()})
        for key, p in model.params.items():
            p[...] = params[key]


def load_run(folder, *, device="cpu"):
    """``(hand, twin, record)``: both twins rebuilt from ``run.json``, each from its file."""
    folder = Path(folder)
    record = json.loads((folder / RUN_JSON).read_text())
    s = record["spec"]
    spec = Spec(tuple(s["sizes"]), tuple(s["activations"]), s["loss"], s["reduction"])
    dtype = record.get("dtype", "float64")
    hand, twin = spec.hand(dtype=dtype), spec.torch(dtype=dtype, device=device)
    load_into(hand, folder / PARAMS)
    load_into(twin, folder / STATE)
    return hand, twin, record
