"""Issue 6's bad-input corpus: the training loops of both twins and their batches.

How a case reads, and the other rooms' files: tests/bad_input.py.
"""

import numpy as np
import pytest

from handgrad import handmade, torch_ref
from tests.bad_input import (
    NAN,
    X_NAN,
    C,
    T,
    V,
    X,
    Y,
    bce,
    case,
    ce,
    check,
    h_trainer,
    one_epoch,
    poisoned,
    t_bce,
    t_ce,
    t_trainer,
)

SHAPES = [  # 1. X vs W, y vs the output
    case("trainer-y-count", lambda: h_trainer(bce()).fit(X, Y[:4], one_epoch()), V,
         "y must have one label per row of X", "5 rows", "(4,)"),
    case("torch-trainer-y-count", lambda: t_trainer(t_bce()).fit(X, Y[:4], one_epoch()), V,
         "y must have one label per row of X", "5 rows", "(4,)"),
    case("trainer-batch-index", lambda: h_trainer(bce()).fit(X, Y, one_epoch(7)), V,
         "batches", "[0, 5)", "0..6"),
    case("torch-trainer-batch-index", lambda: t_trainer(t_bce()).fit(X, Y, one_epoch(7)), V,
         "batches", "[0, 5)", "0..6"),
    case("trainer-step-X", lambda: h_trainer(bce()).step(np.zeros((5, 2)), Y), V,
         "X must have shape (m, 3)"),
]

LABELS_01 = [  # 2. bce labels outside {0,1} (soft targets in [0, 1] are torch's, accepted)
    case("trainer", lambda: h_trainer(bce()).step(X, Y * 2), V, "bce", "[0, 1]"),
    case("torch-trainer", lambda: t_trainer(t_bce()).fit(X, Y * 2, one_epoch()), V,
         "bce", "[0, 1]"),
]

CLASSES = [  # 3. class indices out of range for cross_entropy / nll
    case("trainer", lambda: h_trainer(ce()).step(X, C + 1), V, "[0, 3)"),
    case("torch-trainer", lambda: t_trainer(t_ce()).fit(X, C + 1, one_epoch()), V, "[0, 3)"),
]

NONFINITE = [  # 4. NaN/Inf in inputs (X, y) and parameters
    case("trainer-X", lambda: h_trainer(bce()).fit(X_NAN, Y, one_epoch()), V,
         "X has a non-finite value in row 0 (column 0): nan", "X must be finite", "3 NaN/Inf"),
    case("torch-trainer-X", lambda: t_trainer(t_bce()).fit(X_NAN, Y, one_epoch()), V,
         "X has a non-finite value in row 0 (column 0): nan", "X must be finite", "3 NaN/Inf"),
    case("trainer-first-step", lambda: h_trainer(poisoned(bce())).step(X, Y), V,
         "parameter layers.0.weight"),
    case("torch-trainer-first-step", lambda: t_trainer(poisoned(t_bce())).step(X, Y), V,
         "parameter layers.0.weight"),
    case("grad-tol-nan", lambda: h_trainer(bce(), grad_tol=NAN), V, "grad_tol", "nan"),
    case("torch-grad-tol-inf", lambda: t_trainer(t_bce(), grad_tol=np.inf), V, "grad_tol"),
]

EMPTY = [  # 5. empty batches
    case("trainer-no-rows", lambda: h_trainer(bce()).fit(np.zeros((0, 3)), Y[:0], one_epoch()),
         V, "X must hold at least one sample", "(0, 3)"),
    case("torch-trainer-no-rows", lambda: t_trainer(t_bce()).fit(np.zeros((0, 3)), Y[:0],
                                                                  one_epoch()), V,
         "X must hold at least one sample", "(0, 3)"),
    case("trainer-empty-batch", lambda: h_trainer(bce()).fit(X, Y, [[np.array([], int)]]), V,
         "batches", "empty batch"),
    case("torch-trainer-empty-batch", lambda: t_trainer(t_bce()).fit(X, Y, [[[]]]), V,
         "batches", "empty batch"),
    case("make-batches", lambda: handmade.make_batches(0, 4, 1), V, "n_samples", ">= 1", "0"),
]

