"""Issue 6's bad-input corpus: every public entry, every case of the issue's list.

Each case is ``(call, error type, key words)``: the words name the argument, what was
expected and what was given. Sections follow the issue: 1 shape mismatches, 2 bce labels
outside {0,1}, 3 class indices out of range, 4 NaN/Inf, 5 empty batches, 6 integer or
object dtypes, 7 unknown names, 8 CUDA where there is none, 9 copying between twins,
10 the CLI (exit 2, one line, no traceback) in test_bad_input_cli.py.
"""

import numpy as np
import pytest
import torch

import handmade
import torch_ref
from compare import build_twins, check_gradients, datasets, hand_to_torch, torch_to_hand
from compare.spec import Spec
from compare.train.runs import load_into, load_run, save_run
from handmade.persist import load_params, save_params
from torch_ref.persist import load_state, save_state

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
SHAPES = [  # 1. X vs W, y vs the output
    case("mlp-forward-X-columns", lambda: bce().forward(np.zeros((5, 2))), V,
         "X must have shape (m, 3)", "(5, 2)"),
    case("mlp-X-one-dimensional", lambda: bce().loss_and_grads(np.zeros(3), Y), V,
         "X must have shape (m, 3)", "(3,)"),
    case("mlp-y-count", lambda: bce().loss_and_grads(X, Y[:4]), V,
         "bce", "y must have shape (5, 1) or (5,)", "(4,)"),
    case("mlp-y-vs-output-width", lambda: mse().loss_and_grads(X, np.zeros((5, 3))), V,
         "mse", "(5, 2)", "got shape (5, 3)"),
    case("mlp-y-transposed", lambda: mse().loss_and_grads(X, np.zeros((2, 5))), V,
         "mse", "(5, 2)", "got shape (2, 5)"),
    case("mlp-ce-onehot-labels", lambda: ce().loss_and_grads(X, np.eye(3)[C]), V,
         "cross_entropy", "class indices of shape (5,)", "(5, 3)"),
    case("mlp-ce-label-count", lambda: ce().loss_and_grads(X, C[:3]), V,
         "class indices of shape (5,)", "(3,)"),
    case("logistic-neuron-X", lambda: handmade.LogisticNeuron(2).loss_and_grads(X, Y), V,
         "X must have shape (m, 2)", "(5, 3)"),
    case("linear-neuron-y", lambda: handmade.LinearNeuron(3).loss_and_grads(X, Y[:2]), V,
         "mse", "(5, 1) or (5,)", "(2,)"),
    case("perceptron-predict-X", lambda: handmade.Perceptron(4).predict(X), V,
         "X must have shape (m, 4)"),
    case("loss-direct-y", lambda: handmade.get_loss("mse").value(np.zeros((5, 2)), Y), V,
         "mse", "(5, 2)", "(5,)"),
    case("loss-direct-out-1d", lambda: handmade.get_loss("bce").grad(np.zeros(5), Y), V,
         "bce", "out must have shape (m, k)", "(5,)"),
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
    case("check-gradients-X", lambda: check_gradients(bce(), np.zeros((5, 2)), Y), V,
         "X must have shape (m, 3)", "(5, 2)"),
    case("check-gradients-y", lambda: check_gradients(bce(), X, Y[:4]), V,
         "bce", "(5, 1) or (5,)", "(4,)"),
    case("sgd-grad-shape", lambda: handmade.SGD({"w": np.ones(3)}, lr=0.1).step(
        {"w": np.ones(1)}), V, "grads['w']", "(3,)", "(1,)"),
    case("adam-grad-keys", lambda: handmade.Adam({"w": np.ones(3)}).step({"v": np.ones(3)}),
         V, "same keys", "'v'", "'w'"),
]

