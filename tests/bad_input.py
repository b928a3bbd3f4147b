"""Issue 6's bad-input corpus: what its cases share. Not a test module.

Each case is ``(call, error type, key words)``: the words name the argument, what was
expected and what was given. Sections follow the issue: 1 shape mismatches, 2 bce labels
outside {0,1}, 3 class indices out of range, 4 NaN/Inf, 5 empty batches, 6 integer or
object dtypes, 7 unknown names, 8 CUDA where there is none, 9 copying between twins,
10 the CLI (exit 2, one line, no traceback) in tests/cli/test_bad_input_cli.py.

The cases live beside what they call, one file per room: tests/handmade/test_bad_input_models.py,
test_bad_input_losses.py, test_bad_input_optim.py; tests/torch_ref/test_bad_input_torch.py;
tests/check/test_bad_input_check.py; tests/train/test_bad_input_training.py and
test_bad_input_runs.py.
"""

import numpy as np
import pytest
import torch

from handgrad import handmade, torch_ref

X = np.zeros((5, 3))
Y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
C = np.array([0, 1, 2, 0, 1])  # class indices for 3 classes
NAN = float("nan")
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")


def bce():
    return handmade.MLP([3, 4, 1], ["tanh", "sigmoid"], "bce")


def ce(loss="cross_entropy"):
    return handmade.MLP([3, 4, 3], ["tanh", "identity" if loss != "nll" else "softmax"], loss)


def mse():
    return handmade.MLP([3, 2], ["identity"], "mse")


def t_bce():
    return torch_ref.TorchMLP([3, 4, 1], ["tanh", "sigmoid"], "bce")


def t_ce():
    return torch_ref.TorchMLP([3, 4, 3], ["tanh", "identity"], "cross_entropy")


def poisoned(model, value=NAN):
    """``model`` with one weight set to NaN/Inf (either side)."""
    if isinstance(model, torch.nn.Module):
        with torch.no_grad():
            model.layers[0].weight[0, 0] = value
    else:
        model.params["layers.0.weight"][0, 0] = value
    return model


def h_trainer(model, **rules):
    return handmade.Trainer(model, handmade.SGD(model.params, lr=0.1), **rules)


def t_trainer(model, **rules):
    return torch_ref.Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), **rules)


def one_epoch(n=5):
    return handmade.make_batches(n, n, 1)


def case(id, call, error, *words, marks=()):
    return pytest.param(call, error, words, id=id, marks=marks)


def check(call, error, words):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, (word, message)


V, T = ValueError, TypeError

X_NAN, X_INF = np.where(np.eye(5, 3), NAN, 0.0), np.where(np.eye(5, 3), np.inf, 1.0)

ACTS, LOSSES = ["elu", "gelu", "relu", "sigmoid", "softmax"], ["bce", "cross_entropy", "mse"]


def cuda(id, call):
    return case(id, call, V, "'cuda'", "CUDA is not available", marks=NO_CUDA)
