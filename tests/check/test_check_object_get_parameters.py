"""check_object, convention c: get_parameters() and backward returning (dx, {name: grad}).

An embedding and a linear layer in the style of libraries whose ``backward`` hands the
parameter gradients back to the optimizer. The planted slip: the embedding gradient
written as ``dW[ids] += g``, which with repeated ids keeps only one of the rows that
should add up (``np.add.at`` adds them all).
"""

import numpy as np
import pytest
import torch.nn.functional as F

from handgrad.compare.check.objects import check_object


class Embedding:
    """out[i, t] = W[ids[i, t]]; ids (m, T) integers, W (V, D), out (m, T, D)."""

    def __init__(self, vocab, dim, rng):
        self.W = rng.standard_normal((vocab, dim))

    def get_parameters(self):
        return {"W": self.W}

    def forward(self, ids):
        self.ids = ids
        return self.W[ids]

    def backward(self, dout):
        dW = np.zeros_like(self.W)
        np.add.at(dW, self.ids, dout)  # every occurrence of an id adds its row
        return None, {"W": dW}  # integer ids take no gradient


class EmbeddingDropsRepeats(Embedding):
    def backward(self, dout):
        dW = np.zeros_like(self.W)
        dW[self.ids] += dout  # slip: a repeated id keeps only its last row
        return None, {"W": dW}


class Linear:
    """out = x @ weight.T + bias, as nn.Linear: weight (k, n), bias (k,)."""

    def __init__(self, n, k, rng):
        self.weight = rng.standard_normal((k, n)) / np.sqrt(n)
        self.bias = np.zeros(k)

    def get_parameters(self):
        return {"weight": self.weight, "bias": self.bias}

    def forward(self, x):
        self.x = x
        return x @ self.weight.T + self.bias

    def backward(self, dout):
        return dout @ self.weight, {"weight": dout.T @ self.x, "bias": dout.sum(axis=0)}


def torch_embedding(p, ids):
    return F.embedding(ids, p["W"])


def repeated_ids(rng, m, T, vocab):
    ids = rng.integers(0, vocab, (m, T))
    ids[0, :2] = 1  # id 1 occurs at least twice
    return ids


EMBEDDINGS = [pytest.param(2, 3, 4, 2, id="m2-T3-V4-D2"),
              pytest.param(8, 10, 6, 5, id="m8-T10-V6-D5")]


@pytest.mark.parametrize("m, T, vocab, dim", EMBEDDINGS)
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_an_embedding_passes(m, T, vocab, dim, with_torch):
    rng = np.random.default_rng(m * T)
    report = check_object(Embedding(vocab, dim, rng), {"ids": repeated_ids(rng, m, T, vocab)},
                          torch_embedding if with_torch else None)
    assert report.ok, report
    assert [(e.name, e.kind) for e in report.entries if e.kind != "output"] == [("W", "param")]


@pytest.mark.parametrize("m, T, vocab, dim", EMBEDDINGS)
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_an_embedding_that_drops_repeated_ids_fails_and_is_named(m, T, vocab, dim, with_torch):
    rng = np.random.default_rng(3)
    report = check_object(EmbeddingDropsRepeats(vocab, dim, rng),
                          {"ids": repeated_ids(rng, m, T, vocab)},
                          torch_embedding if with_torch else None)
    assert report.failures == ["W"], report


@pytest.mark.parametrize("m, n, k", [(3, 2, 2), (16, 9, 7)])
@pytest.mark.parametrize("with_torch", [True, False], ids=["torch", "fd-only"])
def test_a_linear_layer_passes(m, n, k, with_torch):
    rng = np.random.default_rng(n)
    report = check_object(Linear(n, k, rng), {"x": rng.standard_normal((m, n))},
                          (lambda p, x: F.linear(x, p["weight"], p["bias"])) if with_torch
                          else None)
    assert report.ok, report
    assert [(e.name, e.kind) for e in report.entries if e.kind != "output"] == [
        ("x", "input"), ("weight", "param"), ("bias", "param")]
