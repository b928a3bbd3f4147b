"""The judge under threads, and the twin it keeps between checks of one spec.

Witness: each verdict is compared with the verdict of the same check run alone, in one
thread; a correct model must pass every time, a wrong one fail every time.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from handgrad import handmade
from handgrad.compare import check_gradients, check_model

ROUNDS = 6


def _batch(seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((12, 5)), rng.integers(0, 3, 12)


def _in_threads(work, n=2):
    errors = []

    def run(i):
        try:
            work(i)
        except BaseException as exc:  # noqa: BLE001 - returned to the main thread, asserted empty
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_two_threads_checking_one_model_both_see_a_pass():
    model = handmade.MLP([5, 8, 3], ["relu", "identity"], "cross_entropy", seed=4)
    verdicts = []

    def work(i):
        for r in range(ROUNDS):
            verdicts.append(check_gradients(model, *_batch(10 * i + r)).verdict)
    assert not _in_threads(work)
    assert verdicts == ["pass"] * 2 * ROUNDS


def test_a_check_and_training_steps_in_another_thread_do_not_mix():
    model = handmade.MLP([5, 8, 3], ["tanh", "identity"], "cross_entropy", seed=4)
    trainer = handmade.Trainer(model, handmade.make_optimizer("sgd", model.params, lr=0.1))
    verdicts = []

    def work(i):
        for r in range(ROUNDS):
            if i == 0:
                verdicts.append(check_gradients(model, *_batch(r)).verdict)
            else:  # another thread keeps training the same model
                for k in range(4):
                    trainer.step(*_batch(100 + 4 * r + k))
    assert not _in_threads(work)
    assert verdicts == ["pass"] * ROUNDS


def test_one_params_dict_checked_from_two_threads_is_refused_not_misjudged():
    rng = np.random.default_rng(0)
    params = {"w": rng.standard_normal(400)}
    X, y = rng.standard_normal((50, 400)), rng.standard_normal(50)
    started, release = threading.Event(), threading.Event()

    def loss(X, y):
        started.set()
        release.wait(5)  # hold the first check open while the second starts
        r = X @ params["w"] - y
        return 0.5 * np.mean(r**2), {"w": X.T @ r / len(y)}

    outcome = {}

    def first():
        outcome["first"] = check_model(params, loss, X, y, fd="directions").verdict

    t = threading.Thread(target=first)
    t.start()
    started.wait(5)
    with pytest.raises(RuntimeError, match="being checked in another thread"):
        check_model(params, loss, X, y)
    release.set()
    t.join()
    assert outcome["first"] == "pass"


def test_the_kept_twin_carries_nothing_from_one_check_to_the_next():
    class Slip(handmade.MLP):  # output bias gradient doubled
        def loss_and_grads(self, X, y):
            loss, grads = super().loss_and_grads(X, y)
            return loss, {**grads, "layers.1.bias": 2 * grads["layers.1.bias"]}

    sizes, acts = [5, 8, 3], ["tanh", "identity"]
    verdicts = [check_gradients(cls(sizes, acts, "cross_entropy", seed=s), *_batch(s)).verdict
                for s, cls in enumerate([Slip, handmade.MLP, Slip, handmade.MLP])]
    assert verdicts == ["fail", "pass", "fail", "pass"]
