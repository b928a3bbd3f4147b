"""Counting parameters, layer by layer (seed 004's 1024-500-10 example).

A dense layer from ``n_in`` to ``n_out`` units has ``n_out * n_in`` weights and ``n_out``
biases; an MLP with ``sizes = [n_0, n_1, ..., n_L]`` has ``Σ_l n_{l+1} n_l`` weights and
``Σ_l n_{l+1}`` biases. For 1024-500-10: 1024·500 + 500·10 = 517 000 weights, plus
500 + 10 = 510 biases: 517 510 parameters.

The table that ``handgrad count`` prints is ``compare.cli.count.format_count``. Plain
Python: nothing here needs NumPy, so the command starts fast.
"""

from __future__ import annotations

from handgrad.bookkeeping.checks import check_sizes


def count_parameters(sizes) -> list[dict]:
    """One dict per layer: ``layer``, ``shape`` (out, in), ``weights``, ``biases``."""
    sizes = check_sizes(sizes)
    return [{"layer": layer, "shape": (n_out, n_in), "weights": n_out * n_in, "biases": n_out}
            for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]))]

