"""Where a check spends its work, and that every detection holds on the cheap path.

``check_gradients`` on a large model runs the torch twin once (``term_bounds`` bound its
rounding), the hand's ``loss_and_grads`` twice (the judged call after a first one on the
batch reversed; a third only where the check fails) and its loss twice (finite differences
along one joint direction; per tensor only where autograd or that difference disagrees).
No timings here: ``handgrad bench`` measures the cost against gradcheck's fast mode. These
tests count what runs, and show each detection on a model large enough for that path.
"""

import numpy as np
import pytest

from handgrad import handmade
from handgrad.compare import check_gradients
from handgrad.compare.check import fd_plan, gradcheck
from handgrad.compare.check.fd_plan import reads_its_last_forward
from handgrad.compare.check.finite_diff import (
    finite_differences,
    joint_difference,
    kink_signature,
    perturb_in_place,
    settled_within,
)
from handgrad.compare.check.tolerances import FINITE_DIFF
from handgrad.torch_ref import TorchMLP

SIZES, M = [100, 120, 10], 96  # 13 330 parameters x 96 samples: beyond JOINT_WORK


def texts(report) -> str:
    return "\n".join([str(report)] + [f"{e.reason} {e.note}" for e in report.entries])


class Counted(handmade.MLP):
    """An MLP that counts its calls; ``slip`` (a function of the call number, the grads and
    the batch) puts one mistake into what ``loss_and_grads`` returns."""

    slip = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = {"loss_and_grads": 0, "loss_value": 0}

    def loss_and_grads(self, X, y):
        self.calls["loss_and_grads"] += 1
        loss, grads = super().loss_and_grads(X, y)
        grads = {k: np.array(g, copy=True) for k, g in grads.items()}
        if self.slip is not None:
            self.slip(self.calls["loss_and_grads"], grads, X)
        return loss, grads

    def loss_value(self, X, y):
        self.calls["loss_value"] += 1
        return super().loss_value(X, y)


class CountedTwin(TorchMLP):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.runs = 0

    def loss_and_grads(self, X, y):
        self.runs += 1
        return super().loss_and_grads(X, y)


def large(slip=None, loss="cross_entropy", acts=("relu", "identity"), seed=0):
    model = Counted(SIZES, list(acts), loss, seed=seed)
    model.slip = slip
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((M, SIZES[0]))
    y = (rng.integers(0, SIZES[-1], M) if loss == "cross_entropy"
         else rng.integers(0, 2, (M, SIZES[-1])).astype(np.float64))
    return model, X, y


# --- the plan and the counts -----------------------------------------------------------

@pytest.mark.parametrize("sizes, m, plan", [
    ([3, 5, 2], 8, "coords"),  # up to MAX_COORDS parameters: every coordinate
    ([30, 40, 20, 5], 8, "directions"),  # the verification matrix's largest net
    ([784, 256, 256, 10], 256, "joint"),  # the benchmark's nets
    ([1024, 500, 10], 128, "joint"),
], ids=["coords", "matrix-30-40-20-5", "bench-784", "bench-1024"])
def test_auto_plan(sizes, m, plan):
    params = {f"p{i}": np.zeros((o, n)) for i, (n, o) in enumerate(zip(sizes, sizes[1:]))}
    assert fd_plan.plan("auto", params, m) == plan
    assert fd_plan.plan("directions", params, m) == "directions"  # asked for: kept


def test_a_correct_large_model_costs_one_twin_run_two_calls_two_losses():
    model, X, y = large()
    twin = CountedTwin(SIZES, ["relu", "identity"], "cross_entropy")
    report = check_gradients(model, X, y, torch_model=twin)
    assert report.ok, report
    assert twin.runs == 1  # no reversed-batch run: term_bounds bound every gradient
    assert model.calls == {"loss_and_grads": 2, "loss_value": 2}
    assert report.references == ["autograd", "fd"] and report.fd_method == "joint"
    assert any("one direction through all 4 tensors agree" in n for n in report.notes), report
    assert all(e.fd_rel_err is None for e in report.entries if e.kind == "param")


