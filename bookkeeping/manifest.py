"""A folder's manifest: the size and SHA-256 of every file, written last, checked on load.

``manifest.json`` (strict JSON)::

    {"format": "handgrad-manifest", "version": 1,
     "files": {"run.json": {"bytes": 1890, "sha256": "9f2c..."}, ...}}

``write_manifest(folder)`` lists every plain, non-hidden file of ``folder`` (a file written
later is not in it). ``verify_file`` and ``verify_folder`` compare the files with it and
raise ``RunFolderError`` (a ValueError) naming the folder and the file: a missing manifest
(an incomplete folder), a listed file that is missing, a size that differs (truncated or
extended), a hash that differs (altered, bit-flipped, or replaced by another run's file),
and a file that belongs to a run folder (``expected``) but is not listed (mixed in later).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from handgrad.bookkeeping.atomic import write_json_atomic

MANIFEST = "manifest.json"
FORMAT, VERSION = "handgrad-manifest", 1


class RunFolderError(ValueError):
    """A run folder (or one of its files) that fails its manifest; ``path`` names it."""

    def __init__(self, path, message: str):
        self.path = Path(path)
        super().__init__(f"{path}: {message}")


def _plain_name(name) -> bool:
    """A file name without a folder part (a manifest never points outside its folder)."""
    return (isinstance(name, str) and name not in ("", ".", "..") and "/" not in name
            and os.sep not in name)


def sha256_file(path) -> str:
    """The SHA-256 of the file at ``path``, in hex (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder) -> dict:
    """Write ``folder/manifest.json`` for the plain, non-hidden files there; its content."""
    folder = Path(folder)
    files = {}
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith(".") or entry.name == MANIFEST:
            continue
        if not entry.is_file(follow_symlinks=False):
            raise RunFolderError(entry.path, "a run folder holds plain files only")
        files[entry.name] = {"bytes": entry.stat(follow_symlinks=False).st_size,
                             "sha256": sha256_file(entry.path)}
    manifest = {"format": FORMAT, "version": VERSION, "files": files}
    write_json_atomic(folder / MANIFEST, manifest)
    return manifest


def read_manifest(folder) -> dict:
    """``folder``'s manifest; RunFolderError when it is missing or not a manifest."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunFolderError(folder, f"no {MANIFEST}: the folder is incomplete (its run "
                                     "stopped before it was committed, or it was written by "
                                     "a handgrad without manifests)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunFolderError(path, f"not readable JSON ({exc})") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if (not isinstance(files, dict) or manifest.get("format") != FORMAT
            or not all(isinstance(v, dict) and {"bytes", "sha256"} <= v.keys()
                       and _plain_name(k) for k, v in files.items())):
        raise RunFolderError(path, f"not a {FORMAT} (expected {{'format', 'version', "
                                   "'files': {name: {'bytes', 'sha256'}}})")
    return manifest


def verify_file(folder, name: str, manifest: dict) -> Path:
    """Check ``folder/name`` against its manifest entry; the path, or RunFolderError."""
    path = Path(folder) / name
    entry = manifest["files"].get(name)
    if entry is None:
        raise RunFolderError(path, f"not listed in {MANIFEST}: mixed into the folder after "
                                   "its run was written")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise RunFolderError(path, f"missing: {MANIFEST} lists it, the folder is "
                                   "incomplete") from None
    if size != entry["bytes"]:
        how = "truncated" if size < entry["bytes"] else "extended"
        raise RunFolderError(path, f"{size} bytes where {MANIFEST} says {entry['bytes']}: "
                                   f"the file was {how} or replaced")
    if sha256_file(path) != entry["sha256"]:
        raise RunFolderError(path, f"its SHA-256 differs from {MANIFEST}'s: the file was "
                                   "altered (a flipped bit, an edit) or replaced by another "
                                   "run's")
    return path


def verify_folder(folder, required: Iterable[str] = (), expected: Iterable[str] = ()) -> dict:
    """Check every file ``folder``'s manifest lists, that it lists each ``required`` name,
    and that no ``expected`` name sits there unlisted; the manifest, or RunFolderError."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunFolderError(folder, "not a folder" if folder.exists() else "no such folder")
    manifest = read_manifest(folder)
    for name in required:
        if name not in manifest["files"]:
            raise RunFolderError(folder / name, f"not listed in {MANIFEST}: the folder is "
                                                "incomplete")
    for name in expected:
        if name not in manifest["files"] and os.path.lexists(folder / name):
            verify_file(folder, name, manifest)  # raises: not listed
    for name in manifest["files"]:
        verify_file(folder, name, manifest)
    return manifest
