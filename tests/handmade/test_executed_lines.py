"""The executed line is the formula: the plain lines the docs link to are the ones that run.

Each test traces which lines of a handmade file run (``sys.settrace``), finds the plain
formula's line by its text (or by the derivations' own links, read with
``tools.doclinks``), and checks that it ran. A named speed trick (``inplace_grads``:
``dense_grads_into``, ``outer_product_into``) runs only when asked for, and must give the
plain formula's numbers bit for bit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import handgrad.handmade.activations
import handgrad.handmade.dense
import handgrad.handmade.mlp
import handgrad.handmade.optim
from handgrad import handmade
from handgrad.handmade.dense import (
    dense_backward,
    dense_forward,
    dense_grads_into,
    outer_product_into,
)
from tools import doclinks

DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]


def line_of(module, code: str) -> int:
    """The one line of ``module``'s source whose code (comment removed) is ``code``."""
    lines = Path(module.__file__).read_text().splitlines()
    hits = [n for n, line in enumerate(lines, 1) if line.split("  #")[0].strip() == code]
    assert len(hits) == 1, (code, hits)
    return hits[0]


def executed(module, fn) -> set[int]:
    """Lines of ``module``'s file that run during ``fn()``."""
    return executed_in([module], fn)[module]


def executed_in(modules: list, fn) -> dict:
    """``{module: lines of its file that run during fn()}``, one run for all of them."""
    by_path = {module.__file__: module for module in modules}
    ran: dict = {module: set() for module in modules}

    def tracer(frame, event, arg):
        module = by_path.get(frame.f_code.co_filename)
        if module is not None:
            if event == "line":
                ran[module].add(frame.f_lineno)
            return tracer
        return None

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(old)
    return ran


def layer(m: int, dtype, seed: int = 0):
    rng = np.random.default_rng(seed)
    X, W, b = (rng.standard_normal(s).astype(dtype) for s in ((m, 5), (4, 5), (4,)))
    dZ = rng.standard_normal((m, 4)).astype(dtype)  # a random upstream gradient
    return X, W, b, dZ


@pytest.mark.parametrize("m", [1, 2, 7])
def test_dense_backward_runs_the_plain_lines(m):
    X, W, b, dZ = layer(m, np.float64)
    _, cache = dense_forward(X, W, b)
    ran = executed(handgrad.handmade.dense, lambda: dense_backward(dZ, cache))
    assert line_of(handgrad.handmade.dense, "dW = dZ.T @ X") in ran
    assert line_of(handgrad.handmade.dense, "db = dZ.sum(axis=0)") in ran
    assert line_of(handgrad.handmade.dense, "dX = dZ @ W if need_dX else None") in ran
    trick = line_of(handgrad.handmade.dense, 'return np.einsum("j,k->jk", dz, x, out=out)')
    assert trick not in ran  # one sample without kept arrays: still the plain line
    ran = executed(handgrad.handmade.dense, lambda: dense_forward(X, W, b))
    assert line_of(handgrad.handmade.dense, "Z = X @ W.T + b") in ran


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [1, 2, 7])
def test_the_kept_array_trick_gives_the_plain_numbers_bit_for_bit(m, dtype):
    X, W, b, dZ = layer(m, dtype, seed=m)
    kept = (np.full_like(W, np.nan), np.full_like(b, np.nan))
    dW, db = dense_grads_into(dZ, X, kept)
    assert dW is kept[0] and db is kept[1]
    np.testing.assert_array_equal(dW, dZ.T @ X)
    np.testing.assert_array_equal(db, dZ.sum(axis=0))
    if m == 1:
        out = np.empty_like(W)
        assert outer_product_into(dZ[0], X[0], out) is out
        np.testing.assert_array_equal(out, dZ.T @ X)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [1, 6], ids=["one-sample", "batch"])
