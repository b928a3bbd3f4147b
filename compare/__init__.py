"""compare: the judge between handmade (NumPy) and torch_ref (torch).

The only package that imports both sides. Its public names are imported lazily (PEP 562),
on first use, so that ``import compare.cli`` (and ``handgrad --help``) costs no torch:

    from compare import check_gradients, check_model, check_layer, Spec, build_twins, datasets
"""

from __future__ import annotations

import importlib

# public name -> the module that defines it ("" for a sub-module of compare itself)
_LAZY = {
    "check_gradients": "compare.check.gradcheck",
    "assert_gradients_match": "compare.check.gradcheck",
    "check_model": "compare.check.model",
    "assert_model_match": "compare.check.model",
    "check_layer": "compare.check.layer",
    "assert_layer_match": "compare.check.layer",
    "GradReport": "compare.check.report",
    "Entry": "compare.check.report",
    "CheckFailed": "compare.check.report",
    "load_case": "compare.check.replay",
    "replay": "compare.check.replay",
    "Spec": "compare.spec",
    "build_twins": "compare.spec",
    "hand_to_torch": "compare.transfer",
    "torch_to_hand": "compare.transfer",
    "datasets": "",
}

__all__ = ["check_gradients", "assert_gradients_match", "check_model", "assert_model_match",
           "check_layer", "assert_layer_match", "GradReport", "Entry", "CheckFailed",
           "load_case", "replay",
           "Spec", "build_twins", "hand_to_torch", "torch_to_hand"]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    where = _LAZY[name]
    value = (importlib.import_module(f"{__name__}.{name}") if not where
             else getattr(importlib.import_module(where), name))
    globals()[name] = value  # the next access does not come back here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
