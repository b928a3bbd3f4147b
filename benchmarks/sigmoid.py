"""The sigmoid as written against an in-place variant and the sign-split form.

    python benchmarks/sigmoid.py [--threads 1] [--blocks 9] [--block 0.1]

``handmade.activations.sigmoid`` computes ``1 / (1 + exp(-z))`` as written (three new
arrays: ``-z``, ``exp(-z)`` and ``1 + exp(-z)``, then the quotient). The in-place
variant does the same four operations in one array (``np.negative``, then ``np.exp``,
``+= 1`` and ``np.reciprocal`` with ``out=``); it is first checked to give the same bits.
The sign-split form selects ``1/(1+e)`` or ``e/(1+e)`` with ``np.where``, ``e = exp(-|z|)``.
For the hidden layers of the ``handgrad bench`` cases, in float32 and float64, it prints
each way's time over the plain line's as min / median / max over interleaved blocks.
"""

from __future__ import annotations

import argparse

import numpy as np
from paired import paired_ratios, spread
from threadpoolctl import threadpool_limits

from handgrad.handmade.activations import sigmoid

SHAPES = [(4, 3), (64, 32), (1, 500), (128, 500), (256, 256), (2048, 500)]  # (m, hidden)


def sigmoid_in_place(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-z))`` step by step in one new array (overflow to inf silenced)."""
    out = np.negative(z)  # -z
    with np.errstate(over="ignore"):
        np.exp(out, out=out)  # exp(-z)
    out += 1.0  # 1 + exp(-z)
    np.reciprocal(out, out=out)  # 1 / (1 + exp(-z))
    return out


def sigmoid_sign_split(z: np.ndarray) -> np.ndarray:
    """``exp`` sees only ``-|z|``: ``1/(1+e)`` for z >= 0, ``e/(1+e)`` below."""
    e = np.exp(-np.abs(z))  # in (0, 1]
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--blocks", type=int, default=9)
    parser.add_argument("--block", type=float, default=0.1, help="seconds per side and block")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("time over sigmoid's plain line, min / median / max over "
          f"{args.blocks} interleaved blocks, {args.threads} thread(s)")
    print(f"{'shape':>12} {'dtype':>8}   {'in place':>18}   {'sign split':>18}")
    with threadpool_limits(args.threads):
        for shape in SHAPES:
            for dtype in ("float32", "float64"):
                z = (4.0 * rng.standard_normal(shape)).astype(dtype)  # a random sign pattern
                np.testing.assert_array_equal(sigmoid_in_place(z), sigmoid(z))  # same bits
                in_place = paired_ratios(lambda z=z: sigmoid_in_place(z), lambda z=z: sigmoid(z),
                                         blocks=args.blocks, block_s=args.block)
                split = paired_ratios(lambda z=z: sigmoid_sign_split(z), lambda z=z: sigmoid(z),
                                      blocks=args.blocks, block_s=args.block)
                name = f"{shape[0]}x{shape[1]}"
                print(f"{name:>12} {dtype:>8}   {spread(in_place):>18}   {spread(split):>18}")


if __name__ == "__main__":
    main()
