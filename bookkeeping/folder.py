"""A folder written as one unit: filled in a hidden sibling, renamed into place at the end.

    with FolderWriter("runs/xor-h8-sgd-float64", unique=True) as w:
        save(w.path / "run.json")            # w.path: the hidden temporary folder
    w.target                                 # the folder as committed

Opening (before any work, so that a bad destination is refused at once):

1. the parent folder is created if needed, and the stale leftovers of killed writers in it
   are removed (``clean_stale``);
2. the name is claimed by ``os.mkdir`` of ``.<name>.lock`` (atomic: of two writers, one
   gets it), holding an empty file ``owner-<pid>-<host>-<random>``. With ``unique`` the
   first free name of ``name``, ``name-2``, ``name-3``, ... is claimed; otherwise a target
   that is being written by a live process, a symbolic link, a file, or a folder that is
   not empty is refused (``FolderError``), unless ``overwrite`` is given and the folder is
   a finished one (it holds one of ``replaceable``, and no sub-folder);
3. the temporary folder ``.<name>.tmp-<pid>-<host>-<random>`` is made beside the target.

Committing: ``manifest.json`` is written last (``bookkeeping.manifest``), the folder is
fsynced, then renamed onto the target (``os.rename`` of a folder is atomic; onto an empty
folder it replaces it). With ``overwrite`` the older folder is first renamed aside to
``.<name>.old-<owner>``, the new one renamed in, and the old one deleted: no file of the
older folder survives. SIGINT/SIGTERM are held during these renames. If another writer
filled the target meanwhile, a ``unique`` writer moves on to the next free name and any
other refuses (``FolderError``) and deletes its temporary. Leaving the ``with`` block by an
exception (also ``KeyboardInterrupt``) deletes the temporary: nothing reaches the target.

A leftover is stale when ``bookkeeping.atomic.is_stale`` says so: its owner process (pid and
host in its name) is gone or its pid was reused; made on another machine and older than
``FOREIGN_AGE``; a lock without owner file older than ``LOCK_GRACE``. A stale ``.tmp-`` or
``.trash-`` folder is deleted; a stale ``.old-`` folder is renamed back onto its target when
the target is missing (the kill came between the two renames), otherwise deleted.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import signal
import threading
import time
from pathlib import Path

from handgrad.bookkeeping.atomic import OWNER, clean_stale_files, fsync_dir, is_stale, owner_tag
from handgrad.bookkeeping.manifest import write_manifest

LOCK_GRACE = 60.0  # seconds: a lock folder whose owner file never appeared is then stale
MAX_NAMES = 10_000  # name, name-2, ..., name-10000
SIBLING = re.compile(rf"^\.(?P<name>.+)\.(?P<kind>tmp|old|trash)-{OWNER}$")
LOCK = re.compile(r"^\.(?P<name>.+)\.lock$")
OWNER_FILE = re.compile(rf"^owner-{OWNER}$")


class FolderError(ValueError):
    """A destination that cannot be written (the message names ``what`` and the path)."""


def _discard(path: Path, tag: str) -> None:
    """Delete a folder: renamed to a unique trash name first, so only one deleter acts."""
    trash = path.with_name(f".{path.name.lstrip('.')}.trash-{tag}")
    try:
        os.rename(path, trash)
    except OSError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _lock_owner(lock: Path) -> re.Match | None:
    with contextlib.suppress(OSError):
        for name in os.listdir(lock):
            if match := OWNER_FILE.match(name):
                return match
    return None


def _lock_stale(lock: Path) -> bool:
    owner = _lock_owner(lock)
    if owner is None:
        with contextlib.suppress(FileNotFoundError):
            return time.time() - lock.lstat().st_mtime > LOCK_GRACE
        return False
    return is_stale(lock, owner)


def clean_stale(folder) -> list[str]:
    """Remove the stale leftovers of killed writers in ``folder``; the names acted on."""
    folder, done, tag = Path(folder), [], owner_tag()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return done
    for entry in entries:
        path, sibling, lock = Path(entry.path), SIBLING.match(entry.name), LOCK.match(entry.name)
        if sibling and entry.is_dir(follow_symlinks=False) and is_stale(path, sibling):
            target = folder / sibling["name"]
            if sibling["kind"] == "old" and not os.path.lexists(target):
                with contextlib.suppress(OSError):
                    os.rename(path, target)  # the new folder never arrived: restore the old
                    done.append(entry.name)
                    continue
            _discard(path, tag)
            done.append(entry.name)
        elif lock and entry.is_dir(follow_symlinks=False) and _lock_stale(path):
            _discard(path, tag)
            done.append(entry.name)
    done += [p.name for p in clean_stale_files(folder, None)]
    return done


@contextlib.contextmanager
def _signals_held():
    """SIGINT and SIGTERM wait (are delivered afterwards) while the block renames."""
    sigs = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not \
            threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class FolderWriter:
    """Write a folder as one unit (see the module docstring); a context manager."""

    def __init__(self, target, *, overwrite: bool = False, unique: bool = False,
                 what: str = "folder", hint: str = "overwrite=True", manifest: bool = True,
                 replaceable: tuple[str, ...] = ("manifest.json", "run.json")):
        if not os.fspath(target):
            raise FolderError(f"{what} must name a folder, got ''")
        self.given, self.what, self.hint = os.fspath(target), what, hint
        self.target = Path(os.path.abspath(self.given))  # symbolic links are not followed
        self.overwrite, self.unique, self.manifest = overwrite, unique, manifest
        self.replaceable, self.tag = replaceable, owner_tag()
        self.base, self.index = self.target, 1  # unique: the name numbered from, its number
        self.path: Path | None = None  # the temporary folder, once open
        self.lock: Path | None = None
        self.committed = False

    def _refuse(self, why: str, path=None) -> FolderError:
        return FolderError(f"{self.what} {path or self.given} {why}")

    def _check_target(self, target: Path) -> None:
        if os.path.islink(target):
            if not os.path.exists(target):
                raise self._refuse(f"is a dangling symbolic link (to {os.readlink(target)!r})")
            raise self._refuse("is a symbolic link: name the folder itself")
        if not os.path.lexists(target):
            return
        if not target.is_dir():
            raise self._refuse("is an existing file, not a folder")
        try:
            entries = list(os.scandir(target))
        except OSError as exc:
            raise self._refuse(f"cannot be read: {exc.strerror}") from None
        if not entries:
            return  # an empty folder: nothing of it is lost
        if not self.overwrite:
            raise self._refuse(f"already exists and is not empty; {self.hint} replaces it as "
                               "a whole")
        cwd, real = Path.cwd().resolve(), Path(os.path.realpath(target))
        if not any(e.name in self.replaceable for e in entries) or any(
                e.is_dir(follow_symlinks=False) for e in entries) or real in (cwd, *cwd.parents):
            raise self._refuse(f"is not a finished run folder (none of {list(self.replaceable)}"
                               f", or it holds folders): {self.hint} replaces only a run folder")

    def _lock(self, target: Path) -> Path | None:
        """Claim ``target``'s name (``.<name>.lock``); None when a live writer holds it."""
        lock = target.with_name(f".{target.name}.lock")
        for _ in range(3):
            try:
                with _signals_held():  # a Ctrl-C here must not leave a lock without owner
                    os.mkdir(lock)
                    with open(lock / f"owner-{self.tag}", "x"):
                        pass
            except FileExistsError:
                if not _lock_stale(lock):
                    return None
                _discard(lock, self.tag)
                continue
            except OSError as exc:
                raise self._refuse(f"cannot be written: {exc.strerror} in "
                                   f"{target.parent}") from None
            return lock
        return None

    def _claim(self, start: int = 1) -> int:
        base = self.base
        for i in range(start, MAX_NAMES + 1):
            name = base if i == 1 else base.with_name(f"{base.name}-{i}")
            if os.path.lexists(name) or (lock := self._lock(name)) is None:
                continue
            if os.path.lexists(name):  # committed between the look and the claim
                _discard(lock, self.tag)
                continue
            self.target, self.lock = name, lock
            return i
        raise self._refuse(f"and its {MAX_NAMES} numbered variants are all taken", self.base)

    def open(self) -> Path:
        """Check and claim the target, make the temporary folder; its path."""
        parent = self.target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise self._refuse(f"cannot be written: {parent} is a file, not a folder") from None
        except OSError as exc:
            raise self._refuse(f"cannot be written: {exc.strerror} ({exc.filename})") from None
        clean_stale(parent)
        if self.unique:
            self.index = self._claim()
        else:
            self._check_target(self.target)
            self.lock = self._lock(self.target)
            if self.lock is None:
                owner = _lock_owner(self.target.with_name(f".{self.target.name}.lock"))
                raise self._refuse(f"is being written by another run (pid "
                                   f"{owner['pid'] if owner else 'unknown'})")
            try:
                self._check_target(self.target)  # a run may have committed before the claim
            except FolderError:
                self._release()
                raise
        try:
            path = parent / f".{self.target.name}.tmp-{self.tag}"
            os.mkdir(path)
        except OSError as exc:
            self._release()
            raise self._refuse(f"cannot be written: {exc.strerror} in {parent}") from None
        self.path = path
        return path

    def _release(self) -> None:
        if self.lock is not None:
            _discard(self.lock, self.tag)
            self.lock = None

    def abort(self) -> None:
        """Delete the temporary folder and give the name back; the target is untouched."""
        if self.path is not None and not self.committed:
            shutil.rmtree(self.path, ignore_errors=True)
        self._release()

    def commit(self) -> Path:
        """Manifest, fsync, rename into place (see the module docstring); the target."""
        if self.manifest:
            write_manifest(self.path)
        fsync_dir(self.path)
        with _signals_held():
            while True:
                aside, target = None, self.target
                if self.overwrite and target.is_dir() and any(os.scandir(target)):
                    aside = target.with_name(f".{target.name}.old-{self.tag}")
                    os.rename(target, aside)
                try:
                    os.rename(self.path, target)
                    break
                except OSError as exc:
                    if aside is not None:
                        with contextlib.suppress(OSError):
                            os.rename(aside, target)
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR,
                                         errno.EISDIR):
                        raise
                    if not self.unique:
                        raise self._refuse("was written by another run meanwhile; this run "
                                           "wrote nothing") from None
                    self._release()
                    self.index = self._claim(self.index + 1)
            self.committed = True
            fsync_dir(target.parent)
            if aside is not None:
                shutil.rmtree(aside, ignore_errors=True)
            self._release()
        return self.target

    def __enter__(self) -> FolderWriter:
        self.open()
        return self

    def __exit__(self, kind, exc, tb) -> None:
        try:
            if kind is None:
                self.commit()
        finally:
            self.abort()
