"""The datasets handgrad trains on, all offline (generated or bundled with scikit-learn).

Every array is batch-first: ``X`` has shape ``(m, n)``, samples are rows, float64.
Labels follow docs/conventions: binary ``y`` is float64 0/1 of shape ``(m,)``; multiclass
``y`` is int64 class indices ``(m,)``; regression ``y`` is float64 ``(m, k)``.

=============  ==========  ========  =========  =================================================
name           task        samples   features   what
=============  ==========  ========  =========  =================================================
seed000        binary      2         3          seed 000's X ``[[1,2],[3,4],[5,6]]`` is 3 features
                                                x 2 samples (columns); ours is its transpose
                                                ``(2, 3)``; labels ``[0, 1]``
seed003        regression  1         3          seed 003's one sample ``[[1,2,3]]``, target
                                                ``[[1.0]]`` of shape ``(1, 1)``
xor            binary      4         2          the corners of {0,1}^2, labels ``[0,1,1,0]``;
                                                no line separates them
xor3           binary      4         3          xor plus ``x3 = x1*x2``; seed 004's logistic
                                                neuron (bias -0.5, w = [1, 1, -2]) gets all four
cats_dogs      binary      200       2          two seeded Gaussian clouds, 100 "cats" (0) and 100
                                                "dogs" (1), with every point at least 0.5 from
                                                the line x1 + x2 = 0: linearly separable
moons          binary      400       2          ``make_moons(400, noise=0.2)``
circles        binary      400       2          ``make_circles(400, noise=0.1, factor=0.5)``
breast_cancer  binary      569       30         sklearn's Wisconsin set; 0 malignant, 1 benign
iris           multiclass  150       4          sklearn's iris, 3 classes
digits         multiclass  1797      64         sklearn's 8x8 digits flattened row by row, 10
                                                classes
=============  ==========  ========  =========  =================================================

The four tiny sets (seed000, seed003, xor, xor3) use all their data as train, val and test
(separate copies) and are not standardized by default, so the textbook weights still apply.
The others are split 60/20/20 into train/val/test by two seeded, stratified
``train_test_split`` calls, and standardized by default with the mean and std (ddof 0) of
the TRAINING split, applied to all three splits; a feature constant on the training split
(digits has blank pixels) gets std 1 instead of 0. ``seed`` drives both the split and, for
cats_dogs, moons and circles, the generated points.

    ds = load("iris", seed=0)     # Dataset; ds.X_train (90, 4), ds.y_train int64 (90,)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from handgrad.compare.teach import seeds


@dataclass(frozen=True)
class Dataset:
    """One dataset, split and (optionally) standardized. See the module docstring."""

    name: str
    task: str  # "binary", "multiclass" or "regression"
    X_train: np.ndarray  # float64 (m, n)
    y_train: np.ndarray  # binary float64 (m,); multiclass int64 (m,); regression float64 (m, k)
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int | None  # 2 for binary, K for multiclass, None for regression
    feature_names: tuple[str, ...]
    mean: np.ndarray | None  # (n,) fitted on the training split; None if not standardized
    std: np.ndarray | None  # (n,) likewise; 1 where the training column is constant
    description: str

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_outputs(self) -> int:
        """Output units a model needs: 1 for binary, K for multiclass, k for regression."""
        if self.task == "binary":
            return 1
        if self.task == "multiclass":
            return int(self.n_classes)
        return self.y_train.shape[1]


Loader = Callable[..., Dataset]  # loader(*, seed=0, standardize=None) -> Dataset
DATASETS: dict[str, Loader] = {}
_TASKS = ("binary", "multiclass", "regression")


def load(name: str, *, seed: int = 0, standardize: bool | None = None) -> Dataset:
    """The dataset ``name``; ``standardize=None`` means the dataset's default."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")
    return DATASETS[name](seed=seed, standardize=standardize)


@dataclass(frozen=True)
class _Recipe:
    """How a registered dataset is made from its raw arrays: its name, task, whether it is
    tiny (its own training, validation and test set) and its description."""

    name: str
    task: str
    tiny: bool
    description: str


def _register(name: str, task: str, *, tiny: bool = False):
    """Turn ``raw(seed) -> (X, y, feature_names)`` into a loader; raw's docstring describes it."""
    assert task in _TASKS

    def wrap(raw):
        recipe = _Recipe(name, task, tiny, raw.__doc__)

        def loader(*, seed: int = 0, standardize: bool | None = None) -> Dataset:
            X, y, feature_names = raw(seed)
            return _assemble(recipe, X, y, feature_names, seed, standardize)

        loader.__name__ = loader.__qualname__ = f"load_{name}"
        loader.__doc__ = f"Load {name!r}: {raw.__doc__}"
        DATASETS[name] = loader
        return loader

    return wrap


def _labels(task: str, y) -> tuple[np.ndarray, int | None]:
    """``y`` in the task's dtype, and the number of classes (None for regression)."""
    if task == "binary":
        return np.asarray(y, dtype=np.float64), 2  # (m,) of 0/1
    if task == "multiclass":
        y = np.asarray(y, dtype=np.int64)  # (m,) class indices
        return y, int(y.max()) + 1
    return np.asarray(y, dtype=np.float64), None  # (m, k)


def _sklearn_datasets():
    """``sklearn.datasets``, imported on first use: importing scikit-learn takes about 0.8 s,
    which a command that trains on one of the four tiny sets need not pay."""
    from sklearn import datasets

    return datasets


