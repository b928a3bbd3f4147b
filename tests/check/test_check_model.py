"""check_model: a CS231n-style net in its own names and layouts, L2 included, no adapter.

The net is written as a student writes it (W1 (D, H), b1, W2 (H, C), b2; ReLU; softmax
cross-entropy; 0.5 * reg * (|W1|² + |W2|²)); each slip is a subclass that changes one line.
The references are torch autograd of ``torch_loss`` below and finite differences.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from handgrad.compare import assert_model_match, check_model

REG = 0.05


class TwoLayerNet:
    def __init__(self, D=4, H=6, C=3, reg=REG, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {"W1": 0.5 * rng.standard_normal((D, H)), "b1": 0.1 * rng.standard_normal(H),
                       "W2": 0.5 * rng.standard_normal((H, C)), "b2": 0.1 * rng.standard_normal(C)}
        self.reg = reg

    def relu_mask(self, h_pre):
        return h_pre > 0

    def loss(self, X, y):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        N = X.shape[0]
        h_pre = X @ W1 + b1
        h = np.maximum(h_pre, 0)
        scores = h @ W2 + b2
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(N), y]).mean() + 0.5 * self.reg * (
            np.sum(W1 * W1) + np.sum(W2 * W2))
        dscores = p.copy()
        dscores[np.arange(N), y] -= 1
        dscores /= self.batch_divisor(N)
        dW2 = self.dW2(h, h_pre, dscores) + self.reg_grad(W2)
        db2 = dscores.sum(axis=0)
        dh_pre = (dscores @ W2.T) * self.relu_mask(h_pre)
        dW1 = X.T @ dh_pre + self.reg_grad(W1)
        db1 = dh_pre.sum(axis=0)
        return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}

    def batch_divisor(self, N):
        return N

    def dW2(self, h, h_pre, dscores):
        return h.T @ dscores

    def reg_grad(self, W):
        return self.reg * W


def torch_loss(p, X, y):
    scores = torch.relu(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    return F.cross_entropy(scores, y) + 0.5 * REG * ((p["W1"] ** 2).sum() + (p["W2"] ** 2).sum())


class ForgotReg(TwoLayerNet):
    def reg_grad(self, W):
        return 0.0 * W


class ForgotReluMask(TwoLayerNet):
    def relu_mask(self, h_pre):
        return np.ones_like(h_pre)


class ForgotOneOverN(TwoLayerNet):
    def batch_divisor(self, N):
        return 1


class PreReluDW2(TwoLayerNet):
    def dW2(self, h, h_pre, dscores):
        return h_pre.T @ dscores


def data(m=7, D=4, C=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, D)), rng.integers(0, C, m)


def test_cs231n_net_with_l2_verifies_without_an_adapter():
    net, (X, y) = TwoLayerNet(), data()
    report = assert_model_match(net.params, net.loss, X, y, torch_loss)
    assert report.references == ["autograd", "fd"]
    assert {e.name for e in report.entries} == {"loss", "W1", "b1", "W2", "b2"}


@pytest.mark.parametrize("cls, flagged", [
    (ForgotReg, ["W1", "W2"]),
    (ForgotReluMask, ["W1", "b1"]),
    (ForgotOneOverN, ["W1", "b1", "W2", "b2"]),
    (PreReluDW2, ["W2"]),
], ids=["regularization-gradient-forgotten", "relu-mask-forgotten", "one-over-N-forgotten",
        "dW2-from-pre-relu-activations"])
def test_each_slip_fails_and_names_its_parameters(cls, flagged):
    net, (X, y) = cls(), data()
    report = check_model(net.params, net.loss, X, y, torch_loss)
    assert report.failures == flagged, report
    fd_only = check_model(net.params, net.loss, X, y)  # finite differences see it too
    assert fd_only.failures == flagged, fd_only
    with pytest.raises(AssertionError, match="gradient check FAILED"):
        assert_model_match(net.params, net.loss, X, y, torch_loss)


def test_finite_differences_alone_say_so():
    net, (X, y) = TwoLayerNet(), data()
    report = check_model(net.params, net.loss, X, y)
    assert report.ok and report.references == ["fd"]
    assert "no torch reference given" in str(report)
    assert all(e.autograd_rel_err is None and e.fd_rel_err is not None
               for e in report.entries)


def test_params_are_restored_bit_for_bit():
    net, (X, y) = TwoLayerNet(), data()
    before = {k: v.copy() for k, v in net.params.items()}
    check_model(net.params, net.loss, X, y, torch_loss)
    for k, v in net.params.items():
        assert np.array_equal(v, before[k]), k


class FlatNet(TwoLayerNet):
    """Keeps every parameter in one flat vector; ``params`` holds views into it (W transposed)."""

    def __init__(self):
        super().__init__()
        shapes = {k: v.shape for k, v in self.params.items()}
        self.theta = np.concatenate([v.T.ravel() for v in self.params.values()])
        self.params, start = {}, 0
        for k, shape in shapes.items():
            size = int(np.prod(shape))
            self.params[k] = self.theta[start:start + size].reshape(shape[::-1]).T  # a view
            start += size


def test_params_held_as_views_of_the_users_arrays():
    net, (X, y) = FlatNet(), data()
    assert all(np.shares_memory(v, net.theta) for v in net.params.values())
    report = assert_model_match(net.params, net.loss, X, y, torch_loss)
    assert report.entry("W1").fd_rel_err < 1e-6  # the perturbation reached the user's code


class ThreeLayerNet:
    """relu-relu-softmax; ``loss`` returns dL/d(every intermediate) as a third item."""

    def __init__(self, sizes=(5, 7, 6, 4), seed=0, bug_in_layer2_mask=False):
        rng = np.random.default_rng(seed)
        self.params = {}
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            self.params[f"W{i}"] = rng.standard_normal((a, b)) / np.sqrt(a)
            self.params[f"b{i}"] = 0.1 * rng.standard_normal(b)
        self.bug = bug_in_layer2_mask

    def loss(self, X, y):
        p = self.params
        z1 = X @ p["W1"] + p["b1"]
        h1 = np.maximum(z1, 0)
        z2 = h1 @ p["W2"] + p["b2"]
        h2 = np.maximum(z2, 0)
        scores = h2 @ p["W3"] + p["b3"]
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        prob = e / e.sum(axis=1, keepdims=True)
        N = len(X)
        loss = -np.log(prob[np.arange(N), y]).mean()
        d = {"scores": prob - np.eye(scores.shape[1])[y]}
        d["scores"] /= N
        d["h2"] = d["scores"] @ p["W3"].T
        d["z2"] = d["h2"] if self.bug else d["h2"] * (z2 > 0)
        d["h1"] = d["z2"] @ p["W2"].T
        d["z1"] = d["h1"] * (z1 > 0)
        grads = {"W3": h2.T @ d["scores"], "b3": d["scores"].sum(0),
                 "W2": h1.T @ d["z2"], "b2": d["z2"].sum(0),
                 "W1": X.T @ d["z1"], "b1": d["z1"].sum(0)}
        return loss, grads, d


def three_layer_torch(p, X, y):
    z1 = X @ p["W1"] + p["b1"]
    h1 = torch.relu(z1)
    z2 = h1 @ p["W2"] + p["b2"]
    h2 = torch.relu(z2)
    scores = h2 @ p["W3"] + p["b3"]
    return F.cross_entropy(scores, y), {"z1": z1, "h1": h1, "z2": z2, "h2": h2,
                                        "scores": scores}


def test_named_intermediates_localize_a_planted_bug():
    X, y = data(m=9, D=5, C=4, seed=3)
    net = ThreeLayerNet()
    good = check_model(net.params, net.loss, X, y, three_layer_torch)
    assert good.ok, good
    net = ThreeLayerNet(bug_in_layer2_mask=True)
    report = check_model(net.params, net.loss, X, y, three_layer_torch)
    walked = [e.name for e in report.entries if e.kind == "intermediate"]
    assert walked == ["scores", "h2", "z2", "h1", "z1"]  # walking back from the loss
    assert report.first_bad == "z2"  # the mask of layer 2 is where it goes wrong
    assert set(report.failures) == {"W2", "b2", "W1", "b1"}
    assert "first bad intermediate walking back from the loss: z2" in str(report)


def test_a_loss_that_does_not_read_params_is_named():
    net, other, (X, y) = TwoLayerNet(), TwoLayerNet(), data()
    report = check_model(net.params, other.loss, X, y)  # perturbing net.params changes nothing
    assert not report.ok
    assert "the loss did not change when params were perturbed" in str(report)
