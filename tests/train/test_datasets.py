"""handgrad.compare.datasets: shapes, label formats, splits, standardization, and the textbook sets.

Witnesses: sklearn's own arrays (load_breast_cancer, make_moons, ...) for the bundled and
generated sets, and arithmetic written in this file for the tiny textbook ones.
"""

import itertools

import numpy as np
import pytest
from sklearn import datasets as skd
from sklearn.linear_model import Perceptron

from handgrad.compare.datasets import DATASETS, Dataset, load

TINY = ["seed000", "seed003", "xor", "xor3"]
SPLIT = ["cats_dogs", "moons", "circles", "breast_cancer", "iris", "digits"]
# sets with an external witness for their full raw data, in sklearn's order
SKLEARN_RAW = {
    "moons": lambda seed: skd.make_moons(n_samples=400, noise=0.2, random_state=seed),
    "circles": lambda seed: skd.make_circles(n_samples=400, noise=0.1, factor=0.5,
                                             random_state=seed),
    "breast_cancer": lambda seed: skd.load_breast_cancer(return_X_y=True),
    "iris": lambda seed: skd.load_iris(return_X_y=True),
    "digits": lambda seed: skd.load_digits(return_X_y=True),
}

# name: (task, total samples, n_features, n_outputs, n_classes)
EXPECTED = {
    "seed000": ("binary", 2, 3, 1, 2),
    "seed003": ("regression", 1, 3, 1, None),
    "xor": ("binary", 4, 2, 1, 2),
    "xor3": ("binary", 4, 3, 1, 2),
    "cats_dogs": ("binary", 200, 2, 1, 2),
    "moons": ("binary", 400, 2, 1, 2),
    "circles": ("binary", 400, 2, 1, 2),
    "breast_cancer": ("binary", 569, 30, 1, 2),
    "iris": ("multiclass", 150, 4, 3, 3),
    "digits": ("multiclass", 1797, 64, 10, 10),
}


def splits(ds: Dataset):
    return [("train", ds.X_train, ds.y_train), ("val", ds.X_val, ds.y_val),
            ("test", ds.X_test, ds.y_test)]


def all_rows(ds: Dataset):
    """All splits stacked, each row with its label appended: (m, n + 1)."""
    return np.vstack([np.column_stack([X, y]) for _, X, y in splits(ds)])


def sort_rows(A):
    return A[np.lexsort(A.T[::-1])]