def _split(X, y, task: str, tiny: bool, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(X_train, y_train), (X_val, y_val), (X_test, y_test)]``: 60/20/20, seeded and
    stratified by class; a tiny set is all three, each its own copy."""
    if tiny:
        return [(X.copy(), y.copy()) for _ in range(3)]
    from sklearn.model_selection import train_test_split  # see _sklearn_datasets

    stratify = None if task == "regression" else y  # 20% test, then a quarter of the 80%
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=0.2, random_state=seed, stratify=stratify)
    stratify = None if task == "regression" else y_rest
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=0.25, random_state=seed, stratify=stratify)
    return [(X_train, y_train), (X_val, y_val), (X_test, y_test)]


def _assemble(recipe: _Recipe, X, y, feature_names, seed: int, standardize) -> Dataset:
    X = np.asarray(X, dtype=np.float64)  # (m, n)
    y, n_classes = _labels(recipe.task, y)
    assert X.ndim == 2 and len(y) == len(X) and len(feature_names) == X.shape[1]
    splits = _split(X, y, recipe.task, recipe.tiny, seed)
    mean = std = None
    if standardize if standardize is not None else not recipe.tiny:
        X_train = splits[0][0]
        mean = X_train.mean(axis=0)  # (n,)
        std = X_train.std(axis=0)  # (n,), ddof 0
        std[np.ptp(X_train, axis=0) == 0] = 1.0  # constant column: leave it centred, no 0/0
        splits = [((Xs - mean) / std, ys) for Xs, ys in splits]
    (X_train, y_train), (X_val, y_val), (X_test, y_test) = splits
    return Dataset(recipe.name, recipe.task, X_train, y_train, X_val, y_val, X_test, y_test,
                   n_classes, tuple(str(f) for f in feature_names), mean, std,
                   recipe.description)


@_register("seed000", "binary", tiny=True)
def _seed000(seed):
    """seed 000's two samples; its X [[1,2],[3,4],[5,6]] is (features, samples), so transpose."""
    X = np.array(seeds.SEED000_X_TEXTBOOK).T  # (3, 2) -> (2, 3)
    return X, seeds.SEED000_Y, ("x1", "x2", "x3")


@_register("seed003", "regression", tiny=True)
def _seed003(seed):
    """seed 003's single sample [1, 2, 3] with target 1.0, for its 3-2-1 sigmoid network."""
    return [seeds.SEED003_INPUT], [[seeds.SEED003_TARGET]], ("x1", "x2", "x3")


@_register("xor", "binary", tiny=True)
def _xor(seed):
    """The four corners of {0,1}^2 labelled x1 XOR x2; not linearly separable."""
    return seeds.XOR_X, seeds.XOR_Y, ("x1", "x2")


@_register("xor3", "binary", tiny=True)
def _xor3(seed):
    """XOR with a third feature x3 = x1*x2; bias -0.5, w = [1, 1, -2] separates it (seed 004)."""
    X = np.array(seeds.XOR_X)
    X = np.column_stack([X, X[:, 0] * X[:, 1]])  # (4, 3)
    return X, seeds.XOR_Y, ("x1", "x2", "x1*x2")


@_register("cats_dogs", "binary")
def _cats_dogs(seed, n_per_class=100, margin=0.5):
    """Two 2-D Gaussian clouds, cats (0) and dogs (1), kept >= 0.5 from x1 + x2 = 0."""
    rng = np.random.default_rng(seed)
    normal = np.array([1.0, 1.0]) / np.sqrt(2.0)  # unit normal of the separating line
    X, y = [], []
    for label, sign in ((0, -1.0), (1, 1.0)):
        kept = np.empty((0, 2))
        while len(kept) < n_per_class:  # ~84% of draws survive; rarely a second round
            pts = rng.normal(sign * 1.5 * normal, 1.0, size=(2 * n_per_class, 2))
            kept = np.vstack([kept, pts[sign * (pts @ normal) >= margin]])  # drop the margin
        X.append(kept[:n_per_class])
        y.append(np.full(n_per_class, label))
    return np.vstack(X), np.concatenate(y), ("x1", "x2")


@_register("moons", "binary")
def _moons(seed):
    """sklearn's make_moons(400, noise=0.2): two interleaved half circles."""
    X, y = _sklearn_datasets().make_moons(n_samples=400, noise=0.2, random_state=seed)
    return X, y, ("x1", "x2")


@_register("circles", "binary")
def _circles(seed):
    """sklearn's make_circles(400, noise=0.1, factor=0.5): a small circle (1) in a big one (0)."""
    X, y = _sklearn_datasets().make_circles(n_samples=400, noise=0.1, factor=0.5, random_state=seed)
    return X, y, ("x1", "x2")


@_register("breast_cancer", "binary")
def _breast_cancer(seed):
    """sklearn's Wisconsin diagnostic breast cancer set: 30 features, 0 malignant, 1 benign."""
    b = _sklearn_datasets().load_breast_cancer()
    return b.data, b.target, b.feature_names


@_register("iris", "multiclass")
def _iris(seed):
    """sklearn's iris: 4 measurements (cm), classes 0 setosa, 1 versicolor, 2 virginica."""
    b = _sklearn_datasets().load_iris()
    return b.data, b.target, b.feature_names


@_register("digits", "multiclass")
def _digits(seed):
    """sklearn's 8x8 handwritten digits (pixels 0..16) flattened to 64 features, classes 0-9."""
    b = _sklearn_datasets().load_digits()
    return b.data, b.target, b.feature_names