DTYPES = [  # 6. integer, bool, text or object arrays where floats are needed
    case("trainer-X-int", lambda: h_trainer(bce()).fit(X.astype(int), Y, one_epoch()), T,
         "floating-point", "int"),
    case("torch-trainer-X-int", lambda: t_trainer(t_bce()).fit(X.astype(int), Y, one_epoch()),
         T, "floating-point", "int"),
]


@pytest.mark.parametrize(("call", "error", "words"),
                         SHAPES + LABELS_01 + CLASSES + NONFINITE + EMPTY + DTYPES)
def test_bad_input_is_a_clear_error(call, error, words):
    check(call, error, words)


@pytest.mark.parametrize("side", ["handmade", "torch"])
def test_a_parameter_that_becomes_nan_during_training_is_divergence(side):
    model = bce() if side == "handmade" else t_bce()
    trainer = h_trainer(model) if side == "handmade" else t_trainer(model)
    trainer.step(X, Y)
    poisoned(model)
    with pytest.raises(FloatingPointError, match="parameter layers.0.weight.*at step 2") as info:
        trainer.step(X, Y)
    assert not isinstance(info.value, ValueError)


def _state(model):
    if hasattr(model, "params"):
        return {k: v.copy() for k, v in model.params.items()}
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def _late_nan():
    """48 rows, NaN in row 37 column 2: in the fifth batch of 8 when not shuffled."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((48, 3)), rng.integers(0, 2, 48).astype(float)
    X[37, 2] = NAN
    return X, y


UP_FRONT = [  # (what is bad, how to make the run, the one-line message)
    ("X-row-37", lambda X, y: (X, y, None, None),
     "X has a non-finite value in row 37 (column 2): nan; X must be finite (1 NaN/Inf "
     "value(s) in all)"),
    ("y-label-2-in-row-30", lambda X, y: (np.nan_to_num(X), np.where(np.arange(48) == 30, 2.0, y),
                                          None, None),
     "bce: labels must lie in [0, 1] (0/1 classes, or soft targets as torch allows), got min "
     "0.0 and max 2.0"),
    ("X_val-row-4", lambda X, y: (np.nan_to_num(X), y, X[33:40], y[33:40]),
     "X_val has a non-finite value in row 4 (column 2): nan; X_val must be finite (1 NaN/Inf "
     "value(s) in all)"),
    ("X-float32-overflow", lambda X, y: (np.where(np.arange(48)[:, None] == 41, 1e300,
                                                  np.nan_to_num(X)), y, None, None),
     "X must be finite in the model's dtype float32; 3 value(s) overflow it"),
]


@pytest.mark.parametrize("side", ["handmade", "torch"])
@pytest.mark.parametrize("make, message", [case[1:] for case in UP_FRONT],
                         ids=[case[0] for case in UP_FRONT])
def test_all_the_data_is_checked_before_the_first_step(side, make, message):
    """The same refusal, word for word, on both sides, and no parameter moved."""
    X, y, X_val, y_val = make(*_late_nan())
    dtype = np.float32 if "float32" in message else np.float64
    if side == "handmade":
        model = handmade.MLP([3, 4, 1], ["tanh", "sigmoid"], "bce", dtype=dtype)
        trainer = h_trainer(model, patience=2)
    else:
        model = torch_ref.TorchMLP([3, 4, 1], ["tanh", "sigmoid"], "bce", seed=0,
                                   dtype=np.dtype(dtype).name)
        trainer = t_trainer(model, patience=2)
    before = _state(model)
    batches = handmade.make_batches(48, 8, 2, shuffle=False)
    with pytest.raises(ValueError) as info:
        trainer.fit(X, y, batches, X_val, y_val)
    assert str(info.value) == message
    assert trainer.history.losses == []
    for key, value in _state(model).items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)
