"""L-BFGS on both twins reaches the unpenalized logistic-regression optimum that sklearn finds.

The problem: sklearn's breast-cancer data (569 samples), a few columns, standardized, labels
0/1. The classes overlap (sklearn's own fit classifies 92% / 89% of the samples right), so
the unpenalized log-loss has a finite minimizer theta*; the loss is strictly convex there.

Three minimizations from three starting points: SciPy L-BFGS-B on the handmade gradient
(from the handmade seeded init), torch.optim.LBFGS on autograd (the same init, copied), and
sklearn's ``LogisticRegression(C=inf)`` (its own loss and gradient, from zeros).

Tolerances. Each optimizer stops at a small gradient ``g``, not at theta*; for a loss whose
Hessian is at least ``lambda_min`` along the segment between two stopping points ``a, b``::

    ||a - b|| <= (||g(a)|| + ||g(b)||) / lambda_min,     |L(a) - L*| <= ||g(a)||^2 / (2 lambda_min)

so the parameter tolerance is that bound (x2 headroom for the Hessian's variation between
the points; measured distance / bound <= 0.51 over seeds 0-5), with ``lambda_min`` from
the closed-form Hessian ``X1ᵀ diag(p (1 - p)) X1 / m`` at sklearn's optimum (X1 = [X, 1]).
The first four columns (radius, texture, perimeter, area; radius/perimeter/area nearly
collinear) give lambda_min = 3.2e-5, condition 2.2e3: gradients of ~1e-10 allow ~1e-5 of
parameter distance (measured 6e-7 at worst, |theta| = 45). Radius and texture alone are
well conditioned (lambda_min = 1.4e-2, condition 6.6): measured agreement ~1e-9.

Gradient floor. The default stop is 1e-10, but float64 cannot always resolve it: near
theta* the loss decrease ``g H^-1 g / 2`` sinks under the rounding of the loss (~eps L), so
the line search stalls once ``||g|| ~ sqrt(2 lambda_max eps L)`` ~ 2e-9 here; torch then
reports ``converged=False`` with max|g| up to 1.3e-9 (measured). GRAD_TOL is 1e-8 above that.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from handgrad import handmade, torch_ref
from handgrad.compare.train.lbfgs import (
    fit_scipy_lbfgs,
    fit_torch_lbfgs,
    flatten_params,
    unflatten_into,
)
from handgrad.compare.transfer import hand_to_torch

pytestmark = pytest.mark.filterwarnings("error")  # no deprecation or convergence warning

EPS = np.finfo(np.float64).eps
GRAD_TOL = 1e-8  # above the float64 floor ~2e-9 (module docstring); measured <= 1.3e-9
HEADROOM = 2.0  # on the gradient bound; measured distance / bound <= 0.51
REL_PARAM_TOL = 1e-6  # a fixed ceiling, so the derived bound cannot grow vacuous

FEATURES = {"first4_ill_conditioned": [0, 1, 2, 3], "radius_texture": [0, 1]}


def breast_cancer(columns):
    X, y = load_breast_cancer(return_X_y=True)
    X = X[:, columns]
    return (X - X.mean(axis=0)) / X.std(axis=0), y.astype(np.float64)


def sklearn_fit(X, y):
    clf = LogisticRegression(C=np.inf, solver="lbfgs", tol=1e-12, max_iter=10_000).fit(X, y)
    theta = np.concatenate([clf.coef_.ravel(), clf.intercept_])  # our (W (1, n), b (1,)) order
    return theta, log_loss(y, clf.predict_proba(X)[:, 1]), clf


def lambda_min(theta, X):
    """Smallest eigenvalue of the mean-BCE Hessian X1ᵀ diag(p (1 - p)) X1 / m at theta."""
    X1 = np.hstack([X, np.ones((X.shape[0], 1))])
    p = 1.0 / (1.0 + np.exp(-(X1 @ theta)))
    return np.linalg.eigvalsh(X1.T @ (X1 * (p * (1 - p))[:, None]) / X.shape[0])[0]


def torch_grad(theta, X, y):
    """Autograd's gradient of the mean BCE at theta, flattened: a witness for the handmade one."""
    twin = torch_ref.TorchNeuron(X.shape[1], "sigmoid", "bce")
    neuron = handmade.LogisticNeuron(X.shape[1])
    unflatten_into(theta, neuron.params)
    hand_to_torch(neuron, twin)
    _, grads = twin.loss_and_grads(X, y)
    return flatten_params({k: g.numpy() for k, g in grads.items()})


def hand_grad(theta, X, y):
    neuron = handmade.LogisticNeuron(X.shape[1])
    unflatten_into(theta, neuron.params)
    return flatten_params(neuron.loss_and_grads(X, y)[1])


@pytest.fixture(scope="module", params=list(FEATURES), ids=list(FEATURES))
def problem(request):
    X, y = breast_cancer(FEATURES[request.param])
    theta_sk, loss_sk, clf = sklearn_fit(X, y)
    assert 0.8 < clf.score(X, y) < 0.99  # overlapping classes: a finite optimum
    return X, y, theta_sk, loss_sk, lambda_min(theta_sk, X)