LABELS_01 = [  # 2. bce labels outside {0,1} (soft targets in [0, 1] are torch's, accepted)
    case("mlp-label-2", lambda: bce().loss_and_grads(X, Y * 2), V, "bce", "[0, 1]", "max 2"),
    case("mlp-label-negative", lambda: bce().loss_and_grads(X, -Y), V, "bce", "min -1"),
    case("logistic-neuron", lambda: handmade.LogisticNeuron(3).loss_and_grads(X, Y + 1), V,
         "bce", "[0, 1]", "max 2"),
    case("perceptron", lambda: handmade.Perceptron(3).update(X, Y * 3, 0.1), V,
         "perceptron", "[0, 1]", "max 3"),
    case("loss-direct-bce", lambda: handmade.get_loss("bce").value(np.full((5, 1), .5), Y * 2),
         V, "bce", "[0, 1]", "max 2"),
    case("loss-direct-with-logits", lambda: handmade.get_loss("bce_with_logits").grad(
        np.zeros((5, 1)), -Y), V, "bce_with_logits", "[0, 1]", "min -1"),
    case("torch-mlp", lambda: t_bce().loss_and_grads(X, Y * 2), V, "bce", "[0, 1]", "max 2"),
    case("torch-neuron", lambda: torch_ref.TorchNeuron(3).loss_and_grads(X, -Y), V,
         "bce", "[0, 1]", "min -1"),
    case("trainer", lambda: h_trainer(bce()).step(X, Y * 2), V, "bce", "[0, 1]"),
    case("torch-trainer", lambda: t_trainer(t_bce()).fit(X, Y * 2, one_epoch()), V,
         "bce", "[0, 1]"),
    case("check-gradients", lambda: check_gradients(bce(), X, Y * 2), V, "bce", "[0, 1]"),
]

CLASSES = [  # 3. class indices out of range for cross_entropy / nll
    case("mlp-class-k", lambda: ce().loss_and_grads(X, C + 1), V,
         "cross_entropy", "[0, 3)", "max 3"),
    case("mlp-class-negative", lambda: ce().loss_and_grads(X, C - 1), V, "[0, 3)", "min -1"),
    case("mlp-nll", lambda: ce("nll").loss_and_grads(X, C * 2), V, "nll", "[0, 3)", "max 4"),
    case("loss-direct", lambda: handmade.get_loss("cross_entropy").value(np.zeros((5, 3)), C + 5),
         V, "cross_entropy", "[0, 3)", "max 7"),
    case("torch-mlp-class-k", lambda: t_ce().loss_and_grads(X, C + 1), V,
         "cross_entropy", "[0, 3)", "max 3"),
    case("torch-ignore-index", lambda: t_ce().loss_and_grads(X, np.where(C == 2, -100, C)), V,
         "[0, 3)", "min -100"),
    case("trainer", lambda: h_trainer(ce()).step(X, C + 1), V, "[0, 3)"),
    case("torch-trainer", lambda: t_trainer(t_ce()).fit(X, C + 1, one_epoch()), V, "[0, 3)"),
    case("check-gradients", lambda: check_gradients(ce(), X, C + 1), V, "[0, 3)", "max 3"),
]

