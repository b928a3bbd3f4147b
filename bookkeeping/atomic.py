"""Atomic writes: write a temporary file beside the target, fsync it, then ``os.replace`` it.

A crash mid-write leaves the previous file intact; a crash after the write leaves the new
file whole (its bytes reached the disk before the rename). Used by both twins' ``persist``
modules, by ``compare`` and by ``bookkeeping.folder`` (whole run folders).

A temporary is named after its target and its owner, ``.<name>.<pid>-<host>-<random>.tmp<suffix>``
(``host``: 8 hex digits of the machine's name), so that a later write can tell a leftover
of a killed process from a write in progress. ``atomic_path`` removes the stale leftovers
of its own target before it writes (``clean_stale_files``). A temporary is stale when

* it was made on this machine and its process is gone, or its pid now belongs to a
  process that started after the temporary was made (the pid was reused; Linux);
* it was made on another machine (a shared folder) and is older than ``FOREIGN_AGE``;
* it has the older name without an owner (``.<name>.<32 hex>.tmp<suffix>``) and is older
  than ``UNOWNED_AGE``.

``write_json_atomic`` writes strict JSON: NaN and ±Inf become ``null`` (see
``finite_or_null``) and the file holds no ``NaN``/``Infinity`` token.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
FOREIGN_AGE = 7 * 24 * 3600.0  # seconds: a temporary of another machine is kept this long
UNOWNED_AGE = 24 * 3600.0  # seconds: an old-style temporary without owner is kept this long
OWNER = r"(?P<pid>\d+)-(?P<host>[0-9a-f]{8})-(?P<rand>[0-9a-f]{16})"


def owner_tag() -> str:
    """``<pid>-<host>-<random>``: who makes a temporary, unique per call."""
    return f"{os.getpid()}-{HOST}-{uuid.uuid4().hex[:16]}"


def _started_at(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().split("\n")
                    if line.startswith("btime "))
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, starttime
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def owner_alive(pid: int, host: str, made_at: float) -> bool:
    """Whether the process that made a temporary at ``made_at`` may still be running."""
    if host != HOST:
        return time.time() - made_at < FOREIGN_AGE
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user
    started = _started_at(pid)
    return started is None or started <= made_at + 2.0  # a later start: the pid was reused


def is_stale(path: Path, match: re.Match | None) -> bool:
    """Whether the temporary at ``path`` (its name parsed by ``match``) is a dead leftover."""
    try:
        made_at = path.lstat().st_mtime
    except FileNotFoundError:
        return False
    if match is None or match.groupdict().get("pid") is None:
        return time.time() - made_at > UNOWNED_AGE
    return not owner_alive(int(match["pid"]), match["host"], made_at)


def _file_temp_pattern(name: str | None) -> re.Pattern:
    """Temporaries of the target ``name`` (any target: None), owned or the older owner-less."""
    stem = ".+" if name is None else re.escape(name)
    return re.compile(rf"^\.{stem}\.(?:{OWNER}|[0-9a-f]{{32}})\.tmp(?:\.[^.]*)?$")


def clean_stale_files(folder: Path, name: str | None) -> list[Path]:
    """Remove the stale file temporaries of target ``name`` (None: of every target) in
    ``folder``; the removed paths."""
    pattern, removed = _file_temp_pattern(name), []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError, PermissionError):
        for entry in os.scandir(folder):
            match = pattern.match(entry.name)
            if match and entry.is_file(follow_symlinks=False) and is_stale(Path(entry.path),
                                                                            match):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _fsync(path: Path) -> None:
    """Flush a written file's bytes to the disk (a folder is left to its files)."""
    if path.is_file():
        fd = os.open(path, os.O_RDWR)  # a writable handle: Windows' _commit needs one
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a rename into it) to the disk, where the system allows."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix): fsynced and moved onto ``path``, or
    deleted when the block raises."""
    path = Path(path)
    clean_stale_files(path.parent, path.name)
    tmp = path.with_name(f".{path.name}.{owner_tag()}.tmp{path.suffix}")
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


def finite_or_null(data):
    """``data`` with every NaN/±Inf float replaced by ``None``, NumPy scalars and arrays as
    Python numbers and lists."""
    if isinstance(data, dict):
        return {str(k): finite_or_null(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite_or_null(v) for v in data]
    if hasattr(data, "tolist") and not isinstance(data, (str, bytes)):
        return finite_or_null(data.tolist())  # a NumPy scalar or array
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return data


def write_json_atomic(path, data) -> None:
    """Write ``data`` as strict JSON to ``path`` atomically (NaN/±Inf written as ``null``)."""
    text = json.dumps(finite_or_null(data), indent=1, allow_nan=False)
    with atomic_open(path, "x") as f:
        f.write(text)