def test_registry_names():
    assert list(DATASETS) == list(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_shapes_dtypes_and_labels(name):
    task, m, n, n_out, n_classes = EXPECTED[name]
    ds = load(name)
    assert (ds.name, ds.task, ds.n_classes) == (name, task, n_classes)
    assert (ds.n_features, ds.n_outputs, len(ds.feature_names)) == (n, n_out, n)
    assert ds.description
    sizes = [len(X) for _, X, _ in splits(ds)]
    if name in TINY:
        assert sizes == [m, m, m]  # train = val = test = all data
    else:
        # 60/20/20: test is ceil(0.2 m), val ceil(0.25 of the rest), as train_test_split rounds
        test = -(-m // 5)
        val = -(-(m - test) // 4)
        assert sizes == [m - test - val, val, test]
    for split, X, y in splits(ds):
        assert X.dtype == np.float64 and X.shape == (len(X), n), split
        assert len(y) == len(X), split
        if task == "binary":
            assert y.dtype == np.float64 and y.ndim == 1, split
            assert set(np.unique(y)) <= {0.0, 1.0}, split
        elif task == "multiclass":
            assert y.dtype == np.int64 and y.ndim == 1, split
            assert set(np.unique(y)) == set(range(n_classes)), split  # stratified: all present
        else:
            assert y.dtype == np.float64 and y.shape == (len(X), n_out), split


@pytest.mark.parametrize("name", list(EXPECTED))
@pytest.mark.parametrize("standardize", [True, False], ids=["std", "raw"])
def test_no_nan_or_inf(name, standardize):
    ds = load(name, standardize=standardize)
    for split, X, y in splits(ds):
        assert np.isfinite(X).all() and np.isfinite(y).all(), split
    if standardize:
        assert np.isfinite(ds.mean).all() and (ds.std > 0).all()


@pytest.mark.parametrize("name", list(SKLEARN_RAW))
@pytest.mark.parametrize("seed", [0, 3])
def test_splits_are_disjoint_and_cover_sklearn_data(name, seed):
    # The splits stacked are a permutation of sklearn's (X, y) rows, as a multiset: a row in
    # two splits, a lost row, or a label parted from its row would change the sorted table.
    ds = load(name, seed=seed, standardize=False)
    X, y = SKLEARN_RAW[name](seed)
    np.testing.assert_array_equal(sort_rows(all_rows(ds)), sort_rows(np.column_stack([X, y])))


def test_cats_dogs_splits_cover_the_generated_set():
    ds = load("cats_dogs", standardize=False)
    rows = all_rows(ds)
    assert len(np.unique(rows, axis=0)) == 200  # continuous draws: 200 distinct rows
    np.testing.assert_array_equal(np.bincount(rows[:, -1].astype(int)), [100, 100])


@pytest.mark.parametrize("name", SPLIT)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stratified_split_keeps_class_proportions(name, seed):
    ds = load(name, seed=seed, standardize=False)
    y_all = all_rows(ds)[:, -1].astype(int)
    share = np.bincount(y_all) / len(y_all)
    for split, _, y in splits(ds):
        counts = np.bincount(y.astype(int), minlength=len(share))
        # Tolerance 2 samples per class: each stratified split rounds a class's count to a
        # whole sample (< 1 off), and train/val inherit up to 0.75 more from the first split.
        np.testing.assert_array_less(np.abs(counts - share * len(y)), 2.0, err_msg=split)


@pytest.mark.parametrize("name", SPLIT)
def test_training_split_is_standardized(name):
    ds = load(name)
    raw = load(name, standardize=False)
    constant = np.ptp(raw.X_train, axis=0) == 0
    assert constant.any() == (name == "digits")  # digits has blank pixels in training
    # atol 1e-12: a mean of O(1) values over <= 1077 rows carries roundoff ~ m * eps ~ 2e-13
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(ds.X_train.std(axis=0)[~constant], 1.0, rtol=1e-12)
    assert (ds.std[constant] == 1.0).all() and (ds.X_train[:, constant] == 0.0).all()


@pytest.mark.parametrize("name", SPLIT)
def test_all_splits_use_training_statistics(name):
    ds, raw = load(name, seed=5), load(name, seed=5, standardize=False)
    mean = raw.X_train.mean(axis=0)  # the witness: numbers from the raw training rows
    std = np.where(np.ptp(raw.X_train, axis=0) == 0, 1.0, raw.X_train.std(axis=0))
    # rtol 1e-12 / atol 1e-12: the same sums in possibly another order, a few ulps apart
    np.testing.assert_allclose(ds.mean, mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ds.std, std, rtol=1e-12)
    for (split, X, y), (_, X_raw, y_raw) in zip(splits(ds), splits(raw)):
        np.testing.assert_array_equal(y, y_raw, err_msg=split)
        # val/test statistics of their own would put their column means at 0; training's don't
        np.testing.assert_allclose(X, (X_raw - mean) / std, rtol=1e-12, atol=1e-12,
                                   err_msg=split)


@pytest.mark.parametrize("name", ["breast_cancer", "iris", "digits"])
def test_recovered_raw_rows_equal_sklearn_data(name):
    ds = load(name, seed=2)
    recovered = np.vstack([X * ds.std + ds.mean for _, X, _ in splits(ds)])
    X, _ = SKLEARN_RAW[name](2)
    # Rounding to 8 decimals: the data have at most 6 decimals, and the round trip
    # (x - mean) / std * std + mean errs by ~1e-12 at the largest value (area, ~4e3).
    np.testing.assert_array_equal(sort_rows(np.round(recovered, 8)), sort_rows(np.round(X, 8)))


@pytest.mark.parametrize("name", list(EXPECTED))
def test_same_seed_gives_identical_arrays(name):
    a, b = load(name, seed=7), load(name, seed=7)
    for (split, Xa, ya), (_, Xb, yb) in zip(splits(a), splits(b)):
        np.testing.assert_array_equal(Xa, Xb, err_msg=split)
        np.testing.assert_array_equal(ya, yb, err_msg=split)


@pytest.mark.parametrize("name", SPLIT)
def test_different_seed_gives_different_split(name):
    a, b = load(name, seed=0, standardize=False), load(name, seed=1, standardize=False)
    assert a.X_test.shape == b.X_test.shape
    assert not np.array_equal(sort_rows(a.X_test), sort_rows(b.X_test))


def test_seed000_is_the_transpose_of_the_textbook_layout():
    ds = load("seed000")
    textbook = [[1, 2], [3, 4], [5, 6]]  # 3 features x 2 samples, one sample per column
    expected = [[textbook[i][j] for i in range(3)] for j in range(2)]  # transposed by hand
    for split, X, y in splits(ds):
        np.testing.assert_array_equal(X, expected, err_msg=split)
        np.testing.assert_array_equal(y, [0.0, 1.0], err_msg=split)
    assert ds.mean is None and ds.std is None  # textbook weights apply to the raw numbers


def test_seed003_single_sample():
    ds = load("seed003")
    for split, X, y in splits(ds):
        np.testing.assert_array_equal(X, [[1.0, 2.0, 3.0]], err_msg=split)
        np.testing.assert_array_equal(y, [[1.0]], err_msg=split)


def test_tiny_splits_are_separate_copies():
    ds = load("xor")
    ds.X_train[0, 0] = 9.0
    assert ds.X_val[0, 0] == 0.0 and ds.X_test[0, 0] == 0.0


def test_xor3_third_feature_and_seed004_neuron():
    ds = load("xor3")
    X, y = ds.X_train, ds.y_train
    np.testing.assert_array_equal(X[:, :2], load("xor").X_train)
    np.testing.assert_array_equal(X[:, 2], X[:, 0] * X[:, 1])
    z = -0.5 + X @ np.array([1.0, 1.0, -2.0])  # seed 004: bias -0.5, w = [1, 1, -2]
    # by hand: (0,0,0) -> -0.5, (0,1,0) -> 0.5, (1,0,0) -> 0.5, (1,1,1) -> -0.5
    np.testing.assert_array_equal(z, [-0.5, 0.5, 0.5, -0.5])
    np.testing.assert_array_equal(z > 0, y == 1)


GRID = np.linspace(-3, 3, 41)  # step 0.15, (b, w1, w2) over 41^3 = 68 921 lines
LINES = np.array(list(itertools.product(GRID, repeat=3)))  # (L, 3): b, w1, w2


def best_line_score(X, y):
    """Most points any grid line gets right, with z > 0 <=> label 1."""
    z = LINES[:, :1] + LINES[:, 1:] @ X.T  # (L, m)
    return ((z > 0) == (y == 1)).sum(axis=1).max()


@pytest.mark.parametrize("labels, separable", [
    ([0, 0, 0, 1], True),  # AND: the control that the grid is fine enough to find a line
    ([0, 1, 1, 1], True),  # OR
    (None, False),  # xor's own labels
], ids=["and", "or", "xor"])
def test_no_line_classifies_xor(labels, separable):
    # Why none can: 0 -> b <= 0; 1 -> w2 + b > 0 and w1 + b > 0; adding those two,
    # w1 + w2 + b > -b >= 0, contradicting (1,1) -> 0, i.e. w1 + w2 + b <= 0.
    ds = load("xor")
    y = ds.y_train if labels is None else np.array(labels, dtype=float)
    assert (best_line_score(ds.X_train, y) == 4) == separable


def test_cats_dogs_is_linearly_separable():
    ds = load("cats_dogs")
    X = np.vstack([ds.X_train, ds.X_val, ds.X_test])
    y = np.concatenate([ds.y_train, ds.y_val, ds.y_test])
    # the perceptron converges to zero training error exactly when a separating line exists
    clf = Perceptron(max_iter=1000, tol=None, random_state=0).fit(X, y)
    assert clf.score(X, y) == 1.0
    # and the margin is there on the raw numbers: |x1 + x2| / sqrt(2) >= 0.5 for every point
    raw = all_rows(load("cats_dogs", standardize=False))
    signed = (raw[:, 0] + raw[:, 1]) / np.sqrt(2) * (2 * raw[:, 2] - 1)
    assert signed.min() >= 0.5


def test_moons_is_not_linearly_separable():
    # control for the test above: the same perceptron cannot reach 100% on moons
    ds = load("moons")
    clf = Perceptron(max_iter=1000, tol=None, random_state=0).fit(ds.X_train, ds.y_train)
    assert clf.score(ds.X_train, ds.y_train) < 1.0


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'") as err:
        load("mnist")
    for name in EXPECTED:
        assert name in str(err.value)
