"""handgrad.compare: the only package that knows both twins (handmade and torch_ref).

Its sub-packages are the three uses: ``check/`` (the judge), ``train/`` (side by side),
``teach/`` (worked examples), plus ``cli/`` (the command). The public names are offered by
``handgrad`` itself (``from handgrad import check_layer``); this package imports nothing at
import time, so that ``import handgrad.compare.cli`` (and ``handgrad --help``) costs no torch.
"""

from __future__ import annotations


def __getattr__(name: str):
    import handgrad

    if name in handgrad._LAZY:
        return getattr(handgrad, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
