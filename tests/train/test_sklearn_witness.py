"""Plain SGD with the handmade gradients follows scikit-learn's MLPClassifier step for step.

sklearn's backprop was derived by hand by other people, in another order of operations:
Z = A @ coefs_ (W.T stored), output delta A - Y, its own activation derivatives from the
outputs. The handmade side is trained here, in the test, by
``loss, grads = model.loss_and_grads(X[idx], y[idx]); handmade.sgd_step(model.params,
grads, lr)`` over one fixed batch sequence (10 seeded permutations cut into batches of 16;
iris's 150 samples end each epoch with a batch of 6); sklearn steps ``partial_fit`` over the
same batches: 100 steps per case.

Tolerances. Both sides evaluate the same float64 formulas in a different order, so each
step differs by a few ulps (the clipping of probabilities in sklearn's log-loss never acts:
outputs stay far from saturation, which a test checks). Over ~100 steps the differences
stay at that level, measured <= 8.4e-16 relative for the losses and the final parameters;
RTOL64 = 1e-12 leaves ~1000x room for growth along other trajectories. In float32 both
compute in float32 (sklearn in X's dtype): measured <= 2.2e-7 = 1.8 eps32; RTOL32 = 1e-5.
A model whose bias gradient is off by a factor 2 leaves the witness at the first step.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_moons

from handgrad import handmade
from handgrad.compare.train.sklearn_witness import (
    sklearn_params,
    sklearn_sgd_trajectory,
    sklearn_twin,
)

pytestmark = pytest.mark.filterwarnings("error")  # sklearn must not warn (batch size, ...)

RTOL = {np.float64: 1e-12, np.float32: 1e-5}  # reasons in the module docstring
BATCH, EPOCHS = 16, 10


def moons():
    X, y = make_moons(160, noise=0.2, random_state=0)
    return X, y.astype(np.float64)  # 0/1 labels (m,)


def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y  # 3 classes, indices (m,)


def make_batches(m, seed=0):
    """EPOCHS seeded permutations of range(m), cut into batches of BATCH (last one short)."""
    rng = np.random.default_rng(seed)
    return [perm[i:i + BATCH] for perm in (rng.permutation(m) for _ in range(EPOCHS))
            for i in range(0, m, BATCH)]


CASES = {  # id: (model factory, data, lr)
    "tanh-sigmoid-bce": (lambda dt: handmade.MLP([2, 8, 1], ["tanh", "sigmoid"], "bce",
                                                 seed=0, dtype=dt), moons, 0.5),
    "tanh-identity-bce_with_logits": (lambda dt: handmade.MLP(
        [2, 8, 1], ["tanh", "identity"], "bce_with_logits", seed=1, dtype=dt), moons, 0.5),
    "identity2-sigmoid-bce": (lambda dt: handmade.MLP(
        [2, 5, 5, 1], ["identity", "identity", "sigmoid"], "bce", seed=2, dtype=dt), moons, 0.3),
    "logistic_neuron": (lambda dt: handmade.LogisticNeuron(2, seed=3, dtype=dt), moons, 0.5),
    "relu-identity-cross_entropy": (lambda dt: handmade.MLP(
        [4, 6, 3], ["relu", "identity"], "cross_entropy", seed=0, dtype=dt), iris, 0.1),
    "relu-softmax-nll": (lambda dt: handmade.MLP(
        [4, 6, 3], ["relu", "softmax"], "nll", seed=4, dtype=dt), iris, 0.1),
    "sigmoid2-identity-cross_entropy": (lambda dt: handmade.MLP(
        [4, 6, 5, 3], ["sigmoid", "sigmoid", "identity"], "cross_entropy", seed=5, dtype=dt),
        iris, 0.5),
}
PARAMS = [pytest.param((name, np.float64), id=name) for name in CASES] + [
    pytest.param((name, np.float32), id=f"{name}-float32")
    for name in ("tanh-sigmoid-bce", "relu-identity-cross_entropy")]


def train_by_hand(model, X, y, batches, lr):
    losses = []
    for idx in batches:
        loss, grads = model.loss_and_grads(X[idx], y[idx])
        handmade.sgd_step(model.params, grads, lr)
        losses.append(loss)
    return np.array(losses)


@pytest.fixture(scope="module", params=PARAMS)
def runs(request):
    name, dtype = request.param
    factory, data, lr = CASES[name]
    X, y = data()
    X = X.astype(dtype)
    batches = make_batches(X.shape[0])
    model = factory(dtype)
    start = {k: v.copy() for k, v in model.params.items()}
    clf = sklearn_twin(model, X, y, lr)
    sk_losses = np.array(sklearn_sgd_trajectory(model, X, y, batches, lr, clf=clf))
    untouched = all(np.array_equal(model.params[k], v) for k, v in start.items())
    hand_losses = train_by_hand(model, X, y, batches, lr)
    return model, X, hand_losses, sk_losses, sklearn_params(clf), untouched, RTOL[dtype]


def test_losses_follow_sklearn_step_by_step(runs):
    _, _, hand_losses, sk_losses, _, _, rtol = runs
    assert len(hand_losses) == len(sk_losses) >= 100
    np.testing.assert_allclose(hand_losses, sk_losses, rtol=rtol, atol=0)
    assert hand_losses[-BATCH:].mean() < 0.8 * hand_losses[:BATCH].mean()  # it did train


def test_final_parameters_equal_sklearns(runs):
    model, _, _, _, sk_params, _, rtol = runs
    assert sk_params.keys() == model.params.keys()
    for key, value in model.params.items():
        assert sk_params[key].dtype == value.dtype
        scale = np.abs(value).max()  # normwise: a near-zero entry has no relative precision
        np.testing.assert_allclose(sk_params[key], value, rtol=0, atol=rtol * scale,
                                   err_msg=key)


def test_outputs_stay_away_from_saturation(runs):
    """sklearn clips p to [eps, 1 - eps] in its log-loss; |z| < 20 keeps that idle."""
    model, X = runs[:2]
    assert np.abs(model.preactivations(X)[-1]).max() < 20


def test_trajectory_leaves_the_model_untouched(runs):
    assert runs[5]


def test_witness_catches_a_wrong_gradient():
    class DoubledBias(handmade.MLP):  # the README's slip: bias gradient times 2
        def backward(self, dA):
            grads = super().backward(dA)
            grads["layers.0.bias"] = 2 * grads["layers.0.bias"]
            return grads

    X, y = moons()
    batches = make_batches(X.shape[0])[:5]
    model = DoubledBias([2, 8, 1], ["tanh", "sigmoid"], "bce", seed=0)
    sk_losses = sklearn_sgd_trajectory(model, X, y, batches, 0.5)
    hand_losses = train_by_hand(model, X, y, batches, 0.5)
    assert hand_losses[0] == pytest.approx(sk_losses[0], rel=1e-12)  # same start
    assert np.abs(hand_losses[1:] - sk_losses[1:]).max() > 1e-6 * sk_losses[1]


UNSUPPORTED = {
    "leaky_relu_hidden": (([2, 4, 1], ["leaky_relu", "sigmoid"], "bce"), {}, "no sklearn"),
    "mixed_hidden": (([2, 4, 4, 1], ["tanh", "relu", "sigmoid"], "bce"), {}, "one activation"),
    "mse_loss": (([2, 4, 1], ["tanh", "identity"], "mse"), {}, "no MLPClassifier"),
    "cross_entropy_2_outputs": (([2, 4, 2], ["tanh", "identity"], "cross_entropy"), {},
                                "2 output"),
    "bce_2_outputs": (([2, 4, 2], ["tanh", "sigmoid"], "bce"), {}, "2 output"),
    "reduction_sum": (([2, 4, 1], ["tanh", "sigmoid"], "bce"), {"reduction": "sum"},
                      "reduction 'sum'"),
}


@pytest.mark.parametrize("name", list(UNSUPPORTED))
def test_unsupported_models_are_refused(name):
    args, kwargs, message = UNSUPPORTED[name]
    model = handmade.MLP(*args, **kwargs)
    X, y = moons()
    with pytest.raises(ValueError, match=message):
        sklearn_sgd_trajectory(model, X, y, make_batches(X.shape[0])[:2], 0.1)


@pytest.mark.parametrize("bad", [np.array([0.0, 1.0]), np.array([], dtype=int),
                                 np.array([[0, 1]])], ids=["float", "empty", "2-d"])
def test_bad_batches_are_refused(bad):
    X, y = moons()
    model = handmade.MLP([2, 4, 1], ["tanh", "sigmoid"], "bce")
    with pytest.raises(ValueError, match="1-D integer index array"):
        sklearn_sgd_trajectory(model, X, y, [bad], 0.1)


def test_clf_with_another_step_size_is_refused():
    X, y = moons()
    model = handmade.MLP([2, 4, 1], ["tanh", "sigmoid"], "bce")
    with pytest.raises(ValueError, match="lr=0.2"):
        sklearn_sgd_trajectory(model, X, y, [np.arange(4)], 0.2,
                               clf=sklearn_twin(model, X, y, 0.1))
