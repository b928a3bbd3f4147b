"""Option types shared by the subcommands: each checks its value when the command line is
parsed, so that a bad value ends as ``handgrad CMD: error: argument --FLAG: ...`` (exit 2)
before anything heavy is imported or run.

Each function takes the string as typed and returns the parsed value, or raises
``argparse.ArgumentTypeError`` with what was expected and the value given. Standard
library only.
"""

from __future__ import annotations

import argparse
import math
import os


def _fail(expected: str, text: str):
    raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")


def positive_int(text: str) -> int:
    """An integer >= 1 (``'3'`` -> 3)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        _fail("a positive integer", text)
    return value


def nonnegative_float(text: str) -> float:
    """A finite number >= 0 (``'0.2'`` -> 0.2)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value >= 0):
        _fail("a finite number >= 0", text)
    return value


def positive_ints(text: str) -> tuple[int, ...]:
    """Comma-separated integers >= 1 (``'2,1'`` -> (2, 1))."""
    parts = text.split(",")
    if not all(p.strip().isdigit() and int(p) >= 1 for p in parts):
        _fail("comma-separated positive integers (e.g. 2,1)", text)
    return tuple(int(p) for p in parts)


def cases(text: str) -> tuple[tuple[tuple[int, ...], int], ...]:
    """Benchmark cases ``SIZES:BATCH,...`` with SIZES dash-separated layer widths
    (``'3-2-1:2,1024-500-10:128'`` -> (((3, 2, 1), 2), ((1024, 500, 10), 128)))."""
    out = []
    for case in text.split(","):
        sizes, colon, batch = case.partition(":")
        widths = sizes.split("-")
        if not (colon and batch.strip().isdigit() and int(batch) >= 1 and len(widths) >= 2
                and all(w.strip().isdigit() and int(w) >= 1 for w in widths)):
            _fail("cases SIZES:BATCH separated by commas, SIZES at least two positive "
                  "widths joined by '-' (e.g. 3-2-1:2,1024-500-10:128)", text)
        out.append((tuple(int(w) for w in widths), int(batch)))
    return tuple(out)


def format_cases(value) -> str:
    """The inverse of ``cases``: (((3, 2, 1), 2),) -> ``'3-2-1:2'``."""
    return ",".join("-".join(map(str, sizes)) + f":{batch}" for sizes, batch in value)


def output_file(text: str) -> str:
    """A file path that can be written: not a folder, in a folder that exists."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a file name, got ''")
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text!r} is a directory; expected a file name "
                                         f"(e.g. {os.path.join(text, 'out.json')!r})")
    folder = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: the folder {folder!r} "
                                         "does not exist")
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: the folder {folder!r} "
                                         "is not writable")
    return text



def device_name(text: str, extra: tuple[str, ...] = ()) -> str:
    """``cpu``, ``cuda`` or ``cuda:N`` (the spelling; whether it exists is asked of torch
    when the command runs), or one of ``extra``."""
    index = text.partition("cuda:")[2]
    if text in ("cpu", "cuda", *extra) or (text.startswith("cuda:") and index.isdigit()):
        return text
    _fail(f"{', '.join((*extra, 'cpu', 'cuda'))} or cuda:N", text)


def device_or_auto(text: str) -> str:
    """``device_name`` that also takes ``auto``."""
    return device_name(text, ("auto",))
