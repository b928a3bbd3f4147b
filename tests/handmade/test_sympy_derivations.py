"""The written derivations, checked by SymPy: symbolic derivative == the formula in the docs.

Each test differentiates the loss symbolically, proves that the result equals the
formula the derivation ends with (their difference simplifies to 0), and then evaluates
that formula at numbers beside the handmade code.
"""

import numpy as np
import pytest
import sympy as sp

from handgrad import handmade


def sigma(z):
    return 1 / (1 + sp.exp(-z))


def test_logistic_neuron_gradient_symbolic():
    # one sample (the mean over samples follows by linearity)
    x = sp.symbols("x1:4", real=True)
    w = sp.symbols("w1:4", real=True)
    b, y = sp.symbols("b y", real=True)
    z = sum(wi * xi for wi, xi in zip(w, x)) + b
    a = sigma(z)
    loss = -(y * sp.log(a) + (1 - y) * sp.log(1 - a))  # binary cross-entropy
    # docs/derivations/logistic_neuron.md: dL/dw_j = (a - y) x_j, dL/db = a - y
    for wj, xj in zip(w, x):
        assert sp.simplify(sp.diff(loss, wj) - (a - y) * xj) == 0
    assert sp.simplify(sp.diff(loss, b) - (a - y)) == 0

    # and at numbers, beside LogisticNeuron's closed form over a batch of m = 4
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((4, 3)), np.array([0.0, 1.0, 1.0, 0.0])
    W, B = rng.standard_normal(3), 0.2
    grad_w = [sp.lambdify((*w, b, *x, y), sp.diff(loss, wj)) for wj in w]
    grad_b = sp.lambdify((*w, b, *x, y), sp.diff(loss, b))
    expected_w = np.mean([[g(*W, B, *X[i], Y[i]) for g in grad_w] for i in range(4)], axis=0)
    expected_b = np.mean([grad_b(*W, B, *X[i], Y[i]) for i in range(4)])
    neuron = handmade.LogisticNeuron(3)
    neuron.params["layers.0.weight"][...] = W
    neuron.params["layers.0.bias"][...] = B
    _, grads = neuron.loss_and_grads(X, Y)
    # float64 evaluation of the same expression in another order: 1e-12 relative
    np.testing.assert_allclose(grads["layers.0.weight"][0], expected_w, rtol=1e-12)
    assert grads["layers.0.bias"][0] == pytest.approx(expected_b, rel=1e-12)


def test_one_hidden_layer_gradients_symbolic():
    # seed 003's shape, smaller: 2 inputs, 2 sigmoid hidden units, 1 sigmoid output, ½(t - o)²
    x = sp.symbols("x1:3", real=True)
    t = sp.Symbol("t", real=True)
    W1 = sp.Matrix(2, 2, sp.symbols("u11 u12 u21 u22", real=True))
    b1 = sp.Matrix(sp.symbols("c1 c2", real=True))
    W2 = sp.Matrix(1, 2, sp.symbols("v1 v2", real=True))
    b2 = sp.Symbol("d", real=True)
    net_j = W1 * sp.Matrix(x) + b1
    o_j = net_j.applyfunc(sigma)
    o_l = sigma((W2 * o_j)[0] + b2)
    loss = (t - o_l) ** 2 / 2
    # docs/derivations/backprop.md
    delta_l = (o_l - t) * o_l * (1 - o_l)
    delta_j = [delta_l * W2[j] * o_j[j] * (1 - o_j[j]) for j in range(2)]
    written = {W2[j]: delta_l * o_j[j] for j in range(2)}
    written[b2] = delta_l
    for j in range(2):
        written[b1[j]] = delta_j[j]
        for i in range(2):
            written[W1[j, i]] = delta_j[j] * x[i]
    for symbol, formula in written.items():
        assert sp.simplify(sp.diff(loss, symbol) - formula) == 0, symbol

    # and at numbers, beside MLP.loss_and_grads
    rng = np.random.default_rng(1)
    values = {s: float(v) for s, v in zip(
        [*W1, *b1, *W2, b2, *x, t], rng.standard_normal(13))}
    net = handmade.MLP([2, 2, 1], ["sigmoid", "sigmoid"], "half_mse")
    net.params["layers.0.weight"][...] = np.array([[values[W1[j, i]] for i in range(2)]
                                                   for j in range(2)])
    net.params["layers.0.bias"][...] = [values[b1[0]], values[b1[1]]]
    net.params["layers.1.weight"][...] = [[values[W2[0]], values[W2[1]]]]
    net.params["layers.1.bias"][...] = [values[b2]]
    loss_value, grads = net.loss_and_grads(np.array([[values[x[0]], values[x[1]]]]),
                                           np.array([values[t]]))
    assert loss_value == pytest.approx(float(loss.subs(values)), rel=1e-12)
    got = {W2[0]: grads["layers.1.weight"][0, 0], W2[1]: grads["layers.1.weight"][0, 1],
           b2: grads["layers.1.bias"][0], b1[0]: grads["layers.0.bias"][0],
           b1[1]: grads["layers.0.bias"][1]}
    for j in range(2):
        for i in range(2):
            got[W1[j, i]] = grads["layers.0.weight"][j, i]
    for symbol, value in got.items():
        expected = float(sp.diff(loss, symbol).subs(values))
        # float64 evaluation of the same chain in another order: 1e-12 relative
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-15), symbol
