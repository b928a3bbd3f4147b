"""The ``fd`` option of every door: checked once, and ``"auto"`` chosen in one place.

    fd = "auto"         every coordinate up to ``MAX_COORDS`` values; beyond, random
                        directions (``N_DIRECTIONS`` per tensor); for ``check_gradients``,
                        whose loss evaluations can be counted, one joint direction through
                        all tensors once batch x values passes ``JOINT_WORK``
    fd = "coords"       every coordinate
    fd = "directions"   ``N_DIRECTIONS`` random unit directions per tensor
    fd = None           no finite differences
"""

from __future__ import annotations

from handgrad.compare.check.tolerances import JOINT_WORK, MAX_COORDS

FD_OPTIONS = (None, "auto", "coords", "directions")


def check_fd_option(fd) -> None:
    """ValueError naming ``fd`` unless it is one of ``FD_OPTIONS``."""
    if fd not in FD_OPTIONS:
        raise ValueError(f"fd must be 'auto', 'coords', 'directions' or None, got {fd!r}")


def fd_method(fd: str, n_values: int, batch: int | None = None) -> str:
    """The method ``fd`` stands for: ``"coords"``, ``"directions"`` or ``"joint"``.

    ``n_values``: how many values are differenced; ``batch``: the batch size, given only
    where a joint direction is allowed (``check_gradients``)."""
    check_fd_option(fd)
    if fd != "auto":
        return fd
    if n_values <= MAX_COORDS:
        return "coords"
    if batch is None or batch * n_values <= JOINT_WORK:
        return "directions"
    return "joint"
