"""handgrad's pytest plugin (entry point ``pytest11``, active wherever handgrad is installed).

* ``handgrad_rng``: a ``numpy.random.Generator`` for the test, seeded from the test file's
  name and the test's name with its parameters (so every run draws the same numbers,
  whatever folder pytest runs from) or from ``--handgrad-seed N``;
* ``handgrad_seed``: that seed, as an int;
* on failure, the report names the seed and the command-line option that replays it;
* a test that fails in an ``assert_...`` function gets its check saved
  (``report.save``) under ``.handgrad/replays/`` of the rootdir, or ``--handgrad-replays
  DIR`` (``--handgrad-replays ''``: none saved), and the report says where and how to rerun it.

The ``assert_...`` functions of ``compare`` raise ``AssertionError`` whose message is the
report table, so a failing check reads as the table in pytest's output. This module
imports NumPy and pytest only: it loads with every pytest run in the environment.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import numpy as np
import pytest

SEED_KEY = pytest.StashKey[int]()
REPLAYS = ".handgrad/replays"  # under the rootdir


def pytest_addoption(parser):
    group = parser.getgroup("handgrad")
    group.addoption("--handgrad-seed", type=int, default=None, metavar="N",
                    help="seed every handgrad_rng with N (default: a seed derived from each "
                         "test's id, printed when the test fails)")
    group.addoption("--handgrad-replays", default=None, metavar="DIR",
                    help=f"where a failing assert_... check is saved for replay (default: "
                         f"{REPLAYS} under the rootdir; '' saves none)")


def _seed_for(config, node) -> int:
    given = config.getoption("--handgrad-seed")
    if given is not None:
        if given < 0:
            raise pytest.UsageError(f"--handgrad-seed must be >= 0, got {given}")
        return given
    key = f"{node.path.name}::{node.name}"  # not the nodeid: it depends on the rootdir
    return zlib.crc32(key.encode())


@pytest.fixture
def handgrad_seed(request) -> int:
    """The seed of this test's ``handgrad_rng``."""
    seed = _seed_for(request.config, request.node)
    request.node.stash[SEED_KEY] = seed
    return seed


@pytest.fixture
def handgrad_rng(handgrad_seed) -> np.random.Generator:
    """A seeded ``numpy.random.Generator``; its seed is printed if the test fails."""
    return np.random.default_rng(handgrad_seed)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    seed = item.stash.get(SEED_KEY, None)
    if report.failed and seed is not None:
        report.sections.append(("handgrad", f"handgrad_rng seed {seed}: replay with "
                                            f"pytest '{item.nodeid}' --handgrad-seed {seed}"))
    failed_check = getattr(call.excinfo.value, "report", None) if call.excinfo else None
    if report.failed and getattr(failed_check, "case", None) is not None:
        report.sections.append(("handgrad", _save(item, failed_check)))


def _save(item, check) -> str:
    """Save the failing check of ``item``; the line that says where and how to rerun it."""
    folder = item.config.getoption("--handgrad-replays")
    if folder == "":
        return "failing check not saved (--handgrad-replays '')"
    folder = Path(folder) if folder is not None else item.config.rootpath / REPLAYS
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_")[:150]
    try:
        npz, meta = check.save(folder / name)
    except Exception as exc:  # saving must not hide the failure itself
        return f"failing check not saved: {type(exc).__name__}: {exc}"
    how = (f"rerun: handgrad verify --replay {meta}" if check.case.door == "check_gradients"
           else f"its arrays and settings: compare.load_case({str(meta)!r})")
    return f"failing check saved to {npz} and {meta.name}; {how}"
