"""The benchmark: one training step of the handmade twin against the torch twin on CPU.

A step is forward, backward and a plain SGD update: ``loss_and_grads`` + ``SGD.step`` on
the NumPy side; ``zero_grad``, forward, loss, ``backward``, ``torch.optim.SGD.step`` on
the torch side (no ``retain_grad``). The model is a sigmoid MLP with cross-entropy on
logits (sigmoid output and bce for one output unit). The two twins are timed in blocks
of at least ``block_s`` seconds, alternating which goes first, with a pause between
blocks so that one side's spinning thread pool does not slow the other. A record keeps
every sample (``timing``: min, median, max; ``{side}_s`` is the median); every ratio is
handmade / other, of the medians; ``noisy`` marks a spread max / min above
``NOISY_SPREAD`` on either side (a busy machine: do not trust that ratio). ``gemm_frac``
compares the handmade step's FLOP rate (the matrix products it really does: forward, dW,
and dX for every layer but the first) with a 2048 x 2048 NumPy matmul timed in the same run.

``check_vs_gradcheck`` times ``compare.check_gradients`` against
``torch.autograd.gradcheck(fast_mode=True)`` on the same float64 loss (a relu MLP with
cross-entropy on logits, ``CHECK_CASES``), one thread each, in interleaved repeats.

Malloc tuning is not done here (no ctypes, no ``mallopt``): glibc's malloc thresholds are
read from the environment when a process starts, so ``handgrad bench`` measures in a
process started with them; see ``compare.cli.bench.MALLOC_TUNING``.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from handgrad import handmade
from handgrad.compare.transfer import hand_to_torch
from handgrad.torch_ref import TorchMLP

CASES = [((3, 2, 1), 2), ((2, 3, 1), 4), ((64, 32, 10), 64), ((1024, 500, 10), 1),
         ((1024, 500, 10), 128), ((1024, 500, 10), 2048), ((784, 256, 256, 10), 256)]
LR = 0.01
NOISY_SPREAD = 1.5  # max / min of one side's samples above this: the record is noisy
CHECK_CASES = [((784, 256, 256, 10), 256), ((1024, 500, 10), 128)]


def step_flops(sizes, batch: int) -> int:
    """Multiply-adds x 2 of the handmade step: forward, dW of every layer, dX but the first."""
    macs = [i * o for i, o in zip(sizes[:-1], sizes[1:])]
    return 2 * batch * (2 * sum(macs) + sum(macs[1:]))


def make_steps(sizes, batch: int, dtype: str, device: str = "cpu", seed: int = 0):
    """``(hand_step, torch_step, hand, twin)``: two closures that each take one step."""
    multi = sizes[-1] > 1
    loss = "cross_entropy" if multi else "bce"
    acts = ["sigmoid"] * (len(sizes) - 2) + ["identity" if multi else "sigmoid"]
    hand = handmade.MLP(list(sizes), acts, loss, seed=seed, dtype=np.dtype(dtype))
    twin = TorchMLP(list(sizes), acts, loss, dtype=getattr(torch, dtype), device=device)
    twin.keep_deltas = False
    hand_to_torch(hand, twin)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], batch) if multi else rng.integers(0, 2, batch).astype(dtype)
    Xt, yt = torch.as_tensor(X, device=device), torch.as_tensor(y, device=device)
    if not multi:
        yt = yt.reshape(-1, 1)
    hand_opt = handmade.SGD(hand.params, lr=LR)
    torch_opt = torch.optim.SGD(twin.parameters(), lr=LR)
    torch_loss = F.cross_entropy if multi else F.binary_cross_entropy
    sync = torch.cuda.synchronize if twin.device.type == "cuda" else (lambda: None)

    def hand_step():
        hand_opt.step(hand.loss_and_grads(X, y)[1])

    def torch_step():
        torch_opt.zero_grad(set_to_none=True)
        torch_loss(twin(Xt), yt).backward()
        torch_opt.step()
        sync()
    return hand_step, torch_step, hand, twin


def _block(step: Callable[[], None], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - t0) / n


def timing(name: str, samples) -> dict:
    """``{name}_s`` (the median), ``{name}_min_s``, ``_median_s``, ``_max_s``, ``_samples_s``."""
    med = statistics.median(samples)
    return {f"{name}_s": med, f"{name}_min_s": min(samples), f"{name}_median_s": med,
            f"{name}_max_s": max(samples), f"{name}_samples_s": list(samples)}


def compared(a: str, a_samples, b: str, b_samples) -> dict:
    """``timing`` of both sides, ``ratio`` = median a / median b, and ``noisy``: whether a
    side's spread max / min exceeds ``NOISY_SPREAD``."""
    rec = {**timing(a, a_samples), **timing(b, b_samples), "repeats": len(a_samples)}
    spread = any(max(s) > NOISY_SPREAD * min(s) for s in (a_samples, b_samples))
    return rec | {"ratio": rec[f"{a}_s"] / rec[f"{b}_s"], "noisy": spread}


