"""The errors both twins raise, defined once so that callers catch one class.

``NonFiniteParameterError``: a parameter holds NaN/Inf (a ValueError: bad input when it
is handed in that way; a Trainer turns it into divergence after its first step).
``DivergenceError``: training diverged: a non-finite loss, gradient or parameter, or a
loss grown beyond ``divergence_factor`` times the first step's (``bookkeeping.training``).
"""

from __future__ import annotations

import numpy as np


class NonFiniteParameterError(ValueError):
    """A parameter holds NaN/Inf (a ValueError; the Trainer turns it into divergence)."""


class DivergenceError(FloatingPointError):
    """Training diverged: ``step`` and ``epoch`` say where, ``rule`` which rule fired.

    ``rule`` is ``"non-finite"`` (a NaN/Inf loss, gradient or parameter) or ``"factor"``
    (the loss grew beyond ``divergence_factor`` times the first step's loss). The message
    is one line: ``training diverged: <what> at step S (epoch E)<detail>; the learning
    rate (lr) is probably too large: try a tenth of it``.
    """

    def __init__(self, what: str, step: int, epoch: int, lr, *, rule: str = "non-finite",
                 detail: str = ""):
        self.step, self.epoch, self.rule = step, epoch, rule
        super().__init__(f"training diverged: {what} at step {step} (epoch {epoch}){detail}; "
                         f"the learning rate ({lr}) is probably too large: try a tenth of it")


def check_finite_params(params: dict, what: str = "parameter") -> None:
    """NonFiniteParameterError naming the first entry of ``params`` that holds NaN/Inf."""
    for key, p in params.items():
        bad = int(np.size(p) - np.count_nonzero(np.isfinite(p)))
        if bad:
            raise NonFiniteParameterError(f"{what} {key} holds {bad} NaN/Inf value(s); "
                                          "expected finite numbers")
