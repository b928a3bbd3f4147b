"""Counting parameters, layer by layer (seed 004's 1024-500-10 example).

A dense layer from ``n_in`` to ``n_out`` units has ``n_out * n_in`` weights and ``n_out``
biases; an MLP with ``sizes = [n_0, n_1, ..., n_L]`` has ``Σ_l n_{l+1} n_l`` weights and
``Σ_l n_{l+1}`` biases. For 1024-500-10: 1024·500 + 500·10 = 517 000 weights, plus
500 + 10 = 510 biases: 517 510 parameters.
"""

from __future__ import annotations

from handmade.mlp import _check_sizes


def count_parameters(sizes) -> list[dict]:
    """One dict per layer: ``layer``, ``shape`` (out, in), ``weights``, ``biases``."""
    sizes = _check_sizes(sizes)
    return [{"layer": layer, "shape": (n_out, n_in), "weights": n_out * n_in, "biases": n_out}
            for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]))]


def _n(x: int) -> str:
    return f"{x:,}".replace(",", " ")  # 517 000


def format_count(sizes) -> str:
    """A table of ``count_parameters(sizes)`` with the totals."""
    rows = count_parameters(sizes)
    lines = [f"{'layer':>5}  {'W shape':>12}  {'weights':>12}  {'biases':>8}"]
    for r in rows:
        lines.append(f"{r['layer']:>5}  {str(r['shape']):>12}  {_n(r['weights']):>12}  "
                     f"{_n(r['biases']):>8}")
    weights, biases = sum(r["weights"] for r in rows), sum(r["biases"] for r in rows)
    lines.append(f"total: {_n(weights)} weights, {_n(biases)} biases, "
                 f"{_n(weights + biases)} parameters")
    return "\n".join(lines)
