"""The training loops' stopping rules, on both sides, and the shared batch sequence.

Each rule has a scenario built so that the rule must fire, and the test checks when it
fired and what it left behind; each runs on the handmade and the torch trainer, which
must agree (the rules are written once, in bookkeeping/training.py; each twin supplies its
own optimizer step, parameter copies and held-out loss: tests/train/test_bookkeeping.py).
"""

import math

import numpy as np
import pytest
import torch

from handgrad import handmade, torch_ref
from handgrad.compare import build_twins
from handgrad.compare.spec import Spec
from handgrad.compare.train.side_by_side import train_side_by_side

SIDES = ["handmade", "torch"]


def _regression(m=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.1 * rng.standard_normal(m)
    return X, y


def _trainer(side, spec, opt, options, seed=0, **rules):
    hand, twin = build_twins(spec, seed=seed)
    if side == "handmade":
        return hand, handmade.Trainer(hand, handmade.make_optimizer(opt, hand.params, **options),
                                      **rules)
    return twin, torch_ref.Trainer(twin, torch_ref.make_optimizer(opt, twin.parameters(),
                                                                  **options), **rules)


def _params(model):
    if isinstance(model, torch.nn.Module):
        return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return {k: v.copy() for k, v in model.params.items()}


def test_make_batches_covers_every_sample_once_per_epoch():
    batches = handmade.make_batches(10, 3, epochs=4, seed=1)
    assert len(batches) == 4
    for epoch in batches:
        assert [len(b) for b in epoch] == [3, 3, 3, 1]
        assert sorted(np.concatenate(epoch).tolist()) == list(range(10))
    assert not np.array_equal(np.concatenate(batches[0]), np.concatenate(batches[1]))
    again = handmade.make_batches(10, 3, epochs=4, seed=1)
    assert all(np.array_equal(a, b) for e1, e2 in zip(batches, again) for a, b in zip(e1, e2))
    ordered = handmade.make_batches(5, 2, epochs=1, shuffle=False)
    assert [b.tolist() for b in ordered[0]] == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize("side", SIDES)
def test_gradient_norm_rule_stops_full_batch_descent_at_the_threshold(side):
    X, y = _regression()
    spec = Spec((3, 1), ("identity",), "mse")
    model, trainer = _trainer(side, spec, "sgd", {"lr": 0.1}, grad_tol=1e-6)
    history = trainer.fit(X, y, handmade.make_batches(len(X), len(X), epochs=2000))
    assert history.stop_reason == "grad_norm"
    assert history.epochs < 2000  # converged long before the epoch limit
    assert history.grad_norms[-1] < 1e-6 <= history.grad_norms[-2]
    # and the point reached is the least-squares solution (a closed-form witness)
    A = np.hstack([X, np.ones((len(X), 1))])
    w, *_ = np.linalg.lstsq(A, y, rcond=None)
    p = _params(model)
    # gradient norm 1e-6 / smallest curvature (~0.5 here) bounds the distance: ~2e-6
    np.testing.assert_allclose(np.r_[p["layers.0.weight"].ravel(), p["layers.0.bias"]], w,
                               atol=1e-5)


@pytest.mark.parametrize("side", SIDES)
def test_early_stopping_waits_patience_epochs_and_restores_the_best(side):
    X, y = _regression(seed=1)
    X_val, y_val = X, -y  # a held-out set that training can only make worse
    spec = Spec((3, 1), ("identity",), "mse")
    model, trainer = _trainer(side, spec, "sgd", {"lr": 0.05}, patience=3)
    snapshots = []
    for epoch in handmade.make_batches(len(X), 8, epochs=50, seed=2):
        for idx in epoch:
            trainer.step(X[idx], y[idx])
        snapshots.append(_params(model))
        if trainer.end_epoch(X_val, y_val):
            break
    history = trainer.finish()
    assert history.stop_reason == "early_stopping"
    best = int(np.argmin(history.val_losses)) + 1
    assert history.best_epoch == best
    assert history.epochs == best + 3  # patience 3: three epochs without improvement
    for key, value in _params(model).items():
        np.testing.assert_array_equal(value, snapshots[best - 1][key], err_msg=key)
    assert not np.array_equal(snapshots[-1]["layers.0.weight"],
                              snapshots[best - 1]["layers.0.weight"])  # restoring did something


@pytest.mark.parametrize("side", SIDES)
def test_a_diverging_run_stops_with_step_and_learning_rate_in_the_message(side):
    X, y = _regression()
    spec = Spec((3, 1), ("identity",), "mse")
    _, trainer = _trainer(side, spec, "sgd", {"lr": 50.0})
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(FloatingPointError, match=r"at step \d+ .*learning rate \(50.0\)"):
            trainer.fit(X, y, handmade.make_batches(len(X), len(X), epochs=500))
    assert len(trainer.history.losses) < 500  # it stopped where it broke, not at the end
    assert all(math.isfinite(v) for v in trainer.history.losses)


def test_both_sides_diverge_at_the_same_step():
    X, y = _regression()
    spec = Spec((3, 1), ("identity",), "mse")
    steps = []
    for side in SIDES:
        _, trainer = _trainer(side, spec, "sgd", {"lr": 50.0})
        with np.errstate(over="ignore", invalid="ignore"), pytest.raises(FloatingPointError) as e:
            trainer.fit(X, y, handmade.make_batches(len(X), len(X), epochs=500))
        steps.append(e.value.step)
    assert steps[0] == steps[1]


def test_side_by_side_applies_the_rules_on_both_sides_together():
    X, y = _regression()
    hand, twin = build_twins(Spec((3, 1), ("identity",), "mse"))
    run = train_side_by_side(hand, twin, X, y, handmade.make_batches(len(X), len(X), 2000),
                             options={"lr": 0.1}, grad_tol=1e-6)
    assert run.hand_stop == run.torch_stop == "grad_norm"
    assert run.epochs < 2000


def test_patience_must_be_positive():
    with pytest.raises(ValueError, match="patience"):
        handmade.Trainer(None, None, patience=0)
    with pytest.raises(ValueError, match="patience"):
        torch_ref.Trainer(None, None, patience=0)


@pytest.mark.parametrize("side", SIDES)
def test_fit_with_a_validation_split_is_the_loop_written_out(side):
    X, y = _regression(seed=1)
    X_val, y_val = X, -y  # as above: early stopping must fire
    spec = Spec((3, 1), ("identity",), "mse")
    batches = handmade.make_batches(len(X), 8, epochs=50, seed=2)
    model_fit, trainer = _trainer(side, spec, "sgd", {"lr": 0.05}, patience=3)
    fitted = trainer.fit(X, y, batches, X_val, y_val)

    model_loop, trainer = _trainer(side, spec, "sgd", {"lr": 0.05}, patience=3)
    for epoch in batches:
        for idx in epoch:
            trainer.step(X[idx], y[idx])
        if trainer.end_epoch(X_val, y_val):
            break
    looped = trainer.finish()
    assert fitted.stop_reason == looped.stop_reason == "early_stopping"
    assert fitted.val_losses == looped.val_losses and fitted.epochs == looped.epochs
    for key, value in _params(model_fit).items():
        np.testing.assert_array_equal(value, _params(model_loop)[key], err_msg=key)


@pytest.mark.parametrize("side", SIDES)
def test_fit_names_the_epoch_of_a_bad_batch(side):
    X, y = _regression()
    _, trainer = _trainer(side, Spec((3, 1), ("identity",), "mse"), "sgd", {"lr": 0.01})
    batches = [[np.arange(8)], [np.arange(8), np.array([0, len(X)])]]  # row 40 of 40 rows
    with pytest.raises(ValueError, match=r"\[0, 40\).*0\.\.40 in epoch 2"):
        trainer.fit(X, y, batches)


def test_fit_refuses_float_row_indices():
    X, y = _regression()
    _, trainer = _trainer("handmade", Spec((3, 1), ("identity",), "mse"), "sgd", {"lr": 0.01})
    with pytest.raises(TypeError, match="1-D array of integer row indices, got dtype float64 "
                                        r"and shape \(2,\) in epoch 1"):
        trainer.fit(X, y, [[np.array([0.0, 1.0])]])


@pytest.mark.parametrize("side", SIDES)
def test_an_interrupt_inside_fit_says_where_it_happened(side):
    X, y = _regression()
    model, trainer = _trainer(side, Spec((3, 1), ("identity",), "mse"), "sgd", {"lr": 0.01})
    real, calls = model.loss_and_grads, []

    def interrupted_at_the_seventh(Xb, yb):
        calls.append(len(Xb))
        if len(calls) == 7:
            raise KeyboardInterrupt
        return real(Xb, yb)

    model.loss_and_grads = interrupted_at_the_seventh
    batches = handmade.make_batches(len(X), 10, epochs=3, seed=0)  # 4 steps per epoch
    with pytest.raises(KeyboardInterrupt) as info:
        trainer.fit(X, y, batches)
    assert str(info.value) == "interrupted at epoch 2, step 7"  # 7 = 4 + 3
    assert isinstance(info.value.__cause__, KeyboardInterrupt)
    assert len(trainer.history.losses) == 6
