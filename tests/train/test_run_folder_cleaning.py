"""Leftovers of a killed writer are cleaned at the next start, and only those: the rule is
the owner's pid (gone, or reused by a later process) written into every temporary's name."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from handgrad.bookkeeping import atomic
from handgrad.bookkeeping.folder import FolderWriter, clean_stale

HOST = atomic.HOST
LINUX = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


@pytest.fixture(scope="module")
def dead_pid():
    """The pid of a process that has exited (not reused within the test's few seconds)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _tag(pid, host=HOST, rand="0123456789abcdef"):
    return f"{pid}-{host}-{rand}"


def _leftover(folder: Path, name: str, *, file=False) -> Path:
    path = folder / name
    if file:
        path.write_bytes(b"half a file")
    else:
        path.mkdir()
        (path / "params.npz").write_bytes(b"half a run")
    return path


def test_a_dead_writers_temporaries_and_lock_are_removed(tmp_path, dead_pid):
    tmp = _leftover(tmp_path, f".run.tmp-{_tag(dead_pid)}")
    lock = tmp_path / ".run.lock"
    lock.mkdir()
    (lock / f"owner-{_tag(dead_pid)}").touch()
    part = _leftover(tmp_path, f".params.npz.{_tag(dead_pid)}.tmp.npz", file=True)
    keep = _leftover(tmp_path, "run-2")  # a finished folder is never touched
    clean_stale(tmp_path)
    assert not tmp.exists() and not lock.exists() and not part.exists() and keep.exists()
    assert sorted(os.listdir(tmp_path)) == ["run-2"]  # the trash names went too


def test_a_live_writers_temporaries_are_kept(tmp_path):
    mine = _tag(os.getpid())
    parent = _tag(os.getppid())  # alive, and started before these files were made
    paths = [_leftover(tmp_path, f".run.tmp-{mine}"), _leftover(tmp_path, f".b.tmp-{parent}"),
             _leftover(tmp_path, f".params.npz.{parent}.tmp.npz", file=True)]
    clean_stale(tmp_path)
    assert all(p.exists() for p in paths)


@LINUX
def test_a_reused_pid_does_not_keep_a_temporary_alive(tmp_path):
    live = os.getppid()  # running, but it started long after 1970
    tmp = _leftover(tmp_path, f".run.tmp-{_tag(live)}")
    os.utime(tmp, (0, 0))
    clean_stale(tmp_path)
    assert not tmp.exists()


def test_another_machines_temporaries_wait_for_their_age(tmp_path, dead_pid):
    young = _leftover(tmp_path, f".a.tmp-{_tag(dead_pid, host='00000000')}")
    old = _leftover(tmp_path, f".b.tmp-{_tag(dead_pid, host='00000000')}")
    os.utime(old, (time.time() - atomic.FOREIGN_AGE - 60,) * 2)
    clean_stale(tmp_path)
    assert young.exists() and not old.exists()


def test_owner_less_file_temporaries_wait_for_their_age(tmp_path):
    young = _leftover(tmp_path, f".a.npz.{'1' * 32}.tmp.npz", file=True)
    old = _leftover(tmp_path, f".b.npz.{'2' * 32}.tmp.npz", file=True)
    os.utime(old, (time.time() - atomic.UNOWNED_AGE - 60,) * 2)
    clean_stale(tmp_path)
    assert young.exists() and not old.exists()


def test_an_old_folder_aside_is_restored_when_the_new_one_never_arrived(tmp_path, dead_pid):
    aside = _leftover(tmp_path, f".run.old-{_tag(dead_pid)}")
    twice = _leftover(tmp_path, f".done.old-{_tag(dead_pid)}")
    _leftover(tmp_path, "done")  # the new one arrived: the old one is deleted
    clean_stale(tmp_path)
    assert (tmp_path / "run" / "params.npz").read_bytes() == b"half a run"
    assert not aside.exists() and not twice.exists()
    assert sorted(os.listdir(tmp_path)) == ["done", "run"]


def test_a_live_lock_refuses_a_second_writer_and_names_its_pid(tmp_path):
    with FolderWriter(tmp_path / "run", what="--out") as first:
        with pytest.raises(ValueError, match=f"is being written by another run \\(pid "
                                             f"{os.getpid()}\\)"):
            FolderWriter(tmp_path / "run", what="--out").open()
        assert first.path.exists()
    assert (tmp_path / "run").is_dir()


def test_a_dead_lock_is_taken_over(tmp_path, dead_pid):
    lock = tmp_path / ".run.lock"
    lock.mkdir()
    (lock / f"owner-{_tag(dead_pid)}").touch()
    with FolderWriter(tmp_path / "run") as w:
        (w.path / "run.json").write_text("{}")
    assert sorted(os.listdir(tmp_path)) == ["run"]


def test_the_next_write_of_a_file_cleans_its_dead_temporaries(tmp_path, dead_pid):
    part = _leftover(tmp_path, f".r.json.{_tag(dead_pid)}.tmp.json", file=True)
    other = _leftover(tmp_path, f".s.json.{_tag(dead_pid)}.tmp.json", file=True)
    atomic.write_json_atomic(tmp_path / "r.json", {"a": 1})
    assert not part.exists() and other.exists()  # only its own target's


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root writes into a read-only folder")
def test_a_read_only_parent_is_refused_at_open(tmp_path):
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(ValueError, match="--out .*run cannot be written"):
            FolderWriter(tmp_path / "run", what="--out").open()
    finally:
        tmp_path.chmod(0o755)


def test_a_parent_that_is_a_file_is_refused_at_open(tmp_path):
    (tmp_path / "notes").write_text("a file")
    with pytest.raises(ValueError, match=f"--out {tmp_path}/notes/run cannot be written: "
                                         f"{tmp_path}/notes is a file, not a folder"):
        FolderWriter(tmp_path / "notes" / "run", what="--out").open()
