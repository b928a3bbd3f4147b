"""``handgrad count``: weights and biases per layer of an MLP (seed 004's 1024-500-10).

    handgrad count 1024 500 10

The arithmetic is ``compare.teach.count.count_parameters``; this module only formats it. Needs
neither torch nor scikit-learn.
"""

from __future__ import annotations

from handgrad.compare.cli.options import positive_int


def add_arguments(p) -> None:
    p.add_argument("sizes", nargs="+", type=positive_int, metavar="SIZE",
                   help="layer widths, input first, at least two (e.g. 1024 500 10)")


def _n(x: int) -> str:
    return f"{x:,}".replace(",", " ")  # 517 000


def format_count(sizes) -> str:
    """A table of ``count_parameters(sizes)`` with the totals."""
    from handgrad.compare.teach.count import count_parameters

    rows = count_parameters(sizes)
    lines = [f"{'layer':>5}  {'W shape':>12}  {'weights':>12}  {'biases':>8}"]
    for r in rows:
        lines.append(f"{r['layer']:>5}  {str(r['shape']):>12}  {_n(r['weights']):>12}  "
                     f"{_n(r['biases']):>8}")
    weights, biases = sum(r["weights"] for r in rows), sum(r["biases"] for r in rows)
    lines.append(f"total: {_n(weights)} weights, {_n(biases)} biases, "
                 f"{_n(weights + biases)} parameters")
    return "\n".join(lines)


def run(args) -> int:
    print(format_count(args.sizes))
    return 0
