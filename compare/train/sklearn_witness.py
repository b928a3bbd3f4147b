"""scikit-learn's MLPClassifier as an outside witness: backprop derived by hand by others.

A handmade ``MLP`` with one hidden activation shared by every hidden layer and a
classification head maps onto ``MLPClassifier`` trained by plain SGD (no momentum, no L2,
constant step)::

    handmade                                  sklearn
    Z_l = A_{l-1} @ W_l.T + b_l  (m, out_l)   Z_l = A_{l-1} @ coefs_[l] + intercepts_[l]
    W_l (out_l, in_l), b_l (out_l,)           coefs_[l] = W_l.T (in_l, out_l), intercepts_[l] = b_l
    identity / sigmoid / tanh / relu          identity / logistic / tanh / relu
    sigmoid + bce, 1 output                   logistic + binary log-loss (2 classes)
    identity + bce_with_logits, 1 output      the same function of Z
    identity + cross_entropy, k >= 3          softmax + log-loss (k classes)
    softmax + nll, k >= 3                     the same function of Z

Both take ``theta <- theta - lr * dL/dtheta`` with ``L`` the mean loss over the batch, and
sklearn's delta at the output is ``A - Y`` (Y one-hot (m, k), or (m, 1) for two classes).
sklearn clips probabilities to ``[eps, 1 - eps]`` in the loss value (not in the gradient),
so the two losses agree while no output saturates (|z| < ~36 in float64).

``sklearn_sgd_trajectory`` steps the classifier with ``partial_fit`` on ``X[idx], y[idx]``
for each batch and records ``loss_``, the batch loss at the parameters before the step.
"""

from __future__ import annotations

import numpy as np
from sklearn.neural_network import MLPClassifier

HIDDEN = {"identity": "identity", "sigmoid": "logistic", "tanh": "tanh", "relu": "relu"}
BINARY_HEADS = {("sigmoid", "bce"), ("identity", "bce_with_logits")}
MULTICLASS_HEADS = {("identity", "cross_entropy"), ("softmax", "nll")}


def _check_supported(model) -> str:
    """sklearn's name of the hidden activation; ValueError for what sklearn cannot express."""
    sizes, acts = list(model.sizes), list(model.activations)
    hidden, head = acts[:-1], (acts[-1], model.loss)
    if getattr(model, "reduction", "mean") != "mean":
        raise ValueError(f"sklearn averages the loss over the batch; reduction "
                         f"{model.reduction!r} is not supported (use 'mean')")
    if len(set(hidden)) > 1:
        raise ValueError(f"sklearn uses one activation for all hidden layers, got {hidden}")
    if hidden and hidden[0] not in HIDDEN:
        raise ValueError(f"hidden activation {hidden[0]!r} has no sklearn equivalent; "
                         f"supported: {sorted(HIDDEN)}")
    if head in BINARY_HEADS and sizes[-1] == 1:
        pass
    elif head in MULTICLASS_HEADS and sizes[-1] >= 3:
        pass
    else:
        raise ValueError(
            f"output {head[0]!r} with loss {head[1]!r} and {sizes[-1]} output(s) has no "
            "MLPClassifier equivalent; supported: sigmoid + bce or identity + "
            "bce_with_logits with 1 output, identity + cross_entropy or softmax + nll with "
            ">= 3 outputs")
    return HIDDEN[hidden[0]] if hidden else "identity"


def _labels(model, y) -> tuple[np.ndarray, np.ndarray]:
    """``(y as sklearn reads it (m,), classes)``: 0/1 floats, or class indices 0..k-1."""
    k = model.sizes[-1]
    if k == 1:
        return np.asarray(y, dtype=np.float64).reshape(-1), np.array([0.0, 1.0])
    return np.asarray(y).astype(np.int64).reshape(-1), np.arange(k)


def set_sklearn_params(clf: MLPClassifier, params: dict[str, np.ndarray]) -> None:
    """In place: ``coefs_[l] = W_l.T``, ``intercepts_[l] = b_l`` (shapes must match)."""
    for layer, (coef, intercept) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        W, b = params[f"layers.{layer}.weight"], params[f"layers.{layer}.bias"]
        if coef.shape != W.T.shape or intercept.shape != b.shape:
            raise ValueError(f"layer {layer}: sklearn holds {coef.shape}/{intercept.shape}, "
                             f"the model W.T {W.T.shape} and b {b.shape}")
        coef[...] = W.T  # (in, out), casts to sklearn's dtype (that of X)
        intercept[...] = b  # (out,)


