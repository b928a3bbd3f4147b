"""Three ways to write the batch-1 weight gradient dW = dZ.T @ X, an outer product.

    python benchmarks/outer_product.py [--out 500] [--in 1024] [--threads 1]

With one sample, dZ is (1, out) and X is (1, in), so dW_jk = dZ_0j X_0k: a (out, in) array
written from out + in numbers. This times, into a kept output array (as
``handmade.dense.dense_backward`` does), NumPy's matmul with k = 1 (BLAS gemm), the
broadcast multiply ``dZ[0][:, None] * X[0]`` and ``np.einsum("j,k->jk", ...)``, in float32
and float64, best of 7 blocks, and prints each time and its ratio to einsum's; the three
results are first checked equal bit for bit.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits


def best_time(fn, n: int = 100, blocks: int = 7) -> float:
    fn()
    times = []
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t0) / n)
    return min(times)


def outer_products(dZ, X, dW) -> dict:
    """The three ways, each a closure writing dW = dZ.T @ X into ``dW``."""
    return {
        "matmul (BLAS, k=1)": lambda: np.matmul(dZ.T, X, out=dW),
        "broadcast multiply": lambda: np.multiply(dZ[0][:, None], X[0], out=dW),
        "einsum j,k->jk": lambda: np.einsum("j,k->jk", dZ[0], X[0], out=dW),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=int, default=500)
    p.add_argument("--in", dest="n_in", type=int, default=1024)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    with threadpool_limits(args.threads):
        for dtype in ("float32", "float64"):
            dZ = rng.standard_normal((1, args.out)).astype(dtype)
            X = rng.standard_normal((1, args.n_in)).astype(dtype)
            dW = np.empty((args.out, args.n_in), dtype)
            ways = outer_products(dZ, X, dW)
            results = [np.array(fn()) for fn in ways.values()]
            for r in results[1:]:  # each product dZ_j X_k is one rounding: equal bit for bit
                np.testing.assert_array_equal(r, results[0])
            times = {name: best_time(fn) for name, fn in ways.items()}
            print(f"{dtype}, dW {args.out}x{args.n_in}, {args.threads} thread(s)")
            for name, t in times.items():
                print(f"  {name:<20} {t * 1e6:8.1f} us  {t / times['einsum j,k->jk']:5.2f}x")


if __name__ == "__main__":
    main()
