"""Same seed, same numbers: bit-identical handmade results and identical torch CPU results."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from handgrad import handmade
from handgrad.compare import build_twins
from handgrad.compare.spec import Spec
from handgrad.compare.train.side_by_side import train_side_by_side

ROOT = Path(__file__).resolve().parents[2]


def _train(seed):
    spec = Spec((4, 6, 3), ("tanh", "identity"), "cross_entropy")
    hand, twin = build_twins(spec, seed=seed)
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((40, 4)), rng.integers(0, 3, 40)
    run = train_side_by_side(hand, twin, X, y, handmade.make_batches(40, 8, 5, seed=seed),
                             optimizer="adam", options={"lr": 0.01})
    return ({k: v.copy() for k, v in hand.params.items()},
            {k: v.numpy().copy() for k, v in twin.state_dict().items()},
            [r["hand_loss"] for r in run.trajectory])


def test_same_seed_twice_in_one_process_is_bit_identical():
    a, b = _train(3), _train(3)
    for side in (0, 1):
        for key in a[side]:
            np.testing.assert_array_equal(a[side][key], b[side][key], err_msg=key)
    assert a[2] == b[2]
    c = _train(4)
    assert not np.array_equal(a[0]["layers.0.weight"], c[0]["layers.0.weight"])


@pytest.mark.slow  # two Python processes, each importing torch
def test_same_seed_in_two_processes_is_bit_identical():
    code = ("import tests.train.test_determinism as t; "
            "h, tr, losses = t._train(3); "
            "print(repr([h[k].tobytes().hex() for k in sorted(h)] + "
            "[tr[k].tobytes().hex() for k in sorted(tr)] + losses))")
    runs = [subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                           text=True, timeout=120) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    assert runs[0].stdout == runs[1].stdout and runs[0].stdout


def test_no_pickle_anywhere_in_the_package():
    """Persistence uses .npz with allow_pickle=False and torch.load(weights_only=True)."""
    offenders = []
    rooms = ("handgrad", "handmade", "torch_ref", "bookkeeping", "compare")
    paths = [path for room in rooms for path in ROOT.glob(f"{room}/**/*.py")]
    assert len(paths) > 80  # every sub-package is read (compare/check's replay loads .npz)
    for path in paths:
        text = path.read_text()
        for bad in ("import pickle", "allow_pickle=True", "weights_only=False", "pickle.load"):
            if bad in text:
                offenders.append(f"{path.relative_to(ROOT)}: {bad}")
    assert not offenders
    assert "allow_pickle=False" in (ROOT / "handmade/persist.py").read_text()
    assert "weights_only=True" in (ROOT / "torch_ref/persist.py").read_text()