def time_interleaved(a_step, b_step, *, repeats=5, block_s=0.2, pause_s=0.05, warmup=2):
    """Seconds per step of each side, one sample per block, in alternating blocks (a
    block: at least ``block_s`` seconds of steps, one step when 0), after ``warmup``
    steps of each: ``(a_samples, b_samples)``, ``repeats`` each."""
    for _ in range(warmup):
        a_step()  # warm-up: caches, allocator, thread pools
        b_step()
    per_step = max(_block(a_step, 1), _block(b_step, 1), 1e-7) if block_s > 0 else 1.0
    n = max(1, int(block_s / per_step))
    a, b = [], []
    for r in range(repeats):
        order = [(a, a_step), (b, b_step)]
        for out, step in (order if r % 2 == 0 else order[::-1]):
            time.sleep(pause_s)
            out.append(_block(step, n))
    return a, b


def gemm_gflops(dtype: str, n: int = 2048, repeats: int = 3) -> float:
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    a @ a
    best = min(_block(lambda: a @ a, 1) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def peak_bytes(step) -> int:
    """Peak NumPy memory of one step, as tracemalloc sees it (NumPy reports its buffers)."""
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def bench_cases(dtypes=("float32", "float64"), cases=CASES, *, repeats=5, block_s=0.2,
                threads: int | None = None, progress=None) -> list[dict]:
    """One record per (case, dtype): ``compared`` times, GFLOP/s, gemm_frac, peak memory."""
    records = []
    for dtype in dtypes:
        gemm = gemm_gflops(dtype)
        for sizes, batch in cases:
            hand_step, torch_step, *_ = make_steps(sizes, batch, dtype)
            hs, ts = time_interleaved(hand_step, torch_step, repeats=repeats, block_s=block_s)
            times, flops = compared("handmade", hs, "torch", ts), step_flops(sizes, batch)
            h = times["handmade_s"]
            rec = {"case": "-".join(map(str, sizes)), "batch": batch, "dtype": dtype,
                   "threads": threads, **times,
                   "handmade_gflops": flops / h / 1e9, "gemm_gflops": gemm,
                   "gemm_frac": flops / h / 1e9 / gemm if batch >= 128 else None,
                   "handmade_peak_bytes": peak_bytes(hand_step)}
            records.append(rec)
            if progress:
                progress(rec)
    return records


def bench_cuda(dtypes=("float32", "float64"), cases=CASES, *, repeats=5, block_s=0.2):
    """The torch twin on CUDA against the handmade twin on CPU, and the float64 agreement."""
    records = []
    for dtype in dtypes:
        for sizes, batch in cases:
            hand_step, torch_step, *_ = make_steps(sizes, batch, dtype, device="cuda")
            hs, ts = time_interleaved(hand_step, torch_step, repeats=repeats, block_s=block_s)
            records.append({"case": "-".join(map(str, sizes)), "batch": batch, "dtype": dtype,
                            "device": "cuda", **compared("handmade", hs, "torch", ts)})
    return records


def cpu_cuda_agreement(sizes=(1024, 500, 10), batch=128) -> float:
    """Largest normwise relative difference of float64 gradients, torch CPU vs CUDA."""
    hand = handmade.MLP(list(sizes), ["sigmoid", "identity"], "cross_entropy")
    X = np.random.default_rng(0).standard_normal((batch, sizes[0]))
    y = np.random.default_rng(1).integers(0, sizes[-1], batch)
    grads = []
    for device in ("cpu", "cuda"):
        twin = TorchMLP(list(sizes), ["sigmoid", "identity"], "cross_entropy", device=device)
        hand_to_torch(hand, twin)
        grads.append({k: v.cpu().numpy() for k, v in twin.loss_and_grads(X, y)[1].items()})
    return max(float(np.linalg.norm(grads[1][k] - grads[0][k]) / np.linalg.norm(grads[0][k]))
               for k in grads[0])


def sklearn_epoch(dtype="float64", n=2048, batch=128, repeats=3) -> dict:
    """Seconds per epoch on 1024-500-10 (sigmoid, SGD, batch 128): handmade vs sklearn,
    ``compared`` (ratio handmade / sklearn)."""
    import warnings

    from sklearn.neural_network import MLPClassifier
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 1024)).astype(dtype)
    y = rng.integers(0, 10, n)
    clf = MLPClassifier(hidden_layer_sizes=(500,), activation="logistic", solver="sgd",
                        batch_size=batch, learning_rate_init=LR, momentum=0.0, alpha=0.0,
                        shuffle=False, max_iter=1)
    hand = handmade.MLP([1024, 500, 10], ["sigmoid", "identity"], "cross_entropy",
                        dtype=np.dtype(dtype))
    opt = handmade.SGD(hand.params, lr=LR)
    batches = [slice(i, i + batch) for i in range(0, n, batch)]  # views, as sklearn's

    def hand_epoch():
        for idx in batches:
            opt.step(hand.loss_and_grads(X[idx], y[idx])[1])

    def sklearn_epoch_():
        clf.partial_fit(X, y, classes=np.arange(10))  # one pass in batches of 128

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hs, ss = time_interleaved(hand_epoch, sklearn_epoch_, repeats=repeats, block_s=0.0)
    return {"case": "sklearn-epoch-1024-500-10", "batch": batch, "dtype": dtype,
            **compared("handmade", hs, "sklearn", ss)}


