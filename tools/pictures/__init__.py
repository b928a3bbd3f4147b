"""The pictures of the derivation pages, drawn by code into docs/img/.

    python -m tools.pictures             (re)draw every picture into docs/img/
    python -m tools.pictures --out DIR   draw them into DIR instead

Every number a picture shows is computed when it is drawn, by the code the page is about:
the computational graph of backprop.md reads each value and gradient from
``compare.teach.derive.derive("seed003")``'s steps, the activation curves from
``handmade``'s activation records, the descent paths from ``handmade``'s optimizers and
neurons, the gate patterns from torch autograd. matplotlib draws with the Agg backend (no
display). tests/docs/test_pictures.py checks that every page shows its pictures, that each
file exists, and that the command draws each one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Picture:
    name: str  # the file in docs/img/
    page: str  # the derivation page (docs/derivations/) that shows it
    module: str  # tools.pictures.<module> defines draw_<function>(path)
    function: str


PICTURES = [
    Picture("layout-shapes.png", "layout.md", "shapes", "layout"),
    Picture("bce-minus-log.png", "logistic_neuron.md", "curves", "bce"),
    Picture("logistic-bowl.png", "logistic_neuron.md", "descent", "logistic_bowl"),
    Picture("linear-regression-descent.png", "linear_regression.md", "descent",
            "linear_regression"),
    Picture("perceptron-subgradient.png", "perceptron.md", "curves", "perceptron"),
    Picture("activations.png", "activations.md", "curves", "activations"),
    Picture("seed003-graph.png", "backprop.md", "graphs", "seed003"),
    Picture("gate-patterns.png", "backprop.md", "graphs", "gates"),
    Picture("softmax-example.png", "softmax_cross_entropy.md", "shapes", "softmax"),
    Picture("optimizer-paths.png", "optimizers.md", "descent", "optimizers"),
]