def sklearn_params(clf: MLPClassifier) -> dict[str, np.ndarray]:
    """sklearn's parameters keyed and shaped like ``MLP.params`` (copies, W = coefs_.T)."""
    params = {}
    for layer, (coef, intercept) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        params[f"layers.{layer}.weight"] = coef.T.copy()  # (out, in)
        params[f"layers.{layer}.bias"] = intercept.copy()  # (out,)
    return params


def sklearn_twin(hand_model, X, y, lr: float) -> MLPClassifier:
    """An ``MLPClassifier`` (plain SGD, step ``lr``) holding ``hand_model``'s current params.

    sklearn allocates its weights, label binarizer and optimizer on the first
    ``partial_fit`` call, and that call also draws a random init and takes one step. So:
    one ``partial_fit`` on all of ``(X, y)`` with every class declared, then the handmade
    parameters are written over ``coefs_`` / ``intercepts_`` in place. The optimizer
    (created once, with velocities that momentum 0 multiplies away) is kept, and later
    ``partial_fit`` calls step from the parameters written here.
    """
    activation = _check_supported(hand_model)
    X = np.asarray(X, dtype=hand_model.dtype)  # sklearn computes in X's dtype
    y_sk, classes = _labels(hand_model, y)
    clf = MLPClassifier(hidden_layer_sizes=tuple(hand_model.sizes[1:-1]), activation=activation,
                        solver="sgd", alpha=0.0, batch_size=X.shape[0], learning_rate="constant",
                        learning_rate_init=lr, momentum=0.0, nesterovs_momentum=False,
                        shuffle=False, early_stopping=False, random_state=0)
    clf.partial_fit(X, y_sk, classes=classes)  # allocates everything; its step is overwritten
    expected_out = "logistic" if hand_model.sizes[-1] == 1 else "softmax"
    if clf.out_activation_ != expected_out or clf.n_outputs_ != hand_model.sizes[-1]:
        raise ValueError(f"sklearn built a {clf.out_activation_} head with {clf.n_outputs_} "
                         f"outputs, expected {expected_out} with {hand_model.sizes[-1]}")
    set_sklearn_params(clf, hand_model.params)
    return clf


def sklearn_sgd_trajectory(hand_model, X, y, batches, lr: float, *,
                           clf: MLPClassifier | None = None) -> list[float]:
    """sklearn's batch losses along plain SGD from ``hand_model``'s current parameters.

    Args:
        hand_model: a handmade ``MLP`` (or neuron) that ``MLPClassifier`` can express (see
            the module docstring); it is not modified.
        X: inputs (m, n_in); y: 0/1 labels (m,) or (m, 1) for one output, class indices
            (m,) for k >= 3 outputs.
        batches: a sequence of integer index arrays; step ``t`` trains on
            ``X[batches[t]], y[batches[t]]``.
        lr: the SGD step size.
        clf: an ``MLPClassifier`` from ``sklearn_twin(hand_model, X, y, lr)`` to step (read
            its final parameters with ``sklearn_params(clf)``); built here if None.

    Returns:
        ``[loss_0, loss_1, ...]``: sklearn's ``loss_`` after each ``partial_fit``, i.e. the
        mean loss of batch ``t`` at the parameters before step ``t``.
    """
    if clf is None:
        clf = sklearn_twin(hand_model, X, y, lr)
    elif clf.learning_rate_init != lr:
        raise ValueError(f"clf steps with lr={clf.learning_rate_init}, asked for lr={lr}")
    X = np.asarray(X, dtype=hand_model.dtype)
    y_sk, _ = _labels(hand_model, y)
    losses = []
    for idx in batches:
        idx = np.asarray(idx)
        if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu":
            raise ValueError(f"each batch must be a non-empty 1-D integer index array, got "
                             f"{idx!r}")
        clf.batch_size = idx.size  # one minibatch = the whole call (no split, no warning)
        clf.partial_fit(X[idx], y_sk[idx])
        losses.append(float(clf.loss_))  # batch_loss * size / size: the loss before the step
    return losses
