"""Saving and loading parameters as ``.npz``: no pickle, atomic writes.

``save_params(params, path)`` writes every array of a ``params`` dict (keys as in
``MLP.params``) into an uncompressed ``.npz`` atomically (``bookkeeping.atomic``: a
temporary file in the same folder, fsynced, then ``os.replace``d), so a crash mid-write
leaves any previous file intact.
``load_params(path)`` reads it back with ``allow_pickle=False`` and checks that every entry
is a finite float32/float64 array; a truncated, bit-flipped (the zip's CRC-32) or foreign
file, a single ``.npy`` array under an ``.npz`` name, or a NaN/Inf entry, is a ValueError
naming the file.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from handgrad.bookkeeping.atomic import atomic_open
from handgrad.bookkeeping.errors import check_finite_params


def save_params(params: dict[str, np.ndarray], path) -> None:
    """Write ``params`` to ``path`` (an ``.npz``) atomically."""
    with atomic_open(path, "xb") as f:
        np.savez(f, **{k: np.asarray(v) for k, v in params.items()})


def load_params(path) -> dict[str, np.ndarray]:
    """The ``params`` dict stored at ``path``; ValueError for a damaged or foreign file."""
    try:
        data = np.load(os.fspath(path), allow_pickle=False)
        if isinstance(data, np.lib.npyio.NpzFile):
            with data:
                params = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path} is not a readable handgrad .npz file: {exc}") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} holds a single .npy array {np.shape(data)}, not an .npz "
                         "archive of named parameters (np.savez writes one)")
    bad = [k for k, v in params.items() if v.dtype not in (np.float32, np.float64)]
    if not params or bad:
        raise ValueError(f"{path}: expected float32/float64 parameter arrays, found "
                         f"{'nothing' if not params else bad}")
    check_finite_params(params, what=f"{path}: parameter")
    return params
