"""The verification matrix: models x activations x losses x dtypes x devices.

Every config is a small model with seeded data; ``run_matrix`` checks each with
``check_gradients`` (autograd on the given device, finite differences on the CPU) and
returns one ``Result`` per (config, dtype, device).

The matrix (``default_configs``):

* the three textbook neurons: logistic (sigmoid + bce), linear (identity + mse), perceptron;
* a 4-5-4-k MLP for every differentiable hidden activation x every loss, the output
  activation being the one the loss expects (sigmoid for bce, softmax for nll, identity
  otherwise; k = 3 classes, 2 regression targets or 1 binary output);
* every loss again with ``reduction="sum"`` (tanh hidden layers);
* a deeper 6-8-8-8-3 net mixing relu, tanh and gelu, and a 30-40-20-5 net with 2 165
  parameters, large enough to be checked along random directions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from handgrad import handmade
from handgrad.compare.check.gradcheck import GradReport, check_gradients
from handgrad.compare.transfer import NUMPY_DTYPES

HIDDEN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "silu", "gelu"]
# loss -> (output activation, output width)
HEADS = {
    "mse": ("identity", 2),
    "half_mse": ("identity", 2),
    "bce": ("sigmoid", 1),
    "bce_with_logits": ("identity", 1),
    "cross_entropy": ("identity", 3),
    "nll": ("softmax", 3),
    "perceptron": ("identity", 1),
}
N_SAMPLES = 8


@dataclass(frozen=True)
class Config:
    """A named model factory: ``build(dtype)`` makes the handmade model, seeded."""

    name: str
    build: Callable[[type], object]
    loss: str


@dataclass
class Result:
    config: str
    dtype: str
    device: str
    report: GradReport
    seconds: float


def _mlp(sizes, activations, loss, reduction="mean"):
    return lambda dtype: handmade.MLP(sizes, activations, loss, seed=0, dtype=dtype,
                                      reduction=reduction)


def default_configs() -> list[Config]:
    configs = [
        Config("logistic_neuron", lambda dt: handmade.LogisticNeuron(4, dtype=dt), "bce"),
        Config("linear_neuron", lambda dt: handmade.LinearNeuron(4, dtype=dt), "mse"),
        Config("perceptron", lambda dt: handmade.Perceptron(4, dtype=dt), "perceptron"),
    ]
    for loss, (out_act, k) in HEADS.items():
        for hidden in HIDDEN:
            configs.append(Config(f"mlp-4-5-4-{k}-{hidden}-{loss}",
                                  _mlp([4, 5, 4, k], [hidden, hidden, out_act], loss), loss))
        configs.append(Config(f"mlp-4-5-4-{k}-tanh-{loss}-sum",
                              _mlp([4, 5, 4, k], ["tanh", "tanh", out_act], loss, "sum"), loss))
    configs.append(Config("mlp-6-8-8-8-3-relu-tanh-gelu-cross_entropy",
                          _mlp([6, 8, 8, 8, 3], ["relu", "tanh", "gelu", "identity"],
                               "cross_entropy"), "cross_entropy"))
    configs.append(Config("mlp-30-40-20-5-tanh-mse",
                          _mlp([30, 40, 20, 5], ["tanh", "tanh", "identity"], "mse"), "mse"))
    return configs


def make_data(model, loss: str, seed: int = 0):
    """Seeded inputs ``(N_SAMPLES, n_in)`` and labels that suit ``loss``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N_SAMPLES, model.sizes[0]))
    k = model.sizes[-1]
    if loss in ("cross_entropy", "nll"):
        y = rng.integers(0, k, N_SAMPLES)
    elif loss in ("bce", "bce_with_logits", "perceptron"):
        y = rng.integers(0, 2, (N_SAMPLES, k)).astype(np.float64)
    else:
        y = rng.standard_normal((N_SAMPLES, k))
    return X, y


def run_matrix(configs=None, dtypes=("float64", "float32"), devices=("cpu",),
               on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Check every (config, dtype, device); ``on_result`` sees each result as it comes."""
    results = []
    for cfg in configs if configs is not None else default_configs():
        for dtype in dtypes:
            model = cfg.build(NUMPY_DTYPES[dtype])
            X, y = make_data(model, cfg.loss)
            for device in devices:
                start = time.perf_counter()
                report = check_gradients(model, X, y, device=device)
                result = Result(cfg.name, dtype, device, report, time.perf_counter() - start)
                results.append(result)
                if on_result is not None:
                    on_result(result)
    return results
