"""How this suite runs in parallel (tests/conftest.py): slow tests first, one thread per worker."""

import os

import pytest


def first_fast_then_slow(items) -> list[str]:
    """The node ids of slow tests collected after a test that is not slow (none: in order)."""
    seen_fast, late = False, []
    for item in items:
        slow = item.get_closest_marker("slow") is not None
        seen_fast = seen_fast or not slow
        if slow and seen_fast:
            late.append(item.nodeid)
    return late


class _Item:
    """A collected test as ``first_fast_then_slow`` reads it: a node id and its markers."""

    def __init__(self, nodeid, slow):
        self.nodeid, self._slow = nodeid, slow

    def get_closest_marker(self, name):
        return object() if name == "slow" and self._slow else None


def test_the_slow_tests_are_collected_first(request):
    items = request.session.items
    if not any(item.get_closest_marker("slow") for item in items):
        pytest.skip("no slow test was collected in this run")
    assert first_fast_then_slow(items) == []


def test_a_slow_test_after_a_fast_one_is_found():
    items = [_Item("a", True), _Item("b", False), _Item("c", True)]
    assert first_fast_then_slow(items) == ["c"]


@pytest.mark.skipif(not os.environ.get("PYTEST_XDIST_WORKER"), reason="only under -n (xdist)")
def test_an_xdist_worker_keeps_to_one_thread():
    import torch
    from threadpoolctl import threadpool_info

    if os.environ.get("OMP_NUM_THREADS", "1") != "1":
        pytest.skip("the caller chose OMP_NUM_THREADS; conftest leaves it")
    assert torch.get_num_threads() == 1
    pools = {info["internal_api"]: info["num_threads"] for info in threadpool_info()}
    assert pools and set(pools.values()) == {1}, pools
