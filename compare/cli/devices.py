"""The device a command asked for, checked with torch, its errors in the command's spelling.

``torch_ref.resolve_device`` speaks to Python callers (``device='cpu'``); on the command
line the same advice is ``--device cpu``. ``resolve_cli_device`` asks torch whether CUDA
is there before handing the name on, so that the one line a user sees names the flag.
Imports torch: call it inside a subcommand's ``run`` only.
"""

from __future__ import annotations


def resolve_cli_device(device: str):
    """``torch_ref.resolve_device(device)``; a ValueError naming ``--device`` (and ``--device
    cpu`` as the way out) when it names CUDA and none is available."""
    import torch

    from handgrad.torch_ref.device import resolve_device

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: CUDA is not available here (torch "
                         f"{torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); "
                         "use --device cpu")
    try:
        return resolve_device(device)
    except ValueError as exc:
        raise ValueError(f"--device: {exc}") from None
