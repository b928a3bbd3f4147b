"""``diagnose(hand, ref, n_samples)``: each array-level hypothesis, and none for noise."""

import numpy as np
import pytest

from handgrad.compare.check.diagnose import diagnose

RNG = np.random.default_rng(7)
R = RNG.standard_normal((16, 3))  # a batch of 16 samples: the first axis is the batch
S = RNG.standard_normal((4, 4))  # square, not symmetric
ROW = RNG.standard_normal((1, 3))


def _rows_changed(rows, ref=R):
    hand = ref.copy()
    hand[rows] += np.random.default_rng(1).standard_normal((len(rows), ref.shape[1]))
    return hand


def _relu_masked(ref):
    return np.where(ref > 0, ref, 0.0)


CASES = {  # id -> (hand, ref, n_samples, exact text or key words)
    "times-2": (2 * R, R, 16, "hand = 2.000 × autograd: an extra 2 or a missing ½"),
    "times-half": (0.5 * R, R, 16, "hand = 0.5000 × autograd: a missing 2 or an extra ½"),
    "sign-flip": (-R, R, 16, "hand = −1.000 × autograd: a sign flip"),
    "minus-2": (-2 * R, R, 16, ["−2.000", "a sign flip, and an extra 2"]),
    "times-m": (16 * R, R, 16, "hand = 16.00 × autograd with m = 16: the 1/m of the mean is "
                "missing (the gradient of the sum)"),
    "over-m": (R / 16, R, 16, ["0.06250 × autograd with m = 16", "an extra 1/m"]),
    "any-constant": (0.731 * R, R, 16, "hand = 0.7310 × autograd: a constant factor"),
    "m-unknown": (16 * R, R, None, "hand = 16.00 × autograd: a constant factor"),
    "m-is-2": (2 * R[:2], R[:2], 2, ["with m = 2", "1/m of the mean is missing", "or an extra 2"]),
    "near-1": (1.0002 * R, R, 16, "hand = 1.000200 × autograd: a constant factor"),
    "float32-times-2": ((2 * R).astype(np.float32), R, 16, ["hand = 2.000 × autograd"]),
    "one-entry-named": (np.array([-3.0]), np.array([1.5]), 4, ["a sign flip, and an extra 2"]),
    "transposed": (S.T.copy(), S, 4, "hand = autogradᵀ: transposed"),
    "some-samples-right": (_rows_changed([1, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]), R, 16,
                           "right on 3 of 16 samples (rows 0, 2, 5); wrong on the others"),
    "one-sample-wrong": (_rows_changed([9]), R, 16,
                         "wrong on 1 of 16 samples (row 9); right on the others"),
    "many-rows-listed": (_rows_changed(list(range(9))), R, 16,
                         ["right on 7 of 16 samples (rows 9, 10, 11, 12, 13, …)"]),
    "mask-forgotten": (R, _relu_masked(R), 16, ["right except where autograd is 0 and hand "
                                                 "is not", "a mask that lets gradient through"]),
    "mask-too-much": (_relu_masked(R), R, 16, ["right except where hand is 0 and autograd is "
                                               "not", "a mask that blocks gradient"]),
    "hand-all-zero": (np.zeros_like(R), R, 16, "hand is 0 everywhere and autograd is not: no "
                      "gradient reaches it"),
    "scalar-mean": (np.float64(ROW.mean()), ROW, 2, "a scalar where a (1, 3) array is needed: "
                    "a mean over every entry (samples and features) instead of a sum over "
                    "samples? (hand = the mean of the right entries)"),
    "scalar-other": (np.float64(7.0), ROW, 2, "a scalar where a (1, 3) array is needed"),
    "shape-transposed": (ROW.T.copy(), ROW, 2, ["a (3, 1) array where a (1, 3) array is "
                                                "needed", "transposed"]),
    "shape-reshaped": (ROW.ravel(), ROW, 2, ["a (3,) array where a (1, 3) array", "reshape"]),
    "bias-not-summed": (R, R.sum(axis=0), 16, ["a (16, 3) array where a (3,) array is needed",
                                               "not yet summed over the samples"]),
}


@pytest.mark.parametrize("hand, ref, m, expected", CASES.values(), ids=list(CASES))
def test_each_hypothesis(hand, ref, m, expected):
    got = diagnose(hand, ref, n_samples=m)
    if isinstance(expected, str):
        assert got == expected
    else:
        assert got is not None and all(word in got for word in expected), got


def test_scattered_mask_beats_rows_and_whole_rows_beat_mask():
    hand = R.copy()
    hand[2, 1] = 0.0  # one entry zeroed: a mask (row 2 is right elsewhere)
    assert diagnose(hand, R, 16).startswith("right except where hand is 0")
    hand = R.copy()
    hand[15] = 0.0  # a whole sample dropped: the samples say more
    assert diagnose(hand, R, 16) == "wrong on 1 of 16 samples (row 15); right on the others"


@pytest.mark.parametrize("shape", [(1,), (2,), (3,), (2, 2), (3, 3), (1, 3), (16, 3), ()],
                         ids=lambda s: "x".join(map(str, s)) or "0d")
def test_no_hypothesis_fits_noise(shape):
    rng = np.random.default_rng(sum(shape) + 11)
    found = [diagnose(rng.standard_normal(shape), rng.standard_normal(shape),
                      n_samples=int(rng.integers(1, 40))) for _ in range(300)]
    assert [f for f in found if f] == []


@pytest.mark.parametrize("hand, ref", [
    (R + 1e-3 * np.random.default_rng(3).standard_normal(R.shape), R),  # small noise
    (R + 0.1, R),  # an offset is no named slip
    (np.array([0.731]), np.array([1.0])),  # one entry: any k fits, only a named one is said
    (np.array([np.nan, 1.0, 2.0]), np.array([1.0, 1.0, 2.0])),
    (np.zeros(3), np.zeros(3)),
    (None, R),
], ids=["small-noise", "offset", "one-entry-unnamed", "nan", "both-zero", "not-an-array"])
def test_none_when_nothing_fits(hand, ref):
    assert diagnose(hand, ref, n_samples=16) is None
