"""The ``inplace_grads`` speed trick against the plain gradients, over whole training steps.

    python benchmarks/inplace_grads.py [--threads 1] [--blocks 9] [--block 0.2]

A step is ``SGD.step(model.loss_and_grads(X, y)[1])`` on the ``handgrad bench`` cases (a
sigmoid MLP, cross-entropy on logits). Two models start from the same parameters: one
computes every gradient as a new array with ``dense_backward``'s plain lines (the
default), the other with ``MLP(..., inplace_grads=True)`` writes them into arrays kept
between calls (``dense_grads_into``; for one sample the outer product by einsum). Each
block times the same number of steps of each, interleaved; the script prints the trick's
time over the plain step's as min / median / max over the blocks, and after all blocks
checks that both models' parameters are equal bit for bit (the two took the same steps).
"""

from __future__ import annotations

import argparse

import numpy as np
from paired import paired_ratios, spread
from threadpoolctl import threadpool_limits

from handgrad import handmade

CASES = [((3, 2, 1), 2), ((2, 3, 1), 4), ((64, 32, 10), 64), ((1024, 500, 10), 1),
         ((1024, 500, 10), 128), ((1024, 500, 10), 2048), ((784, 256, 256, 10), 256)]
LR = 0.01


def training_step(sizes, batch: int, dtype: str, inplace_grads: bool):
    """``(step, model)``: a closure taking one SGD step of a fresh model on fixed data."""
    multi = sizes[-1] > 1
    activations = ["sigmoid"] * (len(sizes) - 2) + ["identity" if multi else "sigmoid"]
    model = handmade.MLP(list(sizes), activations, "cross_entropy" if multi else "bce",
                         seed=0, dtype=np.dtype(dtype), inplace_grads=inplace_grads)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], batch) if multi else rng.integers(0, 2, batch).astype(dtype)
    optimizer = handmade.SGD(model.params, lr=LR)

    def step():
        optimizer.step(model.loss_and_grads(X, y)[1])
    return step, model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--blocks", type=int, default=9)
    parser.add_argument("--block", type=float, default=0.2, help="seconds per side and block")
    args = parser.parse_args()
    print("inplace_grads step time over the plain step, min / median / max over "
          f"{args.blocks} interleaved blocks, {args.threads} thread(s)")
    with threadpool_limits(args.threads):
        for sizes, batch in CASES:
            for dtype in ("float32", "float64"):
                plain, plain_model = training_step(sizes, batch, dtype, inplace_grads=False)
                trick, trick_model = training_step(sizes, batch, dtype, inplace_grads=True)
                ratios = paired_ratios(trick, plain, blocks=args.blocks, block_s=args.block)
                for key, value in plain_model.params.items():  # same steps, same bits
                    np.testing.assert_array_equal(trick_model.params[key], value, err_msg=key)
                case = "-".join(map(str, sizes))
                print(f"{case:>15} {batch:>5} {dtype:>8}   {spread(ratios)}")


if __name__ == "__main__":
    main()