def test_inplace_grads_trains_to_the_same_bits_as_the_plain_gradients(m, dtype):
    """Five SGD steps of each: every loss, gradient and parameter equal bit for bit."""
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((m, 3)), rng.integers(0, 2, m)
    plain = handmade.MLP([3, 5, 2], ["sigmoid", "identity"], "cross_entropy", dtype=dtype)
    trick = handmade.MLP([3, 5, 2], ["sigmoid", "identity"], "cross_entropy", dtype=dtype,
                         inplace_grads=True)
    plain_sgd = handmade.SGD(plain.params, lr=0.5, momentum=0.9)
    trick_sgd = handmade.SGD(trick.params, lr=0.5, momentum=0.9)
    for _ in range(5):
        plain_loss, plain_grads = plain.loss_and_grads(X, y)
        trick_loss, trick_grads = trick.loss_and_grads(X, y)
        assert trick_loss == plain_loss
        for key in plain_grads:
            assert np.array_equal(trick_grads[key], plain_grads[key]), key
            assert trick_grads[key].dtype == plain_grads[key].dtype == dtype
        plain_sgd.step(plain_grads)
        trick_sgd.step(trick_grads)
    for key in plain.params:
        assert np.array_equal(trick.params[key], plain.params[key]), key


def test_the_default_gradients_are_new_arrays_the_trick_reuses_them():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    for inplace_grads in (False, True):
        model = handmade.MLP([3, 4, 2], ["tanh", "identity"], "mse",
                             inplace_grads=inplace_grads)
        first = model.loss_and_grads(X, y)[1]
        second = model.loss_and_grads(X, y)[1]
        assert all((first[k] is second[k]) == inplace_grads for k in first), inplace_grads


@pytest.mark.parametrize("given", [1, "yes", None], ids=["int", "str", "none"])
def test_inplace_grads_must_be_a_bool(given):
    with pytest.raises(TypeError, match=r"inplace_grads must be True or False, got"):
        handmade.MLP([3, 1], ["identity"], "mse", inplace_grads=given)


def test_kept_arrays_are_made_at_init_and_follow_a_change_of_dtype():
    model = handmade.MLP([3, 4, 2], ["tanh", "identity"], "mse", dtype=np.float32,
                         inplace_grads=True)
    made = model.new_grad_arrays()
    assert [(dW.shape, db.shape) for dW, db in made] == [((4, 3), (4,)), ((2, 4), (2,))]
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    g1 = model.loss_and_grads(X, y)[1]
    assert all(g.dtype == np.float32 for g in g1.values())
    model.params = {k: v.astype(np.float64) for k, v in model.params.items()}
    g2 = model.loss_and_grads(X, y)[1]
    assert all(g.dtype == np.float64 for g in g2.values())
    assert all(g2[k] is not g1[k] for k in g1)  # new kept arrays, in the new dtype
    g3 = model.loss_and_grads(X, y)[1]
    assert all(g3[k] is g2[k] for k in g2)  # and reused from then on


def test_identity_backward_is_ones_times_the_upstream_gradient():
    identity = handmade.get_activation("identity")
    rng = np.random.default_rng(1)
    z, dA = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    ran = executed(handgrad.handmade.activations,
                   lambda: identity.backward(dA, z, identity.forward(z)))
    assert line_of(handgrad.handmade.activations, "return local * dA") in ran
    assert line_of(handgrad.handmade.activations, "return np.ones_like(z)") in ran
    dZ = identity.backward(dA, z, z)
    assert dZ is not dA  # a new array, not the upstream one passed through
    np.testing.assert_array_equal(dZ, dA)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("options", "factor"), [({}, 1.0), ({"momentum": 0.5}, 1.0),
                                                 ({"momentum": 0.5, "nesterov": True}, 1.5)],
                         ids=["plain", "momentum", "nesterov"])
def test_sgd_runs_theta_minus_lr_g(options, factor, dtype):
    """First step: g itself, b_1 = g for momentum, and g + 0.5 b_1 = 1.5 g for nesterov."""
    rng = np.random.default_rng(2)
    params = {"w": rng.standard_normal((3, 4)).astype(dtype)}
    grads = {"w": rng.standard_normal((3, 4)).astype(dtype)}
    before = params["w"].copy()
    opt = handmade.SGD(params, lr=0.3, **options)
    ran = executed(handgrad.handmade.optim, lambda: opt.step(grads))
    assert line_of(handgrad.handmade.optim, "theta -= self.lr * g") in ran
    g = grads["w"] + 0.5 * grads["w"] if factor == 1.5 else grads["w"]
    np.testing.assert_array_equal(params["w"], before - 0.3 * g)
    assert params["w"].dtype == dtype