X_NAN, X_INF = np.where(np.eye(5, 3), NAN, 0.0), np.where(np.eye(5, 3), np.inf, 1.0)
NONFINITE = [  # 4. NaN/Inf in inputs (X, y) and parameters
    case("mlp-X-nan", lambda: bce().forward(X_NAN), V, "X must be finite", "3 NaN/Inf"),
    case("mlp-X-inf", lambda: bce().loss_and_grads(X_INF, Y), V, "X must be finite"),
    case("mlp-X-overflows-float32", lambda: handmade.MLP(
        [3, 1], ["identity"], "mse", dtype=np.float32).forward(X + 1e300), V,
         "X must be finite in the model's dtype float32", "15 value(s) overflow"),
    case("torch-X-overflows-float32", lambda: torch_ref.TorchNeuron(3, dtype="float32")
         .loss_and_grads(X - 1e300, Y), V, "X must be finite in the model's dtype float32"),
    case("mlp-y-nan", lambda: mse().loss_and_grads(X, np.full((5, 2), NAN)), V,
         "mse", "y must be finite", "10 NaN/Inf"),
    case("bce-y-nan", lambda: bce().loss_and_grads(X, Y * NAN), V, "bce", "y must be finite"),
    case("neuron-X-nan", lambda: handmade.LinearNeuron(3).loss_and_grads(X_NAN, Y), V,
         "X must be finite"),
    case("torch-X-nan", lambda: t_bce().loss_and_grads(X_NAN, Y), V, "X must be finite", "3"),
    case("torch-neuron-X-inf", lambda: torch_ref.TorchNeuron(3).loss_and_grads(X_INF, Y), V,
         "X must be finite"),
    case("torch-y-inf", lambda: t_bce().loss_and_grads(X, np.where(Y > 0, np.inf, 0.0)), V,
         "bce", "y must be finite"),
    case("trainer-X", lambda: h_trainer(bce()).fit(X_NAN, Y, one_epoch()), V,
         "X must be finite"),
    case("torch-trainer-X", lambda: t_trainer(t_bce()).fit(X_NAN, Y, one_epoch()), V,
         "X must be finite"),
    case("check-gradients-X", lambda: check_gradients(bce(), X_INF, Y), V, "X must be finite"),
    case("mlp-param", lambda: poisoned(bce()).forward(X), V,
         "parameter layers.0.weight", "1 NaN/Inf"),
    case("mlp-param-inf", lambda: poisoned(mse(), np.inf).loss_and_grads(X + 1, np.zeros((5, 2))),
         V, "parameter layers.0.weight", "NaN/Inf"),
    case("neuron-param", lambda: poisoned(handmade.LogisticNeuron(3)).predict_proba(X), V,
         "parameter layers.0.weight"),
    case("perceptron-param", lambda: poisoned(handmade.Perceptron(3)).predict(X), V,
         "parameter layers.0.weight"),
    case("torch-mlp-forward", lambda: poisoned(t_bce())(torch.zeros(5, 3, dtype=torch.float64)),
         V, "parameter layers.0.weight", "1 NaN/Inf"),
    case("torch-mlp-loss", lambda: poisoned(t_ce()).loss_and_grads(X, C), V,
         "parameter layers.0.weight"),
    case("trainer-first-step", lambda: h_trainer(poisoned(bce())).step(X, Y), V,
         "parameter layers.0.weight"),
    case("torch-trainer-first-step", lambda: t_trainer(poisoned(t_bce())).step(X, Y), V,
         "parameter layers.0.weight"),
    case("check-gradients-param", lambda: check_gradients(poisoned(bce()), X, Y), V,
         "hand's parameter layers.0.weight", "NaN/Inf"),
    case("hand-to-torch", lambda: hand_to_torch(poisoned(bce()), t_bce()), V,
         "handmade parameter layers.0.weight", "1 NaN/Inf"),
    case("torch-to-hand", lambda: torch_to_hand(poisoned(t_bce()), bce()), V,
         "torch parameter layers.0.weight", "1 NaN/Inf"),
    case("sgd-lr-nan", lambda: handmade.SGD({"w": np.ones(2)}, lr=NAN), V, "lr", "finite", "nan"),
    case("adam-lr-inf", lambda: handmade.Adam({"w": np.ones(2)}, lr=np.inf), V, "lr", "inf"),
    case("adam-betas-nan", lambda: handmade.Adam({"w": np.ones(2)}, betas=(NAN, 0.9)), V,
         "betas", "[0, 1)", "nan"),
    case("grad-tol-nan", lambda: h_trainer(bce(), grad_tol=NAN), V, "grad_tol", "nan"),
    case("torch-grad-tol-inf", lambda: t_trainer(t_bce(), grad_tol=np.inf), V, "grad_tol"),
]


def test_an_overflow_of_finite_parameters_is_not_bad_input():
    model = handmade.MLP([1, 1], ["identity"], "mse")
    model.params["layers.0.weight"][...] = 1e308
    with np.errstate(over="ignore"):
        out = model.forward(np.array([[10.0]]))  # finite parameters: the output overflows
    assert np.isinf(out).all()
    twin = torch_ref.TorchMLP([1, 1], ["identity"], "mse")
    hand_to_torch(model, twin)
    assert np.isinf(twin.loss_and_grads(np.array([[10.0]]), [[0.0]])[0])


@pytest.mark.parametrize("side", ["handmade", "torch"])
def test_a_parameter_that_becomes_nan_during_training_is_divergence(side):
    model = bce() if side == "handmade" else t_bce()
    trainer = h_trainer(model) if side == "handmade" else t_trainer(model)
    trainer.step(X, Y)
    poisoned(model)
    with pytest.raises(FloatingPointError, match="parameter layers.0.weight.*at step 2") as info:
        trainer.step(X, Y)
    assert not isinstance(info.value, ValueError)


