"""Issue 6's bad-input corpus: the torch twins, their names, dtypes and devices.

How a case reads, and the other rooms' files: tests/bad_input.py.
"""

import numpy as np
import pytest
import torch

from handgrad import torch_ref
from tests.bad_input import (
    ACTS,
    LOSSES,
    X_INF,
    X_NAN,
    C,
    T,
    V,
    X,
    Y,
    case,
    check,
    cuda,
    poisoned,
    t_bce,
    t_ce,
)

SHAPES = [  # 1. X vs W, y vs the output
    case("torch-mlp-X-columns", lambda: t_bce().loss_and_grads(np.zeros((5, 2)), Y), V,
         "X must have shape (m, 3)", "(5, 2)"),
    case("torch-mlp-forward-X", lambda: t_bce()(torch.zeros(5, 4, dtype=torch.float64)), V,
         "X must have shape (m, 3)", "(5, 4)"),
    case("torch-mlp-y-count", lambda: t_bce().loss_and_grads(X, Y[:4]), V,
         "bce", "(5, 1) or (5,)", "(4,)"),
    case("torch-mlp-ce-onehot", lambda: t_ce().loss_and_grads(X, np.eye(3)[C]), V,
         "cross_entropy", "class indices of shape (5,)", "(5, 3)"),
    case("torch-neuron-X", lambda: torch_ref.TorchNeuron(2).loss_and_grads(X, Y), V,
         "X must have shape (m, 2)"),
]

LABELS_01 = [  # 2. bce labels outside {0,1} (soft targets in [0, 1] are torch's, accepted)
    case("torch-mlp", lambda: t_bce().loss_and_grads(X, Y * 2), V, "bce", "[0, 1]", "max 2"),
    case("torch-neuron", lambda: torch_ref.TorchNeuron(3).loss_and_grads(X, -Y), V,
         "bce", "[0, 1]", "min -1"),
]

CLASSES = [  # 3. class indices out of range for cross_entropy / nll
    case("torch-mlp-class-k", lambda: t_ce().loss_and_grads(X, C + 1), V,
         "cross_entropy", "[0, 3)", "max 3"),
    case("torch-ignore-index", lambda: t_ce().loss_and_grads(X, np.where(C == 2, -100, C)), V,
         "[0, 3)", "min -100"),
]

NONFINITE = [  # 4. NaN/Inf in inputs (X, y) and parameters
    case("torch-X-overflows-float32", lambda: torch_ref.TorchNeuron(3, dtype="float32")
         .loss_and_grads(X - 1e300, Y), V, "X must be finite in the model's dtype float32"),
    case("torch-X-nan", lambda: t_bce().loss_and_grads(X_NAN, Y), V, "X must be finite", "3"),
    case("torch-neuron-X-inf", lambda: torch_ref.TorchNeuron(3).loss_and_grads(X_INF, Y), V,
         "X must be finite"),
    case("torch-y-inf", lambda: t_bce().loss_and_grads(X, np.where(Y > 0, np.inf, 0.0)), V,
         "bce", "y must be finite"),
    case("torch-mlp-forward", lambda: poisoned(t_bce())(torch.zeros(5, 3, dtype=torch.float64)),
         V, "parameter layers.0.weight", "1 NaN/Inf"),
    case("torch-mlp-loss", lambda: poisoned(t_ce()).loss_and_grads(X, C), V,
         "parameter layers.0.weight"),
]

EMPTY = [  # 5. empty batches
    case("torch-mlp", lambda: t_bce().loss_and_grads(np.zeros((0, 3)), Y[:0]), V,
         "X is an empty batch"),
    case("torch-neuron", lambda: torch_ref.TorchNeuron(3)(torch.zeros(0, 3, dtype=torch.float64)),
         V, "empty batch"),
]

DTYPES = [  # 6. integer, bool, text or object arrays where floats are needed
    case("torch-X-int", lambda: t_bce().loss_and_grads(X.astype(np.int32), Y), T,
         "floating-point", "int32"),
    case("torch-X-text", lambda: t_ce().loss_and_grads(X.astype(str), C), T,
         "floating-point", "<U"),
    case("torch-forward-int-tensor", lambda: t_bce()(torch.zeros(5, 3, dtype=torch.long)), T,
         "floating-point", "torch.int64"),
    case("torch-neuron-X-int", lambda: torch_ref.TorchNeuron(3).loss_and_grads(X.astype(int), Y),
         T, "floating-point"),
    case("torch-text-labels", lambda: t_bce().loss_and_grads(X, Y.astype(str)), T,
         "bce", "numeric", "<U"),
    case("torch-object-labels", lambda: t_bce().loss_and_grads(X, Y.astype(object)), T,
         "numeric", "object"),
    case("torch-ce-float-labels", lambda: t_ce().loss_and_grads(X, C.astype(float)), T,
         "integer class indices", "float64"),
    case("torch-dtype", lambda: torch_ref.TorchMLP([3, 1], ["identity"], "mse", dtype=torch.int64),
         T, "dtype", "float32", "float64"),
]

NAMES = [  # 7. unknown names: the message lists the valid ones
    case("torch-activation", lambda: torch_ref.TorchMLP([3, 1], ["swish"], "mse"), V,
         "unknown activation 'swish'", *ACTS),
    case("torch-loss", lambda: torch_ref.TorchNeuron(3, "sigmoid", "hinge"), V,
         "unknown loss 'hinge'", *LOSSES),
    case("compute-loss", lambda: torch_ref.compute_loss("l1", torch.zeros(1, 1), [0.0]), V,
         "unknown loss 'l1'", *LOSSES),
    case("torch-optimizer", lambda: torch_ref.make_optimizer("rmsprop", t_bce().parameters()),
         V, "unknown optimizer 'rmsprop'", "adam", "sgd"),
    case("torch-reduction", lambda: torch_ref.TorchMLP([3, 1], ["identity"], "mse",
                                                       reduction="none"), V,
         "reduction", "'none'", "mean", "sum"),
    case("torch-dtype-name", lambda: torch_ref.TorchNeuron(3, dtype="float16"), T,
         "float16", "float32", "float64"),
    case("device-name", lambda: torch_ref.TorchMLP([3, 1], ["identity"], "mse", device="tpu"), V,
         "'tpu'", "cpu", "cuda"),
]

CUDA = [  # 8. device="cuda" where there is no CUDA
    cuda("torch-mlp", lambda: torch_ref.TorchMLP([3, 1], ["identity"], "mse", device="cuda")),
    cuda("torch-neuron", lambda: torch_ref.TorchNeuron(3, device="cuda")),
    cuda("resolve-device", lambda: torch_ref.resolve_device("cuda")),
]


@pytest.mark.parametrize(("call", "error", "words"),
                         SHAPES + LABELS_01 + CLASSES + NONFINITE + EMPTY + DTYPES + NAMES + CUDA)
def test_bad_input_is_a_clear_error(call, error, words):
    check(call, error, words)
