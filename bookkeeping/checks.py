"""Checks of a model's shape that are not mathematics, written once for both twins:
the layer sizes, and which output activation can feed which loss."""

from __future__ import annotations

import numbers

import numpy as np


def check_sizes(sizes) -> list[int]:
    """``sizes`` as a list of ints: at least two, each a positive integer (not a bool).

    A list, tuple or NumPy array is accepted; anything else (a string, a set, a bare
    integer) is a ValueError naming what was given.
    """
    items = list(sizes) if isinstance(sizes, (list, tuple, np.ndarray)) else []
    if len(items) < 2 or any(isinstance(s, bool) or not isinstance(s, numbers.Integral)
                             or s < 1 for s in items):
        raise ValueError(f"sizes must be [n_in, ..., n_out]: at least two positive integers, "
                         f"got {sizes!r}")
    return [int(s) for s in items]


# What each loss reads from the output layer; the output activations that cannot give it are
# refused at construction. loss -> (what it reads, "only"/"not", those activations, instead).
# bce reads independent probabilities: softmax ties them (and is 1 for one output). A loss on
# logits refuses a squashed output (the double-softmax slip); a loss that reads the sign, an
# output that is never negative (class 0 could never win).
NEVER_NEGATIVE = ("relu", "sigmoid", "softmax", "softplus", "step")
OUTPUT_RULES = {
    "bce": ("probabilities in (0, 1)", "only", ("sigmoid",),
            "for raw scores use 'bce_with_logits'; for a softmax over classes, 'nll'"),
    "nll": ("class probabilities that sum to 1", "only", ("softmax",),
            "for raw scores use 'cross_entropy'"),
    "cross_entropy": ("raw scores (logits), it applies softmax itself", "not",
                      ("sigmoid", "softmax"), "use 'identity'; for softmax probabilities, 'nll'"),
    "bce_with_logits": ("raw scores of either sign, it applies sigmoid itself", "not",
                        NEVER_NEGATIVE, "use 'identity'; for sigmoid probabilities, 'bce'"),
    "perceptron": ("raw scores of either sign (the sign is the class)", "not", NEVER_NEGATIVE,
                   "use 'identity'"),
}


def check_loss_for_output(loss: str, activation: str) -> str:
    """``loss``; a ValueError where the output ``activation`` cannot give what it reads."""
    reads, mode, names, hint = OUTPUT_RULES.get(loss, ("", "not", (), ""))
    if (activation in names) != (mode == "only"):
        listed = " or ".join(", ".join(map(repr, names)).rsplit(", ", 1))
        raise ValueError(f"loss {loss!r} needs {reads}: the output activation must "
                         f"{'be' if mode == 'only' else 'not be'} {listed}, got {activation!r} "
                         f"({hint})")
    return loss
