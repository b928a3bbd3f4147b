"""Issue 6's bad-input corpus: the verifier and the copies between the twins.

How a case reads, and the other rooms' files: tests/bad_input.py.
"""

import numpy as np
import pytest

from handgrad import torch_ref
from handgrad.compare import build_twins, check_gradients, hand_to_torch, torch_to_hand
from handgrad.compare.spec import Spec
from tests.bad_input import X_INF, C, T, V, X, Y, bce, case, ce, check, cuda, poisoned, t_bce

SHAPES = [  # 1. X vs W, y vs the output
    case("check-gradients-X", lambda: check_gradients(bce(), np.zeros((5, 2)), Y), V,
         "X must have shape (m, 3)", "(5, 2)"),
    case("check-gradients-y", lambda: check_gradients(bce(), X, Y[:4]), V,
         "bce", "(5, 1) or (5,)", "(4,)"),
]

LABELS_01 = [  # 2. bce labels outside {0,1} (soft targets in [0, 1] are torch's, accepted)
    case("check-gradients", lambda: check_gradients(bce(), X, Y * 2), V, "bce", "[0, 1]"),
]

CLASSES = [  # 3. class indices out of range for cross_entropy / nll
    case("check-gradients", lambda: check_gradients(ce(), X, C + 1), V, "[0, 3)", "max 3"),
]

NONFINITE = [  # 4. NaN/Inf in inputs (X, y) and parameters
    case("check-gradients-X", lambda: check_gradients(bce(), X_INF, Y), V, "X must be finite"),
    case("check-gradients-param", lambda: check_gradients(poisoned(bce()), X, Y), V,
         "hand's parameter layers.0.weight", "NaN/Inf"),
    case("hand-to-torch", lambda: hand_to_torch(poisoned(bce()), t_bce()), V,
         "handmade parameter layers.0.weight", "1 NaN/Inf"),
    case("torch-to-hand", lambda: torch_to_hand(poisoned(t_bce()), bce()), V,
         "torch parameter layers.0.weight", "1 NaN/Inf"),
]

EMPTY = [  # 5. empty batches
    case("check-gradients", lambda: check_gradients(bce(), np.zeros((0, 3)), Y[:0]), V,
         "empty batch"),
]

DTYPES = [  # 6. integer, bool, text or object arrays where floats are needed
    case("check-gradients-X-int", lambda: check_gradients(bce(), X.astype(int), Y), T,
         "floating-point", "int"),
    case("check-gradients-int-params", lambda: check_gradients(
        type("H", (), {"params": {"w": np.ones(2, int)}})(), X, Y), T,
         "float32 or float64", "int64"),
    case("check-gradients-no-params", lambda: check_gradients(object(), X, Y), T,
         "hand must have a non-empty params dict"),
    case("hand-to-torch-int", lambda: hand_to_torch(
        {k: v.astype(int) for k, v in bce().params.items()}, t_bce()), T,
         "handmade parameter layers.0.weight", "float32/float64", "int64"),
]

NAMES = [  # 7. unknown names: the message lists the valid ones
    case("check-gradients-fd", lambda: check_gradients(bce(), X, Y, fd="forward"), V,
         "fd must be", "auto", "coords", "directions"),
]

CUDA = [  # 8. device="cuda" where there is no CUDA
    cuda("build-twins", lambda: build_twins(Spec((3, 1), ("identity",), "mse"), device="cuda")),
    cuda("check-gradients", lambda: check_gradients(bce(), X, Y, device="cuda")),
]

COPIES = [  # 9. mismatched parameter names/shapes between the twins
    case("hand-to-torch-shapes", lambda: hand_to_torch(bce(), torch_ref.TorchMLP(
        [3, 5, 1], ["tanh", "sigmoid"], "bce")), V, "layers.0.weight: handmade (4, 3)",
         "torch (5, 3)"),
    case("torch-to-hand-names", lambda: torch_to_hand(torch_ref.TorchNeuron(3), bce()), V,
         "missing on the torch side ['layers.1.bias', 'layers.1.weight']"),
    case("dict-renamed-key", lambda: hand_to_torch(
        {k.replace("weight", "W"): v for k, v in bce().params.items()}, t_bce()), V,
         "missing on the handmade side", "layers.0.weight", "layers.0.W"),
    case("not-a-module", lambda: hand_to_torch(bce(), bce()), T, "torch_model", "MLP"),
    case("not-a-model", lambda: torch_to_hand(t_bce(), [1, 2]), T, "hand", "params", "list"),
]


@pytest.mark.parametrize(("call", "error", "words"),
                         SHAPES + LABELS_01 + CLASSES + NONFINITE + EMPTY + DTYPES + NAMES + CUDA
                         + COPIES)
def test_bad_input_is_a_clear_error(call, error, words):
    check(call, error, words)
