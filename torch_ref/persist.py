"""Saving and loading a torch twin's ``state_dict``: ``weights_only`` loads, atomic writes.

``save_state(model, path)`` writes ``model.state_dict()`` with ``torch.save`` atomically
(``bookkeeping.atomic``: a temporary file in the same folder, fsynced, then ``os.replace``d
over ``path``).
``load_state(path, map_location="cpu")`` reads it with ``torch.load(weights_only=True)``
(tensors and plain containers only, never arbitrary objects); a truncated or foreign file,
a bit-flipped one, a non-float or NaN/Inf tensor, or a CUDA ``map_location`` without CUDA
is a ValueError naming the file. ``torch.load`` does not check the CRC-32 that its zip
archive stores for every record (a flipped bit in a weight loads silently), so
``load_state`` checks them first with ``zipfile``.
"""

from __future__ import annotations

import os
import zipfile

import torch

from handgrad.bookkeeping.atomic import atomic_open
from handgrad.torch_ref.device import resolve_device


def save_state(model: torch.nn.Module, path) -> None:
    """Write ``model.state_dict()`` (``layers.{l}.weight`` (out, in), ...) to ``path``."""
    with atomic_open(path, "xb") as f:
        torch.save(model.state_dict(), f)


def _check_crc(path) -> None:
    """ValueError when a record of the zip archive at ``path`` fails its CRC-32."""
    if not zipfile.is_zipfile(path):
        return  # torch.load says what the file is not
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ValueError(f"{path} is not a readable state_dict file: {exc}") from None
    if bad is not None:
        raise ValueError(f"{path} is damaged: its record {bad!r} fails the archive's CRC-32 "
                         "check (a flipped bit or an overwritten byte)")


def load_state(path, map_location="cpu") -> dict[str, torch.Tensor]:
    """The state_dict stored at ``path`` (tensors on ``map_location``); ValueError if damaged."""
    if isinstance(map_location, str):
        map_location = resolve_device(map_location)  # a clear error for CUDA without CUDA
    _check_crc(path)
    try:
        state = torch.load(os.fspath(path), map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
        raise ValueError(f"{path} is not a readable state_dict file: {exc}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise ValueError(f"{path} does not hold a state_dict (a dict of tensors)")
    bad = [k for k, v in state.items() if v.dtype not in (torch.float32, torch.float64)]
    if not state or bad:
        raise ValueError(f"{path}: expected float32/float64 parameter tensors, found "
                         f"{'nothing' if not state else bad}")
    for key, value in state.items():
        n_bad = int((~torch.isfinite(value)).sum())
        if n_bad:
            raise ValueError(f"{path}: parameter {key} holds {n_bad} NaN/Inf value(s); "
                             "expected finite numbers")
    return state