# --- the derivations' own links, in one default training step ---------------------------

MODULES = {"handmade/dense.py": handgrad.handmade.dense,
           "handmade/mlp.py": handgrad.handmade.mlp,
           "handmade/activations.py": handgrad.handmade.activations}
# What a training step of a sigmoid MLP runs, by the names the derivations link to: every
# linked line of the name (None), or only the linked lines with these texts.
STEP_CODE = {("handmade/dense.py", "dense_forward"): None,
             ("handmade/dense.py", "dense_backward"): None,
             ("handmade/mlp.py", "MLP._forward_math"): None,
             ("handmade/mlp.py", "MLP._backward_math"): None,
             ("handmade/activations.py", "sigmoid"): None,
             ("handmade/activations.py", "_sigmoid_derivative"): None,
             # the elementwise branch; softmax's vjp and step's refusal are other branches
             ("handmade/activations.py", "Activation.backward"): {"return local * dA"}}
# Formulas the derivations must link to (so that the test cannot pass by finding no links).
MUST_BE_LINKED = {("handmade/dense.py", "dW = dZ.T @ X"),
                  ("handmade/dense.py", "db = dZ.sum(axis=0)"),
                  ("handmade/mlp.py", "dZ = self.activation_backward(layer, dA, Z, A)"),
                  ("handmade/mlp.py", "A = get_activation(name).forward(Z)"),
                  ("handmade/activations.py", "return local * dA")}


def step_links(docs=doclinks.DOCS) -> dict[tuple[str, str, str], int]:
    """``{(path, name, text): line}`` of every derivation link into a training step's code.

    The line is where ``tools.doclinks`` finds the linked text within the named definition
    (the check ``tools.doclinks`` makes; a broken link fails here with its reason).
    """
    links = {}
    for page in sorted(docs.glob("*.md")):
        for match in doclinks.CODE.finditer(page.read_text()):
            key = (match["path"], match["name"])
            if key not in STEP_CODE or STEP_CODE[key] not in (None, {match["text"]}):
                continue
            line, why = doclinks._locate(match)
            assert why is None, f"{page.name}: {why} (run python -m tools.doclinks)"
            links[(match["path"], match["name"], match["text"] or "")] = line
    return links


def one_training_step(**options):
    """A default ``Trainer`` step of a sigmoid MLP, lines traced per linked module."""
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((8, 4)), rng.integers(0, 3, 8)
    model = handmade.MLP([4, 6, 3], ["sigmoid", "identity"], "cross_entropy", **options)
    trainer = handmade.Trainer(model, handmade.SGD(model.params, lr=0.1))
    ran = executed_in(list(MODULES.values()), lambda: trainer.step(X, y))
    return {path: ran[module] for path, module in MODULES.items()}


def test_the_derivations_linked_lines_run_in_a_default_training_step():
    links = step_links()
    texts = {(path, text) for path, _, text in links}
    assert MUST_BE_LINKED <= texts, MUST_BE_LINKED - texts
    assert any(path == "handmade/activations.py" and name == "sigmoid"
               for path, name, _ in links), "no link to the sigmoid's line"
    ran = one_training_step()
    not_run = [f"{path}#L{line} {name}: {text}" for (path, name, text), line in links.items()
               if line not in ran[path]]
    assert not not_run, "linked lines that did not run:\n" + "\n".join(not_run)


def test_the_trace_sees_the_trick_replace_the_plain_lines():
    """The witness above can fail: with the trick on, ``dW = dZ.T @ X`` does not run."""
    dense = "handmade/dense.py"
    plain_dW = line_of(handgrad.handmade.dense, "dW = dZ.T @ X")
    trick = line_of(handgrad.handmade.dense, "dW, db = dense_grads_into(dZ, X, out)")
    default_run = one_training_step()[dense]
    trick_run = one_training_step(inplace_grads=True)[dense]
    assert plain_dW in default_run and trick not in default_run
    assert trick in trick_run and plain_dW not in trick_run
