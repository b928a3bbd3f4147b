"""Paired timing for the speed-trick benchmarks: two ways, interleaved, a ratio per block.

``paired_ratios(trick, plain)`` times ``n`` calls of each, one after the other, in every
block, swapping which goes first from block to block, so that a busy moment of a shared
machine slows both sides of a block alike; it returns each block's ``trick / plain``
ratio. ``spread`` prints them as min / median / max: a trick earns its place where even
the max stays clearly below 1.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def calls_per_block(fn: Callable[[], object], block_s: float) -> int:
    """How many calls of ``fn`` take about ``block_s`` seconds (at least one)."""
    fn()  # warm up: first-call allocations, lazy imports
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, round(block_s / once))


def seconds_per_call(fn: Callable[[], object], n: int) -> float:
    """Mean seconds of one call over ``n`` calls in a row."""
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def paired_ratios(trick: Callable[[], object], plain: Callable[[], object], *,
                  blocks: int = 9, block_s: float = 0.1) -> list[float]:
    """Per block, ``time(trick) / time(plain)`` of the same number of calls of each."""
    n = calls_per_block(plain, block_s)
    calls_per_block(trick, block_s)  # its warm-up
    ratios = []
    for block in range(blocks):
        if block % 2:
            plain_s = seconds_per_call(plain, n)
            trick_s = seconds_per_call(trick, n)
        else:
            trick_s = seconds_per_call(trick, n)
            plain_s = seconds_per_call(plain, n)
        ratios.append(trick_s / plain_s)
    return ratios


def spread(ratios: list[float]) -> str:
    """``min / median / max`` of the ratios, two decimals each."""
    return f"{min(ratios):.2f} / {statistics.median(ratios):.2f} / {max(ratios):.2f}"
