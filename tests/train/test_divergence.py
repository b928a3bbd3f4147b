"""The divergence rule's factor: a loss grown beyond ``divergence_factor`` x the first step's.

A run whose loss explodes without becoming NaN/Inf (Adam at lr 1e6 on a softmax classifier:
the logits grow to 1e6, the loss with them, and training "finishes") must raise
``DivergenceError`` naming the step, the epoch and the rule, on both twins at the same step.
The expected step comes from an independent witness: the same model and optimizer run by a
plain loop, no Trainer, whose losses are compared with the factor by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from handgrad import handmade, torch_ref
from handgrad.bookkeeping.training import DIVERGENCE_FACTOR
from handgrad.compare import build_twins
from handgrad.compare.spec import Spec

SIDES = ["handmade", "torch"]
SPEC = Spec((4, 8, 3), ("tanh", "identity"), "cross_entropy")


def _data(m=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 4))
    y = np.argmax(X[:, :3] + 0.3 * rng.standard_normal((m, 3)), axis=1)
    return X, y


def _trainer(side, opt="adam", options=None, **rules):
    hand, twin = build_twins(SPEC, seed=0)
    options = options or {"lr": 1e6}
    if side == "handmade":
        return hand, handmade.Trainer(hand, handmade.make_optimizer(opt, hand.params, **options),
                                      **rules)
    return twin, torch_ref.Trainer(twin, torch_ref.make_optimizer(opt, twin.parameters(),
                                                                  **options), **rules)


def _witness_losses(batches, X, y, lr=1e6):
    """The handmade model and Adam in a plain loop: the batch loss before every step."""
    model = build_twins(SPEC, seed=0)[0]
    opt = handmade.Adam(model.params, lr=lr)
    losses = []
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in batches:
            for idx in epoch:
                loss, grads = model.loss_and_grads(X[idx], y[idx])
                losses.append(loss)
                opt.step(grads)
    return losses


def test_the_default_factor_is_a_thousand():
    assert DIVERGENCE_FACTOR == 1e3
    for trainer in (handmade.Trainer, torch_ref.Trainer):
        _, t = _trainer("handmade" if trainer is handmade.Trainer else "torch")
        assert t.divergence_factor == DIVERGENCE_FACTOR


@pytest.mark.parametrize("side", SIDES)
def test_adam_at_lr_1e6_raises_at_the_step_the_witness_names(side):
    X, y = _data()
    batches = handmade.make_batches(len(X), 20, epochs=5, seed=3)
    losses = _witness_losses(batches, X, y)
    step = next(i for i, loss in enumerate(losses, 1) if loss > 1e3 * losses[0])
    epoch = (step - 1) // 3 + 1  # 3 batches of 20 per epoch
    assert all(np.isfinite(losses[:step]))  # the old rules (NaN/Inf) could not see it
    _, trainer = _trainer(side)
    with pytest.raises(handmade.DivergenceError) as info:
        trainer.fit(X, y, batches)
    err = info.value
    assert (err.step, err.epoch, err.rule) == (step, epoch, "factor")
    assert str(err) == (
        f"training diverged: loss {losses[step - 1]:.3g} at step {step} (epoch {epoch}) grew "
        f"beyond 1000 x the first step's loss {losses[0]:.3g} (divergence_factor=1000); the "
        "learning rate (1000000.0) is probably too large: try a tenth of it")
    assert trainer.history.losses == pytest.approx(losses[:step - 1], rel=1e-9)


@pytest.mark.parametrize("side", SIDES)
def test_none_turns_the_factor_off(side):
    X, y = _data()
    _, trainer = _trainer(side, divergence_factor=None)
    with np.errstate(over="ignore", invalid="ignore"):
        history = trainer.fit(X, y, handmade.make_batches(len(X), 20, epochs=5, seed=3))
    assert history.stop_reason == "max_epochs" and len(history.losses) == 15
    assert max(history.losses) > 1e3 * history.losses[0]  # it did grow: only the rule was off


class Scripted:
    """A model whose losses are given: zero gradients, one parameter."""

    def __init__(self, losses):
        self.params = {"w": np.zeros(1)}
        self.losses = iter(losses)

    def loss_and_grads(self, X, y):
        return float(next(self.losses)), {"w": np.zeros(1)}


def _run_scripted(losses, **rules):
    model = Scripted(losses)
    trainer = handmade.Trainer(model, handmade.SGD(model.params, lr=0.1), **rules)
    X, y = np.zeros((len(losses), 1)), np.zeros(len(losses))
    return trainer, lambda: trainer.fit(X, y, handmade.make_batches(len(losses), 1, 1,
                                                                      shuffle=False))


def test_the_rule_fires_just_above_the_factor_and_not_at_it():
    trainer, fit = _run_scripted([2.0, 1999.0, 2000.0, 2000.5, 1.0], divergence_factor=1000)
    with pytest.raises(handmade.DivergenceError, match=r"loss 2e\+03 at step 4 \(epoch 1\) "
                                                       r"grew beyond 1000 x the first step's "
                                                       r"loss 2 \(divergence_factor=1000\)"):
        fit()
    assert trainer.history.losses == [2.0, 1999.0, 2000.0]  # 2000 = 1000 x 2: not beyond


def test_a_zero_first_loss_hands_the_reference_to_the_first_positive_one():
    trainer, fit = _run_scripted([0.0, 0.0, 0.5, 400.0, 600.0], divergence_factor=1000)
    with pytest.raises(handmade.DivergenceError, match=r"loss 600 at step 5 \(epoch 1\) grew "
                                                       r"beyond 1000 x the first nonzero loss "
                                                       r"\(step 3\) 0.5"):
        fit()
    assert trainer.first_loss == (3, 0.5)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("bad", [1, 0.5, -3.0, float("nan"), float("inf"), True, "1000"])
def test_the_factor_must_be_a_finite_number_above_one(side, bad):
    with pytest.raises(ValueError, match=r"divergence_factor must be a finite number > 1 or "
                                         f"None, got {bad!r}"):
        _trainer(side, divergence_factor=bad)


def test_the_worst_normal_run_measured_stays_far_below_the_default():
    """Per-sample SGD (Nesterov) on breast cancer: the largest measured loss ratio of a
    normal run (23 x the first loss; docs/training.md). It must finish, 10 x below 1e3."""
    from handgrad.compare import datasets
    from handgrad.compare.cli.train import build_spec

    data = datasets.load("breast_cancer", seed=0)
    hand = build_twins(build_spec(data, "8", "tanh", None), seed=0)[0]
    opt = handmade.SGD(hand.params, lr=0.05, momentum=0.9, nesterov=True)
    history = handmade.Trainer(hand, opt).fit(
        data.X_train, data.y_train, handmade.make_batches(len(data.X_train), 1, 5, seed=0))
    assert history.stop_reason == "max_epochs"
    ratio = max(history.losses) / history.losses[0]
    assert 10 < ratio < DIVERGENCE_FACTOR / 10


def test_side_by_side_trainers_share_the_default():
    X, y = _data()
    hand, twin = build_twins(SPEC, seed=0)
    from handgrad.compare.train.side_by_side import train_side_by_side

    with pytest.raises(handmade.DivergenceError, match="divergence_factor=1000"):
        train_side_by_side(hand, twin, X, y, handmade.make_batches(len(X), 20, 5, seed=3),
                           optimizer="adam", options={"lr": 1e6})
    assert torch.isfinite(twin.layers[0].weight).all()