@pytest.fixture(scope="module", params=[0, 3], ids=["seed0", "seed3"])
def fits(request, problem):
    X, y = problem[:2]
    neuron = handmade.LogisticNeuron(X.shape[1], seed=request.param)
    twin = torch_ref.TorchNeuron(X.shape[1], "sigmoid", "bce")
    hand_to_torch(neuron, twin)
    result = fit_scipy_lbfgs(neuron, X, y)
    info = fit_torch_lbfgs(twin, X, y)
    theta_torch = flatten_params({k: v.numpy() for k, v in twin.state_dict().items()})
    return neuron, result, info, theta_torch


def test_scipy_writes_its_optimum_back(problem, fits):
    X, y = problem[:2]
    neuron, result, _, _ = fits
    assert result.success, result.message
    np.testing.assert_array_equal(flatten_params(neuron.params), result.x)
    assert neuron.loss_value(X, y) == result.fun  # the same float64 evaluation


def test_gradient_is_tiny_at_each_optimum(problem, fits):
    """Each optimum is checked with the other side's gradient (autograd for SciPy's)."""
    X, y, theta_sk = problem[:3]
    _, result, info, theta_torch = fits
    assert np.abs(torch_grad(result.x, X, y)).max() <= GRAD_TOL
    assert np.abs(hand_grad(theta_torch, X, y)).max() <= GRAD_TOL
    assert info["grad_max"] <= GRAD_TOL and info["n_iter"] < 10_000
    assert np.abs(hand_grad(theta_sk, X, y)).max() <= GRAD_TOL


@pytest.mark.parametrize("pair", ["scipy-torch", "scipy-sklearn", "torch-sklearn"])
def test_same_optimum(problem, fits, pair):
    """Distances within the conditioning bound ``(||g_a|| + ||g_b||) / lambda_min``."""
    X, y, theta_sk, _, lam = problem
    _, result, _, theta_torch = fits
    thetas = {"scipy": result.x, "torch": theta_torch, "sklearn": theta_sk}
    a, b = (thetas[name] for name in pair.split("-"))
    bound = HEADROOM * (np.linalg.norm(hand_grad(a, X, y)) +
                        np.linalg.norm(hand_grad(b, X, y))) / lam
    distance = np.linalg.norm(a - b)
    assert distance <= bound, f"{pair}: |a - b| = {distance:.2e} > bound {bound:.2e}"
    assert distance <= REL_PARAM_TOL * np.linalg.norm(theta_sk)


def test_same_minimum_loss(problem, fits):
    """SciPy's, torch's and sklearn's (``sklearn.metrics.log_loss``) minimum losses agree."""
    X, y, theta_sk, loss_sk, lam = problem
    _, result, info, theta_torch = fits
    slack = sum(np.linalg.norm(hand_grad(t, X, y)) ** 2
                for t in (result.x, theta_torch, theta_sk)) / (2 * lam) + 8 * EPS * loss_sk
    assert abs(result.fun - loss_sk) <= slack
    assert abs(info["loss"] - loss_sk) <= slack
    assert abs(result.fun - info["loss"]) <= slack


def test_torch_info_describes_the_final_parameters(problem, fits):
    X, y = problem[:2]
    _, _, info, theta_torch = fits
    neuron = handmade.LogisticNeuron(X.shape[1])
    unflatten_into(theta_torch, neuron.params)
    assert info["loss"] == pytest.approx(neuron.loss_value(X, y), rel=4 * EPS)
    assert info["grad_max"] == pytest.approx(np.abs(hand_grad(theta_torch, X, y)).max(),
                                             rel=1e-3)  # ~1e-9 from a sum of ~0.1 terms


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_flatten_unflatten_round_trip(dtype):
    model = handmade.MLP([3, 4, 2], ["tanh", "identity"], "mse", seed=5, dtype=dtype)
    theta = flatten_params(model.params)
    assert theta.dtype == np.float64 and theta.shape == (3 * 4 + 4 + 4 * 2 + 2,)
    np.testing.assert_array_equal(theta[:12].reshape(4, 3), model.params["layers.0.weight"])
    np.testing.assert_array_equal(theta[12:16], model.params["layers.0.bias"])
    other = handmade.MLP([3, 4, 2], ["tanh", "identity"], "mse", seed=6, dtype=dtype)
    unflatten_into(theta, other.params)
    for key, value in model.params.items():
        np.testing.assert_array_equal(other.params[key], value)
        assert other.params[key].dtype == dtype
    with pytest.raises(ValueError, match=r"shape \(26,\)"):
        unflatten_into(theta[:-1], other.params)


def test_torch_stops_at_once_when_already_converged():
    X, y = breast_cancer([0, 1])
    twin = torch_ref.TorchNeuron(2, "sigmoid", "bce")
    theta_sk = sklearn_fit(X, y)[0]
    with torch.no_grad():
        twin.layers[0].weight.copy_(torch.as_tensor(theta_sk[:2]).reshape(1, 2))
        twin.layers[0].bias.copy_(torch.as_tensor(theta_sk[2:]))
    info = fit_torch_lbfgs(twin, X, y, tolerance_grad=1e-9)  # sklearn's |g| is ~1e-12
    assert info["converged"] and info["n_iter"] == 0 and info["steps"] == 1
