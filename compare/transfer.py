"""Copying parameters between the twins, both ways, device and dtype aware.

A handmade ``params`` dict and a torch ``state_dict()`` share keys (``layers.{l}.weight``
``(out, in)``, ``layers.{l}.bias`` ``(out,)``), so a copy is a plain per-key assignment:
no transposes. Each side keeps its own dtype (and the torch side its device); a mismatch
of keys or shapes is a ValueError that lists what differs, a non-float entry a TypeError
and a NaN/Inf entry in the source a ValueError naming it.
"""

from __future__ import annotations

import numpy as np
import torch

from handgrad.bookkeeping.errors import check_finite_params

NUMPY_DTYPES = {"float32": np.float32, "float64": np.float64}
TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def dtype_name(dtype) -> str:
    """``"float32"`` or ``"float64"`` from a NumPy dtype, a torch dtype or a name."""
    if isinstance(dtype, torch.dtype):
        name = str(dtype).removeprefix("torch.")
    else:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = str(dtype)
    if name not in NUMPY_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}")
    return name


def _params_of(model) -> dict[str, np.ndarray]:
    params = model if isinstance(model, dict) else getattr(model, "params", None)
    if not isinstance(params, dict):
        raise TypeError(f"hand must be a handmade model (with a params dict) or a params "
                        f"dict, got {type(model).__name__}")
    return params


def _check_float_finite(arrays: dict, side: str) -> None:
    """TypeError for a non-float entry, ValueError for NaN/Inf, naming the key and side."""
    for key, value in arrays.items():
        dtype = value.dtype if isinstance(value, torch.Tensor) else np.asarray(value).dtype
        if str(dtype).removeprefix("torch.") not in NUMPY_DTYPES:
            raise TypeError(f"{side} parameter {key} must be float32/float64, got {dtype}")
    check_finite_params({k: v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v
                         for k, v in arrays.items()}, what=f"{side} parameter")


def check_same_layout(hand_params: dict, state: dict) -> None:
    """ValueError unless both dicts have the same keys with the same shapes."""
    missing, extra = sorted(set(state) - set(hand_params)), sorted(set(hand_params) - set(state))
    bad = [f"{k}: handmade {tuple(np.shape(hand_params[k]))} vs torch {tuple(state[k].shape)}"
           for k in state if k in hand_params and tuple(np.shape(hand_params[k])) !=
           tuple(state[k].shape)]
    if missing or extra or bad:
        raise ValueError("parameter layouts differ: "
                         f"missing on the handmade side {missing}, missing on the torch side "
                         f"{extra}, shape mismatches {bad}")


def hand_to_torch(hand, torch_model: torch.nn.Module) -> None:
    """Copy a handmade model's ``params`` (or a params dict) into ``torch_model`` in place."""
    if not isinstance(torch_model, torch.nn.Module):
        raise TypeError(f"torch_model must be a torch.nn.Module (a torch_ref twin), got "
                        f"{type(torch_model).__name__}")
    params = _params_of(hand)
    state = torch_model.state_dict()
    check_same_layout(params, state)
    _check_float_finite(params, "handmade")
    with torch.no_grad():
        for key, target in state.items():
            target.copy_(torch.as_tensor(np.asarray(params[key])))  # casts and moves


def torch_to_hand(torch_model: torch.nn.Module, hand) -> None:
    """Copy ``torch_model``'s parameters into a handmade model's ``params`` in place."""
    if not isinstance(torch_model, torch.nn.Module):
        raise TypeError(f"torch_model must be a torch.nn.Module (a torch_ref twin), got "
                        f"{type(torch_model).__name__}")
    params = _params_of(hand)
    state = torch_model.state_dict()
    check_same_layout(params, state)
    _check_float_finite(state, "torch")
    for key, target in params.items():
        if not isinstance(target, np.ndarray) or target.dtype.kind != "f":
            raise TypeError(f"handmade parameter {key} must be a float32/float64 ndarray to "
                            f"copy into, got {getattr(target, 'dtype', type(target).__name__)}")
    for key, source in state.items():
        params[key][...] = source.detach().cpu().numpy()  # keeps the handmade dtype


def to_numpy64(t) -> np.ndarray:
    """A torch tensor (any device) or array as a float64 NumPy array."""
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().double().numpy()
    return np.asarray(t, dtype=np.float64)
