"""Issue 6's bad-input corpus: handmade's losses, and its activation lookup, called directly.

How a case reads, and the other rooms' files: tests/bad_input.py.
"""

import numpy as np
import pytest

from handgrad import handmade
from tests.bad_input import ACTS, LOSSES, C, T, V, Y, case, check

SHAPES = [  # 1. X vs W, y vs the output
    case("loss-direct-y", lambda: handmade.get_loss("mse").value(np.zeros((5, 2)), Y), V,
         "mse", "(5, 2)", "(5,)"),
    case("loss-direct-out-1d", lambda: handmade.get_loss("bce").grad(np.zeros(5), Y), V,
         "bce", "out must have shape (m, k)", "(5,)"),
]

LABELS_01 = [  # 2. bce labels outside {0,1} (soft targets in [0, 1] are torch's, accepted)
    case("loss-direct-bce", lambda: handmade.get_loss("bce").value(np.full((5, 1), .5), Y * 2),
         V, "bce", "[0, 1]", "max 2"),
    case("loss-direct-with-logits", lambda: handmade.get_loss("bce_with_logits").grad(
        np.zeros((5, 1)), -Y), V, "bce_with_logits", "[0, 1]", "min -1"),
]

CLASSES = [  # 3. class indices out of range for cross_entropy / nll
    case("loss-direct", lambda: handmade.get_loss("cross_entropy").value(np.zeros((5, 3)), C + 5),
         V, "cross_entropy", "[0, 3)", "max 7"),
]

EMPTY = [  # 5. empty batches
    case("loss-direct", lambda: handmade.get_loss("mse").value(np.zeros((0, 1)), Y[:0]), V,
         "mse", "out is an empty batch"),
]

DTYPES = [  # 6. integer, bool, text or object arrays where floats are needed
    case("loss-direct-int-out", lambda: handmade.get_loss("mse").grad(np.zeros((5, 1), int), Y),
         T, "mse", "out must be a floating-point array", "int64"),
]

NAMES = [  # 7. unknown names: the message lists the valid ones
    case("get-activation", lambda: handmade.get_activation("Tanh"), V, "'Tanh'", *ACTS),
    case("get-loss", lambda: handmade.get_loss("l1"), V, "unknown loss 'l1'", *LOSSES),
    case("loss-reduction", lambda: handmade.get_loss("mse").value(np.zeros((5, 1)), Y, "avg"), V,
         "reduction", "'avg'", "mean", "sum"),
]


@pytest.mark.parametrize(("call", "error", "words"),
                         SHAPES + LABELS_01 + CLASSES + EMPTY + DTYPES + NAMES)
def test_bad_input_is_a_clear_error(call, error, words):
    check(call, error, words)
