"""Atomic writes: write a temporary file beside the target, fsync it, then ``os.replace`` it.

A crash mid-write leaves the previous file intact and no temporary behind; a crash after
the write leaves the new file whole (its bytes reached the disk before the rename). Used by
both twins' ``persist`` modules and by ``compare``.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def _fsync(path: Path) -> None:
    """Flush a written file's bytes to the disk (a folder is left to its files)."""
    if path.is_file():
        fd = os.open(path, os.O_RDWR)  # a writable handle: Windows' _commit needs one
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix): fsynced and moved onto ``path``, or
    deleted when the block raises."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp{path.suffix}")
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "xb") -> Iterator[IO]:
    """A new temporary file beside ``path``, open in ``mode``, that becomes ``path``."""
    with atomic_path(path) as tmp, open(tmp, mode) as f:
        yield f


def write_json_atomic(path, data) -> None:
    """Write ``data`` as JSON to ``path`` atomically."""
    with atomic_open(path, "x") as f:
        json.dump(data, f, indent=1)
