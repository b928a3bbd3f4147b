"""The errors both twins raise, defined once so that callers catch one class.

``NonFiniteParameterError``: a parameter holds NaN/Inf (a ValueError: bad input when it
is handed in that way; a Trainer turns it into divergence after its first step).
``DivergenceError``: training produced a non-finite loss or gradient.
"""

from __future__ import annotations


class NonFiniteParameterError(ValueError):
    """A parameter holds NaN/Inf (a ValueError; the Trainer turns it into divergence)."""


class DivergenceError(FloatingPointError):
    """Training diverged: ``step`` and ``epoch`` say where, the message says which rule."""

    def __init__(self, what: str, step: int, epoch: int, lr):
        self.step, self.epoch = step, epoch
        super().__init__(f"training diverged: {what} at step {step} (epoch {epoch}); the "
                         f"learning rate ({lr}) is probably too large: try a tenth of it")
