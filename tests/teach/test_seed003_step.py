"""Seed 003's 3-2-1 sigmoid network: one forward/backward/update step, three ways.

The witness is the arithmetic written out below in seed 003's notation (net_j, o_j, δ_l,
δ_j) with ``math.exp``; torch autograd plus ``torch.optim.SGD`` is the second one.
"""

import math

import numpy as np
import pytest
import torch

from handgrad import handmade
from handgrad.compare import build_twins, hand_to_torch
from handgrad.compare.spec import Spec

W1 = [[-0.41451339, -1.77081177, -1.15804613],  # printed by seed 003 before its step
      [-1.78363994, -1.89654933, -0.46369448]]
W2 = [[-0.43875046, 0.81212614]]
B1, B2 = [0.3, 0.6], [0.2]  # seed 003 draws its biases at random and does not print them
INPUTS, TARGET, LR = [1.0, 2.0, 3.0], 1.0, 0.1


def sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def written_out_step():
    """The step by hand: returns (loss, delta_l, updated W1, b1, W2, b2)."""
    net = [sum(w * x for w, x in zip(W1[j], INPUTS)) + B1[j] for j in range(2)]
    o = [sig(n) for n in net]  # hidden outputs o_j
    net_l = W2[0][0] * o[0] + W2[0][1] * o[1] + B2[0]
    y_hat = sig(net_l)  # o_l
    loss = 0.5 * (TARGET - y_hat) ** 2
    delta_l = (y_hat - TARGET) * y_hat * (1.0 - y_hat)  # de/do_l * do_l/dnet_l
    # hidden deltas read the OLD output weights, and include o_j (1 - o_j)
    delta_j = [delta_l * W2[0][j] * o[j] * (1.0 - o[j]) for j in range(2)]
    new_W2 = [[W2[0][j] - LR * delta_l * o[j] for j in range(2)]]
    new_B2 = [B2[0] - LR * delta_l]
    new_W1 = [[W1[j][i] - LR * delta_j[j] * INPUTS[i] for i in range(3)] for j in range(2)]
    new_B1 = [B1[j] - LR * delta_j[j] for j in range(2)]
    return loss, delta_l, new_W1, new_B1, new_W2, new_B2


def load(hand):
    for key, value in zip(["layers.0.weight", "layers.0.bias", "layers.1.weight",
                           "layers.1.bias"], [W1, B1, W2, B2]):
        hand.params[key][...] = value


def test_seed003_one_step_matches_arithmetic_and_torch():
    spec = Spec((3, 2, 1), ("sigmoid", "sigmoid"), "half_mse")
    hand, twin = build_twins(spec)
    load(hand)
    hand_to_torch(hand, twin)
    X, y = np.array([INPUTS]), np.array([TARGET])

    loss, grads = hand.loss_and_grads(X, y)
    handmade.sgd_step(hand.params, grads, LR)

    opt = torch.optim.SGD(twin.parameters(), lr=LR)
    torch_loss, _ = twin.loss_and_grads(X, y)
    opt.step()

    exp_loss, exp_delta_l, *expected = written_out_step()
    # float64 throughout: a dozen roundings of order 1e-16 each; 1e-12 is generous yet
    # far below any mistake in the formulas (which would show at 1e-3 and beyond)
    assert loss == pytest.approx(exp_loss, rel=1e-12, abs=0)
    assert torch_loss == pytest.approx(exp_loss, rel=1e-12, abs=0)
    assert hand.deltas[1][0, 0] == pytest.approx(exp_delta_l, rel=1e-12, abs=0)
    keys = ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    state = twin.state_dict()
    for key, exp in zip(keys, expected):
        np.testing.assert_allclose(hand.params[key], exp, rtol=1e-12, atol=0, err_msg=key)
        np.testing.assert_allclose(state[key].numpy(), hand.params[key], rtol=1e-12, atol=0,
                                   err_msg=key)