EMPTY = [  # 5. empty batches
    case("mlp-forward", lambda: bce().forward(np.zeros((0, 3))), V, "X is an empty batch"),
    case("mlp-loss", lambda: bce().loss_and_grads(np.zeros((0, 3)), Y[:0]), V, "empty batch"),
    case("neuron", lambda: handmade.LogisticNeuron(3).loss_and_grads(np.zeros((0, 3)), Y[:0]),
         V, "empty batch"),
    case("loss-direct", lambda: handmade.get_loss("mse").value(np.zeros((0, 1)), Y[:0]), V,
         "mse", "out is an empty batch"),
    case("torch-mlp", lambda: t_bce().loss_and_grads(np.zeros((0, 3)), Y[:0]), V,
         "X is an empty batch"),
    case("torch-neuron", lambda: torch_ref.TorchNeuron(3)(torch.zeros(0, 3, dtype=torch.float64)),
         V, "empty batch"),
    case("trainer-no-rows", lambda: h_trainer(bce()).fit(np.zeros((0, 3)), Y[:0], one_epoch()),
         V, "X must hold at least one sample", "(0, 3)"),
    case("torch-trainer-no-rows", lambda: t_trainer(t_bce()).fit(np.zeros((0, 3)), Y[:0],
                                                                  one_epoch()), V, "empty batch"),
    case("trainer-empty-batch", lambda: h_trainer(bce()).fit(X, Y, [[np.array([], int)]]), V,
         "batches", "empty batch"),
    case("torch-trainer-empty-batch", lambda: t_trainer(t_bce()).fit(X, Y, [[[]]]), V,
         "batches", "empty batch"),
    case("make-batches", lambda: handmade.make_batches(0, 4, 1), V, "n_samples", ">= 1", "0"),
    case("check-gradients", lambda: check_gradients(bce(), np.zeros((0, 3)), Y[:0]), V,
         "empty batch"),
    case("sgd-no-params", lambda: handmade.SGD({}, lr=0.1), V, "params", "non-empty"),
    case("adam-no-params", lambda: handmade.make_optimizer("adam", {}), V, "params", "non-empty"),
]

DTYPES = [  # 6. integer, bool, text or object arrays where floats are needed
    case("mlp-X-int", lambda: bce().forward(X.astype(np.int64)), T,
         "X must be a floating-point array", "int64", "astype(np.float64)"),
    case("mlp-X-bool", lambda: bce().loss_and_grads(X > 0, Y), T, "floating-point", "bool"),
    case("mlp-X-object", lambda: bce().forward(X.astype(object)), T, "floating-point", "object"),
    case("neuron-X-int", lambda: handmade.Perceptron(3).predict(X.astype(int)), T,
         "floating-point", "int"),
    case("torch-X-int", lambda: t_bce().loss_and_grads(X.astype(np.int32), Y), T,
         "floating-point", "int32"),
    case("torch-X-text", lambda: t_ce().loss_and_grads(X.astype(str), C), T,
         "floating-point", "<U"),
    case("torch-forward-int-tensor", lambda: t_bce()(torch.zeros(5, 3, dtype=torch.long)), T,
         "floating-point", "torch.int64"),
    case("torch-neuron-X-int", lambda: torch_ref.TorchNeuron(3).loss_and_grads(X.astype(int), Y),
         T, "floating-point"),
    case("trainer-X-int", lambda: h_trainer(bce()).fit(X.astype(int), Y, one_epoch()), T,
         "floating-point", "int"),
    case("torch-trainer-X-int", lambda: t_trainer(t_bce()).fit(X.astype(int), Y, one_epoch()),
         T, "floating-point", "int"),
    case("check-gradients-X-int", lambda: check_gradients(bce(), X.astype(int), Y), T,
         "floating-point", "int"),
    case("bce-text-labels", lambda: bce().loss_and_grads(X, Y.astype(str)), T, "bce", "numeric"),
    case("torch-text-labels", lambda: t_bce().loss_and_grads(X, Y.astype(str)), T,
         "bce", "numeric", "<U"),
    case("torch-object-labels", lambda: t_bce().loss_and_grads(X, Y.astype(object)), T,
         "numeric", "object"),
    case("ce-float-labels", lambda: ce().loss_and_grads(X, C.astype(float)), T,
         "cross_entropy", "integer class indices", "float64"),
    case("torch-ce-float-labels", lambda: t_ce().loss_and_grads(X, C.astype(float)), T,
         "integer class indices", "float64"),
    case("loss-direct-int-out", lambda: handmade.get_loss("mse").grad(np.zeros((5, 1), int), Y),
         T, "mse", "out must be a floating-point array", "int64"),
    case("mlp-dtype", lambda: handmade.MLP([3, 1], ["identity"], "mse", dtype=np.int64), T,
         "dtype", "float32", "float64", "int64"),
    case("torch-dtype", lambda: torch_ref.TorchMLP([3, 1], ["identity"], "mse", dtype=torch.int64),
         T, "dtype", "float32", "float64"),
    case("sgd-int-params", lambda: handmade.SGD({"w": np.ones(3, int)}, lr=0.1), T,
         "params['w']", "floating-point", "int64"),
    case("check-gradients-int-params", lambda: check_gradients(
        type("H", (), {"params": {"w": np.ones(2, int)}})(), X, Y), T,
         "float32 or float64", "int64"),
    case("check-gradients-no-params", lambda: check_gradients(object(), X, Y), T,
         "hand must have a non-empty params dict"),
    case("hand-to-torch-int", lambda: hand_to_torch(
        {k: v.astype(int) for k, v in bce().params.items()}, t_bce()), T,
         "handmade parameter layers.0.weight", "float32/float64", "int64"),
]


