"""Issue 6's bad-input corpus: datasets, saved parameters and run folders.

How a case reads, and the other rooms' files: tests/bad_input.py.
"""

import pytest

from handgrad import torch_ref
from handgrad.compare import build_twins, datasets
from handgrad.compare.spec import Spec
from handgrad.compare.train.runs import load_into, load_run, save_run
from handgrad.handmade.persist import load_params, save_params
from handgrad.torch_ref.persist import load_state, save_state
from tests.bad_input import NO_CUDA, V, bce, case, check, poisoned, t_bce

NAMES = [  # 7. unknown names: the message lists the valid ones
    case("dataset", lambda: datasets.load("mnist"), V, "unknown dataset 'mnist'", "moons", "iris"),
]


@pytest.mark.parametrize(("call", "error", "words"), NAMES)
def test_bad_input_is_a_clear_error(call, error, words):
    check(call, error, words)


# --- 4, 6, 8, 9 at the persist loads: a file is input too ---------------------------------

def _write(tmp_path, kind):
    hand, twin = bce(), t_bce()
    if kind == "nan":
        poisoned(hand)
        poisoned(twin)
    params, state = hand.params, twin.state_dict()
    if kind == "int":
        params = {k: v.astype(int) for k, v in params.items()}
        state = {k: v.long() for k, v in state.items()}
    npz, pt = tmp_path / "params.npz", tmp_path / "state_dict.pt"
    save_params(params, npz)
    save_state(type("Twin", (), {"state_dict": lambda self: state})(), pt)
    return npz, pt


@pytest.mark.parametrize("kind, error, words", [
    ("nan", V, ["parameter layers.0.weight", "1 NaN/Inf"]),
    ("int", V, ["float32/float64", "layers.0.weight"]),
], ids=["nan", "int"])
@pytest.mark.parametrize("side", ["npz", "pt"])
def test_persist_loads_refuse_bad_parameters(tmp_path, side, kind, error, words):
    npz, pt = _write(tmp_path, kind)
    check(lambda: load_params(npz) if side == "npz" else load_state(pt), error, words)


@pytest.mark.parametrize("side", ["npz", "pt"])
def test_loading_into_a_twin_of_another_shape_names_the_difference(tmp_path, side):
    npz, pt = _write(tmp_path, "ok")
    other = torch_ref.TorchMLP([3, 2, 1], ["tanh", "sigmoid"], "bce")
    check(lambda: load_into(other, npz if side == "npz" else pt), V,
          ["layers.0.weight: handmade (4, 3) vs torch (2, 3)"])


@NO_CUDA
def test_loads_onto_missing_cuda_say_so(tmp_path):
    hand, twin = build_twins(Spec((3, 1), ("identity",), "mse"))
    save_run(tmp_path, Spec.of(hand), hand, twin, {"dtype": "float64"})
    check(lambda: load_state(tmp_path / "state_dict.pt", map_location="cuda"), V,
          ["'cuda'", "CUDA is not available"])
    check(lambda: load_run(tmp_path, device="cuda"), V, ["'cuda'", "CUDA is not available"])
