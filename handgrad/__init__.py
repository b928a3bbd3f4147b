"""handgrad: hand-derived NumPy neurons and MLPs beside their torch.nn twins, and a judge.

The one import name of the project. Its rooms are sub-packages (see docs/architecture.md):

    handgrad.handmade     NumPy, every derivative by hand
    handgrad.torch_ref    the same models as torch.nn modules
    handgrad.bookkeeping  what both twins share that is not mathematics
    handgrad.compare      the judge (check/), training side by side (train/), teaching (teach/),
                          the command line (cli/)

The public names below are imported lazily (PEP 562), on first use, so that ``import
handgrad`` (and so the pytest plugin, which lives in this package) costs no NumPy and no
torch until a name is asked for:

    from handgrad import check_layer, check_model, check_gradients, assert_layer_match
    from handgrad import MLP, TorchMLP, Spec
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # never run: it lets editors and type checkers follow the lazy names below
    from handgrad.compare import datasets
    from handgrad.compare.check.gradcheck import assert_gradients_match, check_gradients
    from handgrad.compare.check.layer import assert_layer_match, check_layer
    from handgrad.compare.check.model import assert_model_match, check_model
    from handgrad.compare.check.objects import assert_object_match, check_object
    from handgrad.compare.check.replay import load_case, replay
    from handgrad.compare.check.report import CheckFailed, Entry, GradReport
    from handgrad.compare.spec import Spec, build_twins
    from handgrad.compare.transfer import hand_to_torch, torch_to_hand
    from handgrad.handmade.mlp import MLP
    from handgrad.torch_ref.mlp import TorchMLP

# public name -> the module that defines it
_LAZY = {
    "check_gradients": "handgrad.compare.check.gradcheck",
    "assert_gradients_match": "handgrad.compare.check.gradcheck",
    "check_model": "handgrad.compare.check.model",
    "assert_model_match": "handgrad.compare.check.model",
    "check_layer": "handgrad.compare.check.layer",
    "assert_layer_match": "handgrad.compare.check.layer",
    "check_object": "handgrad.compare.check.objects",
    "assert_object_match": "handgrad.compare.check.objects",
    "GradReport": "handgrad.compare.check.report",
    "Entry": "handgrad.compare.check.report",
    "CheckFailed": "handgrad.compare.check.report",
    "load_case": "handgrad.compare.check.replay",
    "replay": "handgrad.compare.check.replay",
    "Spec": "handgrad.compare.spec",
    "build_twins": "handgrad.compare.spec",
    "hand_to_torch": "handgrad.compare.transfer",
    "torch_to_hand": "handgrad.compare.transfer",
    "datasets": "handgrad.compare.datasets",
    "MLP": "handgrad.handmade.mlp",
    "TorchMLP": "handgrad.torch_ref.mlp",
}
# modules offered as attributes (handgrad.datasets is the module itself)
_MODULES = {"datasets"}

__all__ = [  # the names of _LAZY, written out so that static tools see them
    "CheckFailed", "Entry", "GradReport", "MLP", "Spec", "TorchMLP",
    "assert_gradients_match", "assert_layer_match", "assert_model_match", "assert_object_match",
    "build_twins", "check_gradients", "check_layer", "check_model", "check_object", "datasets",
    "hand_to_torch", "load_case", "replay", "torch_to_hand",
]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(_LAZY[name])
    except (ImportError, AttributeError) as exc:
        _explain_shadowing(exc)
        raise
    value = module if name in _MODULES else getattr(module, name)
    globals()[name] = value  # the next access does not come back here
    return value


def _explain_shadowing(exc: Exception) -> None:
    """Where a user's own ``torch.py`` (or numpy, scipy) hid the installed package, the
    import failed deep inside with a missing attribute: say so in one line instead."""
    from handgrad.shadowing import shadowing_message

    message = shadowing_message()
    if message:
        raise ImportError(message) from exc


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
