"""A spy on a trainer's steps: the thread budgets that torch and every BLAS pool ran under.

Shared by the thread-budget tests of the library (tests/train/test_side_by_side.py) and of
the command line (tests/cli/test_train_learning.py).
"""

from __future__ import annotations

import torch


def spy_on_threads(monkeypatch, trainer, seen: list) -> None:
    """Record, at each step of ``trainer``, torch's thread count and every BLAS pool's."""
    from threadpoolctl import threadpool_info

    step = trainer.step

    def spied(self, X, y):
        blas = {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}
        seen.append((torch.get_num_threads(), blas))
        return step(self, X, y)
    monkeypatch.setattr(trainer, "step", spied)