def test_a_model_without_layers_still_gets_its_rounding_measured():
    """No ``intermediates``: nothing bounds the twin's rounding, so it is run twice."""
    inner = handmade.MLP([4, 6, 3], ["tanh", "identity"], "mse", seed=1)

    class Plain:  # params and loss_and_grads only
        params = inner.params

        def loss_and_grads(self, X, y):
            return inner.loss_and_grads(X, y)

    twin = CountedTwin([4, 6, 3], ["tanh", "identity"], "mse")
    rng = np.random.default_rng(1)
    report = check_gradients(Plain(), rng.standard_normal((9, 4)),
                             rng.standard_normal((9, 3)), torch_model=twin)
    assert report.ok, report
    assert twin.runs == 2


# --- every detection on the cheap path ------------------------------------------------

def test_a_wrong_tensor_fails_and_finite_differences_say_where():
    def slip(call, grads, X):
        grads["layers.0.bias"] *= 1.01

    model, X, y = large(slip)
    report = check_gradients(model, X, y)
    assert report.failures == ["layers.0.bias"], report
    assert report.fd_method == "directions"  # the joint difference disagreed: per tensor
    fd = {e.name: e.fd_rel_err for e in report.entries if e.kind == "param"}
    assert fd["layers.0.bias"] > 1e-3 and max(v for k, v in fd.items()
                                              if k != "layers.0.bias") < 1e-6, report
    assert model.calls["loss_and_grads"] == 3  # the third call: is it repeatable? (yes)
    assert "changed between" not in texts(report), report


def test_a_wrong_tensor_that_the_joint_difference_misses_is_differenced_alone():
    """1e-6 of one tensor: below the joint difference's tolerance, caught by autograd;
    then that tensor alone is differenced (and finite differences cannot tell)."""
    def slip(call, grads, X):
        grads["layers.1.bias"] *= 1 + 1e-6

    model, X, y = large(slip)
    report = check_gradients(model, X, y)
    assert report.failures == ["layers.1.bias"], report
    assert [e.name for e in report.entries if e.fd_rel_err is not None] == ["layers.1.bias"]


def test_accumulating_into_kept_arrays_fails_with_the_repeat_note():
    def slip(call, grads, X):
        grads["layers.1.weight"] *= call  # g, 2g, 3g: as if added into a kept array

    model, X, y = large(slip)
    report = check_gradients(model, X, y)
    assert report.failures == ["layers.1.weight"], report
    assert "changed between two identical calls" in report.entry("layers.1.weight").note


def test_state_from_the_batch_before_fails():
    """dW of layer 0 taken with the previous call's inputs: right on a fresh model only."""
    def slip(call, grads, X):
        prev = model.__dict__.setdefault("prev", X)
        grads["layers.0.weight"] = model.deltas[0].T @ prev
        model.prev = np.array(X, copy=True)

    model, X, y = large(slip)
    report = check_gradients(model, X, y)
    assert report.failures == ["layers.0.weight"], report


def test_a_first_call_that_is_wrong_fails_with_its_own_note():
    def slip(call, grads, X):
        if call == 1:
            grads["layers.1.bias"][...] = 0.0  # a fresh model's first gradient is lost

    model, X, y = large(slip)
    report = check_gradients(model, X, y)
    assert report.failures == ["layers.1.bias"], report
    assert report.entry("layers.1.bias").note == gradcheck.FIRST_NOTE
    assert model.calls["loss_and_grads"] == 2  # the judged call was right: no third one


def test_a_loss_value_off_the_gradient_is_said_per_tensor():
    """Hand and autograd agree; the loss that finite differences read is 1.0001 x: the joint
    difference disagrees, every tensor is differenced, and says so (autograd decides)."""
    class OffLoss(Counted):
        def loss_value(self, X, y):
            return 1.0001 * super().loss_value(X, y)

    model = OffLoss(SIZES, ["tanh", "identity"], "cross_entropy", seed=3)
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((M, SIZES[0])), rng.integers(0, SIZES[-1], M)
    report = check_gradients(model, X, y)
    assert report.verdict == "pass", report
    assert report.fd_method == "directions", report
    assert all(e.fd_rel_err is not None for e in report.entries if e.kind == "param")
    assert "references disagree" in texts(report), report


