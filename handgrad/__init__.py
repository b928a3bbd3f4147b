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

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    value = module if name in _MODULES else getattr(module, name)
    globals()[name] = value  # the next access does not come back here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