def vectorization(m=10_000, n=100) -> dict:
    """Seed 001: the logistic gradient by loops and vectorized (seconds each)."""
    from handgrad.handmade import vectorization as vz
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((m, n)), (rng.random(m) < 0.5).astype(float)
    w = rng.standard_normal(n) * 0.1
    Xl, yl, wl = X.tolist(), y.tolist(), w.tolist()
    vec = min(_block(lambda: vz.gradient_vectorized(w, 0.0, X, y), 5) for _ in range(3))
    sample = _block(lambda: vz.gradient_sample_loop(w, 0.0, X, y), 1)
    double = _block(lambda: vz.gradient_double_loop(wl, 0.0, Xl, yl), 1)
    return {"case": f"logistic-gradient-m{m}-n{n}", "double_loop_s": double,
            "sample_loop_s": sample, "vectorized_s": vec, "speedup_vs_double": double / vec,
            "speedup_vs_sample": sample / vec}


def make_checks(sizes, batch: int, seed: int = 0):
    """``(check, gradcheck)``: two closures that check the same float64 loss once each.

    The model is a relu MLP (identity output) with cross-entropy on logits. ``check`` runs
    ``check_gradients`` on the handmade model and returns its verdict; ``gradcheck`` runs
    ``torch.autograd.gradcheck(fast_mode=True)`` on the torch twin's loss as a function of
    its parameters (``torch.func.functional_call``), at the same parameters and batch.
    """
    from handgrad.compare import check_gradients
    acts = ["relu"] * (len(sizes) - 2) + ["identity"]
    hand = handmade.MLP(list(sizes), acts, "cross_entropy", seed=seed)
    twin = TorchMLP(list(sizes), acts, "cross_entropy")
    twin.keep_deltas = False
    hand_to_torch(hand, twin)
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((batch, sizes[0])), rng.integers(0, sizes[-1], batch)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    names = [name for name, _ in twin.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in twin.parameters())

    def loss(*ps):
        return F.cross_entropy(torch.func.functional_call(twin, dict(zip(names, ps)), (Xt,)),
                               yt)

    def check() -> str:
        return check_gradients(hand, X, y).verdict

    def gradcheck() -> str:
        return "pass" if torch.autograd.gradcheck(loss, params, fast_mode=True) else "fail"
    return check, gradcheck


def check_vs_gradcheck(cases=None, *, repeats=5, progress=None) -> list[dict]:
    """Per case (default ``CHECK_CASES``): seconds of ``check_gradients`` and of gradcheck's
    fast mode on the same loss (float64, one thread for torch and for NumPy's BLAS), each
    run ``repeats`` times after a warm-up, alternating which goes first: ``compared``
    (ratio of the medians check / gradcheck)."""
    from threadpoolctl import threadpool_limits
    threads = torch.get_num_threads()
    records = []
    try:
        torch.set_num_threads(1)
        with threadpool_limits(1):
            for sizes, batch in CHECK_CASES if cases is None else cases:
                check, gradcheck = make_checks(sizes, batch)
                verdicts = (check(), gradcheck())  # warm-up
                cs, gs = time_interleaved(check, gradcheck, repeats=repeats, block_s=0,
                                          pause_s=0, warmup=0)
                rec = {"case": "check-vs-gradcheck-" + "-".join(map(str, sizes)),
                       "batch": batch, "dtype": "float64", "threads": 1,
                       "check_verdict": verdicts[0], "gradcheck_verdict": verdicts[1],
                       **compared("check", cs, "gradcheck", gs)}
                records.append(rec)
                if progress:
                    progress(rec)
    finally:
        torch.set_num_threads(threads)
    return records


def verify_seconds() -> dict:
    """Wall time of the default CPU verification matrix."""
    from handgrad.compare.check.suite import run_matrix
    t0 = time.perf_counter()
    results = run_matrix()
    return {"case": "verify-matrix", "checks": len(results),
            "ok": all(r.report.ok for r in results), "seconds": time.perf_counter() - t0}