def test_saturated_bce_on_a_large_model_is_not_a_false_alarm():
    model, X, y = large(loss="bce", acts=("tanh", "sigmoid"), seed=7)
    last = model.n_layers - 1
    z = model.preactivations(X)[last]
    for key in (f"layers.{last}.weight", f"layers.{last}.bias"):
        model.params[key] *= 36.0 / np.max(np.abs(z))
    z = model.preactivations(X)[last]
    y[np.abs(z) > 25] = z[np.abs(z) > 25] < 0  # saturated on the wrong side
    assert np.sum(np.abs(z) > 27.6) >= 1
    report = check_gradients(model, X, y)
    assert report.verdict == "pass", report
    assert "bce clamp is not active" in texts(report), report


def test_a_unit_on_its_kink_sends_the_differences_per_tensor():
    """Sample 0 is all zeros and unit 0's bias 0: Z = 0 exactly, so every joint step, however
    short, crosses relu's kink; each tensor is then differenced along one direction."""
    model, X, y = large()
    X[0] = 0.0
    model.params["layers.0.bias"][0] = 0.0
    report = check_gradients(model, X, y)
    assert report.ok, report
    assert model.calls["loss_value"] == 6 + 2 * 4  # three joint lengths, then 4 tensors
    assert report.fd_method == "directions"
    assert report.entry("layers.0.bias").fd_kinks == 1  # its one step crossed too


# --- the parts ------------------------------------------------------------------------

def test_the_2h_step_is_taken_only_where_D_h_disagrees():
    arrays = {"a": np.array([0.3, -1.2, 2.0]), "b": np.array([0.5, 0.1])}
    calls = []

    def loss():  # L = sum(a^3) + sum(b^2)
        calls.append(1)
        return float(np.sum(arrays["a"] ** 3) + np.sum(arrays["b"] ** 2))

    grads = {"a": 3 * arrays["a"] ** 2, "b": 2 * arrays["b"] * 1.1}  # b's is wrong
    lazy = perturb_in_place(loss, arrays, grads, settled=settled_within(FINITE_DIFF["float64"]))
    assert len(calls) == 3 * 2 + 2 * 2 + 2 * 4  # D(h) everywhere, then b in full
    calls.clear()
    eager = perturb_in_place(loss, arrays, grads)
    assert len(calls) == 5 * 4
    for key in arrays:
        np.testing.assert_array_equal(lazy[key].fd, eager[key].fd)
    assert lazy["b"].error == eager["b"].error  # the full estimate where it is weighed
    assert lazy["a"].error <= eager["a"].error  # the rounding part alone where it passed


def test_joint_difference_matches_and_never_cancels():
    """One-element tensors whose random part could cancel their gradient's direction."""
    arrays = {f"w{i}": np.array([0.1 * (i + 1)]) for i in range(8)}
    signs = np.array([1, -1, 1, -1, -1, 1, -1, 1.0])

    def loss():
        return float(sum(s * a[0] ** 2 for s, a in zip(signs, arrays.values())))

    grads = {k: 2 * s * a for (k, a), s in zip(arrays.items(), signs)}
    for seed in range(20):
        res = joint_difference(loss, arrays, grads, seed=seed)
        assert np.all(np.isfinite(res.fd)) and abs(res.fd[0]) > 0.1
        assert settled_within(FINITE_DIFF["float64"])({"*": res}), res


def test_kink_signature_read_from_the_loss_forward_is_the_same():
    model = handmade.MLP([5, 7, 3], ["relu", "identity"], "cross_entropy", seed=2)
    X, y = np.random.default_rng(2).standard_normal((6, 5)), np.arange(6) % 3
    model.loss_value(X, y)
    again = kink_signature(model, X, y, [layer.Z for layer in model.intermediates])
    np.testing.assert_array_equal(again, kink_signature(model, X, y))
    assert reads_its_last_forward(model) and not reads_its_last_forward(Counted([2, 1], [
        "identity"], "mse"))


def test_finite_differences_of_some_keys_only():
    model, X, y = large()
    _, grads = model.loss_and_grads(X, y)
    res = finite_differences(model, X, y, {"layers.1.bias": grads["layers.1.bias"]},
                             method="directions", n_directions=2)
    assert list(res) == ["layers.1.bias"] and res["layers.1.bias"].fd.size == 2