def test_soft_binary_targets_are_accepted_as_torch_accepts_them():
    assert np.isfinite(bce().loss_and_grads(X, np.full(5, 0.25))[0])
    assert np.isfinite(t_bce().loss_and_grads(X, np.full(5, 0.25))[0])


def test_integer_labels_are_numbers_where_floats_are_read():
    for model, y in ((bce(), Y.astype(int)), (handmade.Perceptron(3), Y.astype(int)),
                     (mse(), np.ones((5, 2), int))):
        assert np.isfinite(model.loss_and_grads(X + 0.5, y)[0])
    assert np.isfinite(t_bce().loss_and_grads(X, Y.astype(int))[0])


ACTS, LOSSES = ["elu", "gelu", "relu", "sigmoid", "softmax"], ["bce", "cross_entropy", "mse"]
NAMES = [  # 7. unknown names: the message lists the valid ones
    case("mlp-activation", lambda: handmade.MLP([3, 1], ["swish"], "mse"), V,
         "unknown activation 'swish'", *ACTS),
    case("get-activation", lambda: handmade.get_activation("Tanh"), V, "'Tanh'", *ACTS),
    case("torch-activation", lambda: torch_ref.TorchMLP([3, 1], ["swish"], "mse"), V,
         "unknown activation 'swish'", *ACTS),
    case("mlp-loss", lambda: handmade.MLP([3, 1], ["identity"], "hinge"), V,
         "unknown loss 'hinge'", *LOSSES),
    case("get-loss", lambda: handmade.get_loss("l1"), V, "unknown loss 'l1'", *LOSSES),
    case("torch-loss", lambda: torch_ref.TorchNeuron(3, "sigmoid", "hinge"), V,
         "unknown loss 'hinge'", *LOSSES),
    case("compute-loss", lambda: torch_ref.compute_loss("l1", torch.zeros(1, 1), [0.0]), V,
         "unknown loss 'l1'", *LOSSES),
    case("optimizer", lambda: handmade.make_optimizer("rmsprop", {"w": np.ones(2)}, lr=0.1), V,
         "unknown optimizer 'rmsprop'", "adam", "sgd"),
    case("torch-optimizer", lambda: torch_ref.make_optimizer("rmsprop", t_bce().parameters()),
         V, "unknown optimizer 'rmsprop'", "adam", "sgd"),
    case("mlp-reduction", lambda: handmade.MLP([3, 1], ["identity"], "mse", reduction="none"),
         V, "reduction", "'none'", "mean", "sum"),
    case("loss-reduction", lambda: handmade.get_loss("mse").value(np.zeros((5, 1)), Y, "avg"), V,
         "reduction", "'avg'", "mean", "sum"),
    case("torch-reduction", lambda: torch_ref.TorchMLP([3, 1], ["identity"], "mse",
                                                       reduction="none"), V,
         "reduction", "'none'", "mean", "sum"),
    case("torch-dtype-name", lambda: torch_ref.TorchNeuron(3, dtype="float16"), T,
         "float16", "float32", "float64"),
    case("device-name", lambda: torch_ref.TorchMLP([3, 1], ["identity"], "mse", device="tpu"), V,
         "'tpu'", "cpu", "cuda"),
    case("dataset", lambda: datasets.load("mnist"), V, "unknown dataset 'mnist'", "moons", "iris"),
    case("check-gradients-fd", lambda: check_gradients(bce(), X, Y, fd="forward"), V,
         "fd must be", "auto", "coords", "directions"),
]


