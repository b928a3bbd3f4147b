"""One model, several threads: every ``loss_and_grads`` result is the single-threaded one.

docs/training.md ("Threads") states the rule: a model's calls are serialized by its own
re-entrant lock (``model.lock``), each thread gets its own kept gradient arrays (with
``inplace_grads=True``), and a backward pass that would read another thread's forward is
refused. The witness is the model itself,
called from one thread beforehand on the same batches: every threaded result must equal it
bit for bit. Without the lock these tests fail (measured: tens of wrong results in 400
calls on the MLP and on the torch twin).
"""

from __future__ import annotations

import copy
import pickle
import threading

import numpy as np
import pytest
import torch

from handgrad import handmade, torch_ref

N_THREADS, CALLS = 4, 120  # each thread: 120 calls, cycling over its own batches


def _handmade_mlp(inplace_grads: bool = False):
    return handmade.MLP([6, 64, 32, 3], ["tanh", "relu", "identity"], "cross_entropy", seed=1,
                        inplace_grads=inplace_grads)


def _handmade_mlp_inplace():
    """The MLP with its speed trick on: gradient arrays kept between calls, per thread."""
    return _handmade_mlp(inplace_grads=True)


def _torch_mlp():
    return torch_ref.TorchMLP([6, 64, 32, 3], ["tanh", "relu", "identity"], "cross_entropy",
                              seed=1)


def _neuron():
    return handmade.LogisticNeuron(6, seed=1)


MODELS = {"handmade-mlp": (_handmade_mlp, "classes"),
          "handmade-mlp-inplace": (_handmade_mlp_inplace, "classes"),
          "torch-mlp": (_torch_mlp, "classes"),
          "logistic-neuron": (_neuron, "binary")}


def _batches(kind):
    """Per thread, three batches of different sizes (so a mixed-up result cannot pass)."""
    rng = np.random.default_rng(7)
    out = []
    for t in range(N_THREADS):
        thread = []
        for m in (40 + 3 * t, 17 + t, 64):
            X = rng.standard_normal((m, 6))
            y = rng.integers(0, 3, m) if kind == "classes" else rng.integers(0, 2, m) * 1.0
            thread.append((X, y))
        out.append(thread)
    return out


def _numpy(grads):
    return {k: (g.detach().cpu().numpy() if isinstance(g, torch.Tensor) else g).copy()
            for k, g in grads.items()}


def _hammer(model, batches, reference):
    """Every thread calls ``loss_and_grads`` CALLS times: (wrong results, raised calls)."""
    wrong, raised = [0] * N_THREADS, [0] * N_THREADS
    start = threading.Barrier(N_THREADS)

    def work(t):
        start.wait()
        for i in range(CALLS):
            j = i % len(batches[t])
            try:
                loss, grads = model.loss_and_grads(*batches[t][j])
                got = _numpy(grads)
            except Exception:  # a race may also surface as a broadcast or index error
                raised[t] += 1
                continue
            ref_loss, ref_grads = reference[t][j]
            wrong[t] += not (loss == ref_loss and
                             all(np.array_equal(g, ref_grads[k]) for k, g in got.items()))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(N_THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return sum(wrong), sum(raised)


@pytest.mark.parametrize("name", list(MODELS))
def test_loss_and_grads_from_four_threads_equals_the_single_threaded_result(name):
    make, kind = MODELS[name]
    model = make()
    batches = _batches(kind)
    reference = [[(lambda r: (r[0], _numpy(r[1])))(model.loss_and_grads(X, y))
                  for X, y in thread] for thread in batches]
    assert _hammer(model, batches, reference) == (0, 0)


def test_a_threads_gradient_arrays_are_its_own():
    """Kept arrays (``inplace_grads=True``) are kept per thread: another thread's call
    leaves mine as they were."""
    model = _handmade_mlp_inplace()
    (X1, y1), (X2, y2) = _batches("classes")[0][:2]
    _, mine = model.loss_and_grads(X1, y1)
    kept = _numpy(mine)
    other = threading.Thread(target=model.loss_and_grads, args=(X2, y2))
    other.start()
    other.join()
    for key, g in mine.items():
        np.testing.assert_array_equal(g, kept[key], err_msg=key)
    _, again = model.loss_and_grads(X2, y2)  # my own next call does overwrite them (as .grad)
    assert again["layers.0.weight"] is mine["layers.0.weight"]


def test_backward_after_another_threads_forward_is_refused():
    model = _handmade_mlp()
    (X1, _), (X2, _) = _batches("classes")[0][:2]
    out = model.forward(X1)
    other = threading.Thread(target=model.forward, args=(X2,))
    other.start()
    other.join()
    with pytest.raises(RuntimeError, match="backward called in thread .* but the last forward "
                                           "ran in thread .*model.lock"):
        model.backward(np.ones_like(out))


def test_the_lock_is_reentrant_and_held_through_forward_and_backward():
    model = _handmade_mlp()
    X, y = _batches("classes")[0][0]
    with model.lock:  # a caller may hold it around several calls
        loss, _ = model.loss_and_grads(X, y)
        deltas = model.deltas
    assert np.isfinite(loss) and len(deltas) == 3
    seen = []
    with model.lock:
        other = threading.Thread(target=lambda: seen.append(model.lock.acquire(timeout=0.05)))
        other.start()
        other.join()
    assert seen == [False]  # another thread had to wait


@pytest.mark.parametrize("name", ["handmade-mlp", "torch-mlp"])
def test_copies_get_their_own_lock(name):
    model = MODELS[name][0]()
    X, y = _batches("classes")[0][0]
    model.loss_and_grads(X, y)
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert clone.lock is not model.lock
        with model.lock:  # the original's lock held: the copy still runs
            loss, _ = clone.loss_and_grads(X, y)
        assert loss == model.loss_and_grads(X, y)[0]
