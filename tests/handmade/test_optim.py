"""Each handmade optimizer makes torch.optim's updates: same gradients in, same parameters out.

The witness is torch.optim itself, fed the very same (random, seeded) gradient sequence
through ``p.grad``; the parameters of both are compared after every step.
"""

import numpy as np
import pytest
import torch

from handgrad import handmade, torch_ref

CASES = {
    "gd": ("sgd", {"lr": 0.1}),
    "momentum": ("sgd", {"lr": 0.05, "momentum": 0.9}),
    "momentum-dampening": ("sgd", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
    "nesterov": ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    "weight-decay": ("sgd", {"lr": 0.1, "weight_decay": 0.01}),
    "nesterov-weight-decay": ("sgd", {"lr": 0.05, "momentum": 0.8, "nesterov": True,
                                      "weight_decay": 1e-3}),
    "adam": ("adam", {"lr": 0.01}),
    "adam-betas-eps-decay": ("adam", {"lr": 0.003, "betas": (0.8, 0.99), "eps": 1e-6,
                                      "weight_decay": 0.01}),
}
SHAPES = {"layers.0.weight": (5, 3), "layers.0.bias": (5,), "layers.1.weight": (2, 5),
          "layers.1.bias": (2,)}
STEPS = 30


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_update_equals_torch_optim_step_for_step(case, dtype):
    name, options = CASES[case]
    rng = np.random.default_rng(0)
    params = {k: rng.standard_normal(s).astype(dtype) for k, s in SHAPES.items()}
    tparams = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    hand_opt = handmade.make_optimizer(name, params, **options)
    torch_opt = torch_ref.make_optimizer(name, list(tparams.values()), **options)
    # float64: one rounding per operation, ~10 operations a step, errors that do not grow
    # (the updates do not feed back into the gradients here): 1e-12 relative has >= 1e3x
    # headroom. float32: the same count of float32 roundings (eps 1.2e-7): 1e-5.
    rtol = 1e-12 if dtype == "float64" else 1e-5
    for step in range(STEPS):
        grads = {k: (rng.standard_normal(s) * (1 + step % 3)).astype(dtype)
                 for k, s in SHAPES.items()}
        for k, p in tparams.items():
            p.grad = torch.tensor(grads[k])
        hand_opt.step(grads)
        torch_opt.step()
        for k, p in params.items():
            assert p.dtype == np.dtype(dtype), k
            expected = tparams[k].detach().numpy()
            np.testing.assert_allclose(p, expected, rtol=rtol, atol=rtol * np.abs(expected).max(),
                                       err_msg=f"{k} after step {step + 1}")


def test_moved_at_all():
    """The comparison above is not vacuous: every optimizer moves every parameter."""
    for name, options in CASES.values():
        params = {"w": np.ones(3)}
        handmade.make_optimizer(name, params, **options).step({"w": np.array([1.0, -2.0, 3.0])})
        assert np.all(params["w"] != 1.0), name


@pytest.mark.parametrize("name, options, match", [
    ("rmsprop", {"lr": 0.1}, "unknown optimizer"),
    ("sgd", {"lr": -0.1}, "lr"),
    ("sgd", {"lr": 0.1, "nesterov": True}, "nesterov"),
    ("adam", {"lr": 0.1, "betas": (1.0, 0.9)}, "betas"),
    ("adam", {"lr": float("nan")}, "lr"),
], ids=["unknown", "negative-lr", "nesterov-without-momentum", "beta-1", "nan-lr"])
def test_bad_options_are_value_errors(name, options, match):
    with pytest.raises(ValueError, match=match):
        handmade.make_optimizer(name, {"w": np.ones(2)}, **options)


def test_mismatched_grads_are_a_value_error():
    opt = handmade.SGD({"w": np.ones(2)}, lr=0.1)
    with pytest.raises(ValueError, match="same keys"):
        opt.step({"v": np.ones(2)})


@pytest.mark.parametrize("option", ["lr", "momentum", "dampening", "weight_decay"])
def test_sgd_refuses_each_negative_option_by_name(option):
    params = {"w": np.zeros(2)}
    options = {"lr": 0.1, option: -0.5}
    with pytest.raises(ValueError, match=f"{option} must be a finite number >= 0, got -0.5"):
        handmade.SGD(params, **options)


def test_nesterov_without_momentum_says_what_it_needs():
    with pytest.raises(ValueError, match=r"nesterov needs momentum > 0 and dampening = 0 "
                                         r"\(as torch.optim.SGD\)"):
        handmade.SGD({"w": np.zeros(2)}, lr=0.1, nesterov=True)
