"""check_gradients with what users bring: an adapter over views, a twin they wrote themselves."""

import numpy as np
import torch
from torch import nn

from handgrad.compare import check_gradients
from handgrad.torch_ref import TorchMLP


class ViewAdapter:
    """A user's (in, out)-layout net seen through transposed views, keyed like nn.Linear."""

    def __init__(self, rng):
        self.W1, self.b1 = rng.standard_normal((4, 6)), rng.standard_normal(6)
        self.W2, self.b2 = rng.standard_normal((6, 3)), rng.standard_normal(3)
        self.params = {"layers.0.weight": self.W1.T, "layers.0.bias": self.b1,
                       "layers.1.weight": self.W2.T, "layers.1.bias": self.b2}

    def loss_and_grads(self, X, y):  # reads self.W1 ..., never self.params
        h_pre = X @ self.W1 + self.b1
        h = np.maximum(h_pre, 0)
        scores = h @ self.W2 + self.b2
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        d = p.copy()
        d[np.arange(len(y)), y] -= 1
        d /= len(y)
        dh = (d @ self.W2.T) * (h_pre > 0)
        return (-np.log(p[np.arange(len(y)), y]).mean(),
                {"layers.0.weight": (X.T @ dh).T, "layers.0.bias": dh.sum(0),
                 "layers.1.weight": (h.T @ d).T, "layers.1.bias": d.sum(0)})


def test_an_adapter_holding_views_is_checked_by_finite_differences_too():
    rng = np.random.default_rng(0)
    model, X, y = ViewAdapter(rng), rng.standard_normal((7, 4)), rng.integers(0, 3, 7)
    twin = TorchMLP([4, 6, 3], ["relu", "identity"], "cross_entropy")
    report = check_gradients(model, X, y, torch_model=twin)
    assert report.ok, report
    assert max(e.fd_rel_err for e in report.entries if e.kind == "param") < 1e-6


class UserTwin(nn.Module):
    """A twin written by hand to the documented interface; it has no ``dtype`` attribute."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 6, dtype=torch.float64),
                                     nn.Linear(6, 3, dtype=torch.float64)])
        self.deltas = []

    def loss_and_grads(self, X, y):
        self.zero_grad()
        z0 = self.layers[0](torch.as_tensor(X))
        z1 = self.layers[1](torch.relu(z0))
        for z in (z0, z1):
            z.retain_grad()
        loss = nn.functional.cross_entropy(z1, torch.as_tensor(y))
        loss.backward()
        self.deltas = [z0.grad, z1.grad]
        return loss.item(), {k: p.grad for k, p in self.named_parameters()}


def test_a_twin_written_by_the_user_needs_no_dtype_attribute():
    rng = np.random.default_rng(1)
    model, X, y = ViewAdapter(rng), rng.standard_normal((7, 4)), rng.integers(0, 3, 7)
    twin = UserTwin()
    assert not hasattr(twin, "dtype")
    report = check_gradients(model, X, y, torch_model=twin)
    assert report.ok, report
