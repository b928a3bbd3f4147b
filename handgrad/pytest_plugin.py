"""handgrad's pytest plugin (entry point ``pytest11``, active wherever handgrad is installed).

It loads with every pytest run in the environment, so loading it imports nothing but pytest
and the standard library: no NumPy, no torch and nothing of handgrad beyond this package's
lazy ``__init__``. What it offers is imported when a test asks for it:

* ``handgrad_rng``: a ``numpy.random.Generator`` for the test, seeded from the test file's
  name and the test's name with its parameters (so every run draws the same numbers, in
  whatever folder pytest runs and in whichever pytest-xdist worker) or from
  ``--handgrad-seed N`` (an integer in [0, 2**63 - 1]; anything else is a one-line usage
  error, exit code 4);
* ``handgrad_seed``: that seed, as an int;
* where a user's module hides a package handgrad needs (their ``numpy.py`` first on
  ``sys.path``), a test that uses a fixture fails at setup with one line naming the file;
* on failure, the report names the seed and the command-line option that replays it;
* a test that fails in an ``assert_...`` function gets its check saved (``report.save``)
  under ``.handgrad/replays/`` of the rootdir, or ``--handgrad-replays DIR``
  (``--handgrad-replays ''``: none saved), one pair of files per test, named from the
  test's node id, and the report says where and how to rerun it.

The ``assert_...`` functions raise ``AssertionError`` whose message is the report table, so
a failing check reads as the table in pytest's output. docs/pytest-plugin.md is the guide.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pytest

SEED_KEY = pytest.StashKey[int]()
GIVEN_SEED_KEY = pytest.StashKey["int | None"]()
SHADOW_KEY = pytest.StashKey[str]()  # what shadowing_message found, once per run
REPLAYS = ".handgrad/replays"  # under the rootdir
MAX_SEED = 2**63 - 1  # NumPy's SeedSequence takes any non-negative int; a bound keeps ids sane
NAME_LENGTH = 150  # a saved case's file name, before its suffix (file systems allow 255)


def seed_option(text: str | None) -> int | None:
    """``--handgrad-seed``'s value: an integer in [0, 2**63 - 1] (None: not given).

    Raises ``pytest.UsageError`` (exit code 4, one line that names the option) otherwise.
    """
    if text is None:
        return None
    try:
        seed = int(text)
    except ValueError:
        raise pytest.UsageError(f"--handgrad-seed: expected a non-negative integer, "
                                f"got {text!r}") from None
    if not 0 <= seed <= MAX_SEED:
        raise pytest.UsageError(f"--handgrad-seed: expected an integer in [0, 2**63 - 1], "
                                f"got {seed}")
    return seed


def pytest_addoption(parser):
    group = parser.getgroup("handgrad")
    group.addoption("--handgrad-seed", default=None, metavar="N",
                    help="seed every handgrad_rng with N, an integer in [0, 2**63 - 1] "
                         "(default: a seed derived from each test's file and name, printed "
                         "when the test fails)")
    group.addoption("--handgrad-replays", default=None, metavar="DIR",
                    help=f"where a failing assert_... check is saved for replay, one pair of "
                         f"files per test (default: {REPLAYS} under the rootdir; a relative "
                         f"DIR is taken from the current folder; '' saves none)")


def pytest_configure(config):
    """A bad ``--handgrad-seed`` is a usage error before any test runs.

    Checked here rather than by an argparse type: argparse's error comes with pytest's
    usage text around it, a usage error raised here is the one line ``ERROR: ...``.
    """
    config.stash[GIVEN_SEED_KEY] = seed_option(config.getoption("--handgrad-seed"))


def seed_for(config, node) -> int:
    """The test's seed: ``--handgrad-seed``, or the CRC-32 of its file name and test name.

    Not the node id: that depends on the rootdir, and the seed must not.
    """
    given = config.stash.get(GIVEN_SEED_KEY, None)
    if given is not None:
        return given
    key = f"{node.path.name}::{node.name}"
    return zlib.crc32(key.encode())


def refuse_shadowed(config) -> None:
    """Fail the test where a user's module hides a package handgrad needs.

    Looked up once per run (a few milliseconds), at the first test that uses a fixture.
    """
    if SHADOW_KEY not in config.stash:
        from handgrad.shadowing import shadowing_message  # only once a fixture is used

        config.stash[SHADOW_KEY] = shadowing_message()
    if config.stash[SHADOW_KEY]:
        pytest.fail(config.stash[SHADOW_KEY], pytrace=False)


@pytest.fixture
def handgrad_seed(request) -> int:
    """The seed of this test's ``handgrad_rng``."""
    refuse_shadowed(request.config)
    seed = seed_for(request.config, request.node)
    request.node.stash[SEED_KEY] = seed
    return seed


@pytest.fixture
def handgrad_rng(handgrad_seed):
    """A seeded ``numpy.random.Generator``; its seed is printed if the test fails."""
    import numpy as np

    return np.random.default_rng(handgrad_seed)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    failed_check = getattr(call.excinfo.value, "report", None) if call.excinfo else None
    if report.when == "call" and getattr(failed_check, "case", None) is None:
        remove_stale_replay(item)
    if not report.failed:
        return
    seed = item.stash.get(SEED_KEY, None)
    if seed is not None:
        report.sections.append(("handgrad", f"handgrad_rng seed {seed}: replay with "
                                            f"pytest '{item.nodeid}' --handgrad-seed {seed}"))
    if getattr(failed_check, "case", None) is not None:
        report.sections.append(("handgrad", save_failing_check(item, failed_check)))


def replay_name(nodeid: str) -> str:
    """A file name from a test's node id, parameters included, with no dot in it.

    ``tests/test_net.py::test_backward[relu-2]`` -> ``tests_test_net_py__test_backward_relu-2_``:
    a dot would be taken for a suffix and cut by ``with_suffix``, so that every test of one
    file would land in one pair of files. A name longer than the file system allows keeps its
    end (the test's name) and a CRC-32 of the whole id, so two long ids stay apart.
    """
    name = re.sub(r"[^A-Za-z0-9_-]", "_", nodeid)
    if len(name) > NAME_LENGTH:
        name = f"{zlib.crc32(nodeid.encode()):08x}_{name[-(NAME_LENGTH - 9):]}"
    return name


def replays_folder(config) -> Path | None:
    """Where failing checks are saved: ``--handgrad-replays DIR`` (relative to the folder
    pytest was started in), ``.handgrad/replays`` under the rootdir, or None (``''``)."""
    folder = config.getoption("--handgrad-replays")
    if folder == "":
        return None
    return (config.invocation_params.dir / folder if folder is not None
            else config.rootpath / REPLAYS)


def remove_stale_replay(item) -> None:
    """This test ran and saved no case (it passed, or failed elsewhere): a pair of files
    that an earlier run of it left would now point at a failure that is not this one."""
    folder = replays_folder(item.config)
    if folder is None or not folder.is_dir():
        return
    for suffix in (".npz", ".json"):
        (folder / f"{replay_name(item.nodeid)}{suffix}").unlink(missing_ok=True)


def save_failing_check(item, check) -> str:
    """Save the failing check of ``item``; the line that says where and how to rerun it."""
    folder = replays_folder(item.config)
    if folder is None:
        return "failing check not saved (--handgrad-replays '')"
    try:
        npz, meta = check.save(folder / replay_name(item.nodeid))
    except Exception as exc:  # saving must not hide the failure itself
        return f"failing check not saved: {type(exc).__name__}: {exc}"
    return (f"failing check saved to {npz} and {meta.name}; "
            f"rerun: handgrad verify --replay {meta}")