def cuda(id, call):
    return case(id, call, V, "'cuda'", "CUDA is not available", marks=NO_CUDA)


CUDA = [  # 8. device="cuda" where there is no CUDA
    cuda("torch-mlp", lambda: torch_ref.TorchMLP([3, 1], ["identity"], "mse", device="cuda")),
    cuda("torch-neuron", lambda: torch_ref.TorchNeuron(3, device="cuda")),
    cuda("build-twins", lambda: build_twins(Spec((3, 1), ("identity",), "mse"), device="cuda")),
    cuda("check-gradients", lambda: check_gradients(bce(), X, Y, device="cuda")),
    cuda("resolve-device", lambda: torch_ref.resolve_device("cuda")),
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
                         SHAPES + LABELS_01 + CLASSES + NONFINITE + EMPTY + DTYPES + NAMES
                         + CUDA + COPIES)
def test_bad_input_is_a_clear_error(call, error, words):
    check(call, error, words)


# --- 4, 6, 8, 9 at the persist loads: a file is input too ---------------------------------

def _write(tmp_path, kind):
    hand, twin = bce(), t_bce()
    if kind == "nan":
        poisoned(hand)
        poisoned(twin)
    params, state = hand.params, twin.state_dict()
    if kind == "int":
        params = {k: v.astype(int) for k, v in params.items()}
        state = {k: v.long() for k, v in state.items()}
    npz, pt = tmp_path / "params.npz", tmp_path / "state_dict.pt"
    save_params(params, npz)
    save_state(type("Twin", (), {"state_dict": lambda self: state})(), pt)
    return npz, pt


@pytest.mark.parametrize("kind, error, words", [
    ("nan", V, ["parameter layers.0.weight", "1 NaN/Inf"]),
    ("int", V, ["float32/float64", "layers.0.weight"]),
], ids=["nan", "int"])
@pytest.mark.parametrize("side", ["npz", "pt"])
def test_persist_loads_refuse_bad_parameters(tmp_path, side, kind, error, words):
    npz, pt = _write(tmp_path, kind)
    check(lambda: load_params(npz) if side == "npz" else load_state(pt), error, words)


@pytest.mark.parametrize("side", ["npz", "pt"])
def test_loading_into_a_twin_of_another_shape_names_the_difference(tmp_path, side):
    npz, pt = _write(tmp_path, "ok")
    other = torch_ref.TorchMLP([3, 2, 1], ["tanh", "sigmoid"], "bce")
    check(lambda: load_into(other, npz if side == "npz" else pt), V,
          ["layers.0.weight: handmade (4, 3) vs torch (2, 3)"])


@NO_CUDA
def test_loads_onto_missing_cuda_say_so(tmp_path):
    hand, twin = build_twins(Spec((3, 1), ("identity",), "mse"))
    save_run(tmp_path, Spec.of(hand), hand, twin, {"dtype": "float64"})
    check(lambda: load_state(tmp_path / "state_dict.pt", map_location="cuda"), V,
          ["'cuda'", "CUDA is not available"])
    check(lambda: load_run(tmp_path, device="cuda"), V, ["'cuda'", "CUDA is not available"])
