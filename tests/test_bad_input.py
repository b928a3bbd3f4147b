"""Bad input gets a clear error naming the argument, what was expected and what was given.

(The start of issue 6's corpus; more cases live beside the code they guard, in
test_models.py, test_losses.py, test_optim.py, test_transfer.py and test_cli.py.)
"""

import numpy as np
import pytest

import handmade

MODEL = handmade.MLP([3, 4, 1], ["tanh", "sigmoid"], "bce")
X = np.zeros((5, 3))
Y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])


@pytest.mark.parametrize("X_bad, y_bad, error, words", [
    (np.array([[np.nan, 0, 0]] * 5), Y, ValueError, ["X must be finite", "NaN/Inf"]),
    (np.array([[np.inf, 0, 0]] * 5), Y, ValueError, ["X must be finite"]),
    (X, np.array([0.0, 1.0, 2.0, 0.0, 1.0]), ValueError, ["bce", "[0, 1]", "max 2"]),
    (X, np.array([0.0, -1.0, 1.0, 0.0, 1.0]), ValueError, ["bce", "min -1"]),
    (X, np.array([0.0, np.nan, 1.0, 0.0, 1.0]), ValueError, ["bce", "finite"]),
    (X, np.array(["a", "b", "c", "d", "e"]), TypeError, ["bce", "numeric"]),
    (X, Y[:4], ValueError, ["bce", "4 elements", "5"]),
    (np.zeros((5, 2)), Y, ValueError, ["X must have shape (m, 3)", "(5, 2)"]),
    (np.zeros((0, 3)), Y[:0], ValueError, ["empty batch"]),
], ids=["nan-X", "inf-X", "label-2", "label-negative", "nan-label", "text-labels",
        "label-count", "X-columns", "empty"])
def test_bad_input_is_a_clear_error(X_bad, y_bad, error, words):
    with pytest.raises(error) as info:
        MODEL.loss_and_grads(X_bad, y_bad)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_soft_binary_targets_are_accepted_as_torch_accepts_them():
    loss, _ = MODEL.loss_and_grads(X, np.full(5, 0.25))
    assert np.isfinite(loss)


@pytest.mark.parametrize("args, words", [
    (["train", "--hidden", "8,x"], ["invalid literal"]),
    (["train", "--device", "cuda:7"], ["cuda:7"]),
    (["train", "--activation", "swish"], ["unknown activation 'swish'", "relu"]),
    (["train", "--loss", "hinge"], ["unknown loss 'hinge'", "cross_entropy"]),
    (["derive", "seed004"], ["unknown example 'seed004'", "seed003"]),
    (["count", "5"], ["sizes"]),
], ids=["hidden-not-int", "no-such-device", "unknown-activation", "unknown-loss",
        "unknown-example", "one-size"])
def test_cli_usage_errors_exit_2_without_a_traceback(args, words, capsys, tmp_path):
    from compare import cli

    assert cli.main([*args, *(["--out", str(tmp_path)] if args[0] == "train" else [])]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


def test_check_gradients_refuses_objects_it_cannot_check():
    from compare import check_gradients

    class NoParams:
        def loss_and_grads(self, X, y):
            return 0.0, {}

    with pytest.raises(TypeError, match="params"):
        check_gradients(NoParams(), X, Y)
    with pytest.raises(ValueError, match="fd must be"):
        check_gradients(MODEL, X, Y, fd="backward")
