"""Issue 6's bad-input corpus: handmade's optimizers.

How a case reads, and the other rooms' files: tests/bad_input.py.
"""

import numpy as np
import pytest

from handgrad import handmade
from tests.bad_input import NAN, T, V, case, check

SHAPES = [  # 1. X vs W, y vs the output
    case("sgd-grad-shape", lambda: handmade.SGD({"w": np.ones(3)}, lr=0.1).step(
        {"w": np.ones(1)}), V, "grads['w']", "(3,)", "(1,)"),
    case("adam-grad-keys", lambda: handmade.Adam({"w": np.ones(3)}).step({"v": np.ones(3)}),
         V, "same keys", "'v'", "'w'"),
]

NONFINITE = [  # 4. NaN/Inf in inputs (X, y) and parameters
    case("sgd-lr-nan", lambda: handmade.SGD({"w": np.ones(2)}, lr=NAN), V, "lr", "finite", "nan"),
    case("adam-lr-inf", lambda: handmade.Adam({"w": np.ones(2)}, lr=np.inf), V, "lr", "inf"),
    case("adam-betas-nan", lambda: handmade.Adam({"w": np.ones(2)}, betas=(NAN, 0.9)), V,
         "betas", "[0, 1)", "nan"),
]

EMPTY = [  # 5. empty batches
    case("sgd-no-params", lambda: handmade.SGD({}, lr=0.1), V, "params", "non-empty"),
    case("adam-no-params", lambda: handmade.make_optimizer("adam", {}), V, "params", "non-empty"),
]

DTYPES = [  # 6. integer, bool, text or object arrays where floats are needed
    case("sgd-int-params", lambda: handmade.SGD({"w": np.ones(3, int)}, lr=0.1), T,
         "params['w']", "floating-point", "int64"),
]

NAMES = [  # 7. unknown names: the message lists the valid ones
    case("optimizer", lambda: handmade.make_optimizer("rmsprop", {"w": np.ones(2)}, lr=0.1), V,
         "unknown optimizer 'rmsprop'", "adam", "sgd"),
]


@pytest.mark.parametrize(("call", "error", "words"), SHAPES + NONFINITE + EMPTY + DTYPES + NAMES)
def test_bad_input_is_a_clear_error(call, error, words):
    check(call, error, words)
