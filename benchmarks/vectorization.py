"""Time the logistic neuron's gradient: double loop, sample loop, vectorized (seed 001).

    python benchmarks/vectorization.py [--m 10000] [--n 100] [--repeats 3]

Prints the best-of-repeats time of each and the speedups of the vectorized form; the
three results are checked equal (to 1e-12 relative) before any time is reported.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from handgrad.handmade.vectorization import (
    gradient_double_loop,
    gradient_sample_loop,
    gradient_vectorized,
)


def best_time(fn, args, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--m", type=int, default=10_000)
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.m, args.n))
    y = (rng.random(args.m) < 0.5).astype(float)
    w, b = rng.standard_normal(args.n) * 0.1, 0.05
    X_lists, y_list, w_list = X.tolist(), y.tolist(), w.tolist()
    t_vec, ref = best_time(gradient_vectorized, (w, b, X, y), max(args.repeats, 20))
    t_sample, out_s = best_time(gradient_sample_loop, (w, b, X, y), args.repeats)
    t_double, out_d = best_time(gradient_double_loop, (w_list, b, X_lists, y_list), args.repeats)
    for out in (out_s, out_d):
        np.testing.assert_allclose(out[0], ref[0], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(out[1], ref[1], rtol=1e-12, atol=1e-15)
    print(f"logistic neuron gradient, m = {args.m}, n = {args.n} (best of {args.repeats})")
    print(f"  double loop (samples x weights): {t_double * 1e3:10.2f} ms")
    print(f"  sample loop (vector weights):    {t_sample * 1e3:10.2f} ms")
    print(f"  vectorized (A - Y)ᵀ X / m:       {t_vec * 1e3:10.2f} ms")
    print(f"  speedup of vectorized: {t_double / t_vec:,.0f}x over the double loop, "
          f"{t_sample / t_vec:,.0f}x over the sample loop")


if __name__ == "__main__":
    main()
