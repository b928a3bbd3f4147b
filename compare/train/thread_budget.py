"""One thread budget for both twins, so that their timings compare like with like.

The handmade twin's arithmetic runs in NumPy's BLAS (OpenBLAS, MKL: their own thread pools,
sized by ``OMP_NUM_THREADS`` & co. at start-up), the torch twin's in torch's intra-op pool
(``torch.set_num_threads``). Left alone the two need not match: on a busy 2-core machine,
a 2-8-1 net on two moons, torch's own pool of two threads took 0.22 s per epoch against
NumPy's 0.0098 s; with one thread each, 0.028 s against 0.0079 s (docs/training.md).
``thread_budget(n)`` sets both, torch's with ``torch.set_num_threads(n)`` and every
BLAS/OpenMP pool with ``threadpoolctl.threadpool_limits(n)``, and puts both back after.
"""

from __future__ import annotations

import contextlib
import numbers


def check_threads(threads) -> None:
    """ValueError unless ``threads`` is None or an integer >= 1."""
    if threads is not None and (isinstance(threads, bool)
                                or not isinstance(threads, numbers.Integral) or threads < 1):
        raise ValueError(f"threads must be an integer >= 1 or None, got {threads!r}")


@contextlib.contextmanager
def thread_budget(threads: int | None):
    """Within the block, torch and every BLAS/OpenMP pool use ``threads`` threads (None:
    leave both as they are); yields the budget (None when left alone)."""
    check_threads(threads)
    if threads is None:
        yield None
        return
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            yield threads
    finally:
        torch.set_num_threads(before)
