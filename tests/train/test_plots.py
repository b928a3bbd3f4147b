"""handgrad.compare.train.plots: valid PNG/GIF files that show the data, no figure leak, atomic
writes.

Each figure is rendered once (module fixtures) while a spy on ``Figure.savefig`` records
what the axes hold at save time, so the tests check both the pixels and the plot's content.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from handgrad.compare.train import plot_curves, plots

plt = plots.plt  # the module's pyplot, imported after it chose its backend
STEPS_PER_EPOCH = 10


def trajectory(n=40, zeros=0, scale=1.0, seed=0, diff_scale=1.0):
    """n steps, 10 per epoch; the first ``zeros`` steps have exactly equal twins."""
    rng = np.random.default_rng(seed)
    rows = []
    for step in range(1, n + 1):
        loss = scale * (0.7 * np.exp(-step / 15) + 0.05 + 0.02 * rng.random())
        diff = 0.0 if step <= zeros else diff_scale * 10 ** rng.uniform(-15.5, -14.5)
        rows.append({"step": step, "epoch": (step - 1) // STEPS_PER_EPOCH + 1,
                     "hand_loss": loss, "torch_loss": loss * (1 + 1e-12),
                     "max_param_diff": diff, "rel_param_diff": diff / 2,
                     "hand_grad_norm": 1.0, "torch_grad_norm": 1.0})
    return rows


VAL = [{"epoch": e, "hand_val_loss": 0.6 * np.exp(-e / 2) + 0.1,
        "torch_val_loss": 0.6 * np.exp(-e / 2) + 0.1} for e in range(5)]  # epoch 0: untrained
RNG = np.random.default_rng(1)
X = RNG.standard_normal((60, 2)) * [2.0, 1.0] + [1.0, -3.0]  # (60, 2), off-centre on purpose
Y = (X[:, 0] - 1.0 + 0.5 * X[:, 1] > -1.5).astype(float)  # (60,) 0/1


def linear_predict(w, b):
    """P(class 1) of a logistic unit, (g, 2) -> (g,); tanh form, so no overflow."""
    return lambda P: 0.5 * (1 + np.tanh((P @ np.asarray(w) + b) / 2))


PREDICT_A = linear_predict([1.0, 0.5], 0.5)


def predict_b(P):  # another boundary, returned as a column (g, 1)
    return linear_predict([-0.3, 2.0], 5.0)(P)[:, None]


TINY = trajectory(zeros=12, diff_scale=1e-6)  # positive values down to 1.5e-22
DIVERGENCE = {"divergence": (trajectory(zeros=12), 1e-18),  # data, expected floor
              "divergence_all_zero": (trajectory(zeros=40), 1e-18),
              "divergence_tiny": (TINY, 1e-24)}  # 100x below the smallest positive value
with_zero_loss = trajectory(scale=1.0)
with_zero_loss[-1] = {**with_zero_loss[-1], "hand_loss": 0.0, "torch_loss": 0.0}

CASES = {  # id -> how to draw it into a path
    "losses": lambda p: plots.plot_losses(trajectory(), p, title="losses"),
    "losses_other_data": lambda p: plots.plot_losses(trajectory(scale=3.0, seed=5), p,
                                                     title="losses"),
    "losses_with_val": lambda p: plots.plot_losses(trajectory(), p, val=VAL, title="losses"),
    "losses_with_zero": lambda p: plots.plot_losses(with_zero_loss, p),
    "divergence": lambda p: plots.plot_divergence(trajectory(zeros=12), p, title="drift"),
    "divergence_all_zero": lambda p: plots.plot_divergence(trajectory(zeros=40), p,
                                                           title="drift"),
    "divergence_tiny": lambda p: plots.plot_divergence(TINY, p),
    "boundary_a": lambda p: plots.plot_decision_boundary(PREDICT_A, X, Y, p, resolution=60),
    "boundary_b": lambda p: plots.plot_decision_boundary(predict_b, X, Y[:, None], p,
                                                         resolution=60),
}
# colours that must appear: each series / each class has its own
TAB = {"blue": (31, 119, 180), "navy": (0, 0, 128), "red": (214, 39, 40),
       "purple": (148, 103, 189), "class0": (0x1F, 0x4E, 0x99), "class1": (0xB2, 0x18, 0x2B)}
COLOURS = {"losses": ["blue", "navy"], "divergence": ["red", "purple"],
           "boundary": ["class0", "class1"]}


def _spy_record(fig):
    ax = fig.axes[0]
    legend = ax.get_legend()
    return {"yscale": ax.get_yscale(), "xlim": ax.get_xlim(), "ylim": ax.get_ylim(),
            "legend": [t.get_text() for t in legend.get_texts()] if legend else [],
            "contour_lines": [list(c.levels) for c in ax.collections
                              if hasattr(c, "levels") and not c.filled],
            "lines": {ln.get_label(): (np.asarray(ln.get_xdata(), float),
                                       np.asarray(ln.get_ydata(), float), ln.get_linestyle())
                      for ln in ax.get_lines()}}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """id -> (path, what the axes held at save time, figure numbers before, after)."""
    out, seen, result = tmp_path_factory.mktemp("plots"), [], {}
    original = Figure.savefig

    def spy(self, *args, **kwargs):
        seen.append(_spy_record(self))
        return original(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Figure, "savefig", spy)
        for name, draw in CASES.items():
            before = plt.get_fignums()
            path = draw(out / f"{name}.png")
            result[name] = (path, seen[-1], before, plt.get_fignums())
    return result


def pixels(path, frame=0):
    with Image.open(path) as im:
        im.seek(frame)
        return np.asarray(im.convert("RGB"), dtype=np.int16)  # (h, w, 3)


@pytest.mark.parametrize("name", list(CASES))
def test_writes_a_valid_png_that_is_not_blank(rendered, name):
    path, *_ = rendered[name]
    assert Path(path).name == f"{name}.png"
    with Image.open(path) as im:
        assert im.format == "PNG"
        im.verify()
    rgb = pixels(path)
    assert rgb.shape[0] > 300 and rgb.shape[1] > 400
    assert rgb.var() > 0
    for colour in COLOURS[name.split("_")[0]]:  # every series is drawn in its colour
        close = np.abs(rgb - TAB[colour]).max(axis=-1) <= 12
        assert close.sum() >= 30, f"{colour} hardly appears in {name}"


@pytest.mark.parametrize("a, b", [("losses", "losses_other_data"), ("losses", "losses_with_val"),
                                  ("divergence", "divergence_all_zero"),
                                  ("boundary_a", "boundary_b")],
                         ids=["losses-data", "losses-val", "divergence-zeros", "boundary-predict"])
def test_different_data_give_different_images(rendered, a, b):
    pa, pb = pixels(rendered[a][0]), pixels(rendered[b][0])
    assert pa.shape != pb.shape or np.abs(pa - pb).sum() > 0


@pytest.mark.parametrize("name", list(CASES))
def test_no_figure_leak(rendered, name):
    _, _, before, after = rendered[name]
    assert after == before


def test_losses_legend_styles_and_log_scale(rendered):
    record = rendered["losses"][1]
    mean = "training, mean over each epoch's batches: "
    assert record["legend"] == ["training, each batch (handmade (NumPy), raw)",
                                mean + "handmade (NumPy)", mean + "torch"]
    assert record["lines"][mean + "handmade (NumPy)"][2] == "-"
    assert record["lines"][mean + "torch"][2] == "--"
    assert record["yscale"] == "linear"  # 0.1 .. 0.77: less than a factor 10
    assert rendered["losses_with_zero"][1]["yscale"] == "linear"  # 0 has no logarithm


def test_validation_sits_where_each_epoch_ends(rendered):
    lines = rendered["losses_with_val"][1]["lines"]
    for label, key in (("validation, end of each epoch: handmade (NumPy)", "hand_val_loss"),
                       ("validation, end of each epoch: torch", "torch_val_loss")):
        x, y, _ = lines[label]
        np.testing.assert_array_equal(x, [0, 10, 20, 30, 40])  # epoch 0 is before step 1
        np.testing.assert_allclose(y, [v[key] for v in VAL])


@pytest.mark.parametrize("name", list(DIVERGENCE))
def test_divergence_draws_zeros_at_a_labelled_floor(rendered, name):
    data, floor = DIVERGENCE[name]
    record = rendered[name][1]
    assert record["yscale"] == "log"
    lo, hi = record["ylim"]
    assert np.isfinite([lo, hi]).all() and 0 < lo < floor and hi > 1.2e-7
    for key, label in [("max_param_diff", plot_curves.MAX_DIFF),
                       ("rel_param_diff", plot_curves.REL_DIFF)]:
        x, y, _ = record["lines"][label]
        v = np.array([r[key] for r in data])
        np.testing.assert_array_equal(x, [r["step"] for r in data])
        np.testing.assert_array_equal(y, np.where(v == 0, floor, v))  # zeros on the floor
        assert (y[v > 0] > floor).all()  # and below every real value
    assert f"exactly 0 (drawn at {floor:.0e})" in record["legend"]
    assert {"float64 eps 2.2e-16", "float32 eps 1.2e-07"} <= set(record["legend"])


@pytest.mark.parametrize("name", ["boundary_a", "boundary_b"])
def test_decision_boundary_has_the_half_contour_legend_and_padded_limits(rendered, name):
    record = rendered[name][1]
    assert record["contour_lines"] == [[0.5]]
    assert record["legend"] == ["class 0", "class 1", "P = 0.5 (decision boundary)"]
    (x0, x1), (y0, y1) = record["xlim"], record["ylim"]
    assert x0 < X[:, 0].min() and x1 > X[:, 0].max()
    assert y0 < X[:, 1].min() and y1 > X[:, 1].max()


GIF_FRAMES = [("step 0, loss 0.69", linear_predict([0.1, 0.1], 0.0)),
              ("step 10, loss 0.50", linear_predict([1.0, 0.2], 0.5)),
              ("step 20, loss 0.31", linear_predict([2.0, 1.0], 2.5))]
SAME_FRAMES = [("same", PREDICT_A), ("same", PREDICT_A)]  # Pillow merges identical frames


@pytest.mark.parametrize("frames", [GIF_FRAMES, SAME_FRAMES], ids=["three-frames", "look-alike"])
def test_gif_has_one_frame_per_entry_and_they_differ(tmp_path, frames):
    before = plt.get_fignums()
    path = plots.animate_decision_boundary(frames, X, Y, tmp_path / "b.gif", resolution=30)
    assert plt.get_fignums() == before
    with Image.open(path) as im:
        assert im.format == "GIF"
        assert im.n_frames == len(frames)
    images = [pixels(path, i) for i in range(len(frames))]
    assert all(img.var() > 0 for img in images)
    for a, b in zip(images, images[1:]):
        assert np.abs(a - b).sum() > 0


BAD = {
    "X-3-columns": (lambda p: plots.plot_decision_boundary(PREDICT_A, np.ones((5, 3)),
                                                           np.zeros(5), p), "X"),
    "X-1-d": (lambda p: plots.plot_decision_boundary(PREDICT_A, np.ones(5), np.zeros(5), p),
              "X"),
    "y-length": (lambda p: plots.plot_decision_boundary(PREDICT_A, X, Y[:-1], p), "y"),
    "y-not-0-1": (lambda p: plots.plot_decision_boundary(PREDICT_A, X, Y + 1, p), "y"),
    "predict-logits": (lambda p: plots.plot_decision_boundary(lambda P: P @ [1.0, 1.0], X, Y,
                                                              p, resolution=10), "predict"),
    "gif-X-3-columns": (lambda p: plots.animate_decision_boundary(
        GIF_FRAMES, np.ones((5, 3)), np.zeros(5), p), "X"),
    "gif-no-frames": (lambda p: plots.animate_decision_boundary([], X, Y, p), "frames"),
    "empty-trajectory": (lambda p: plots.plot_losses([], p), "trajectory"),
    "missing-key": (lambda p: plots.plot_losses([{"step": 1, "epoch": 1}], p), "hand_loss"),
    "negative-diff": (lambda p: plots.plot_divergence(
        [{"step": 1, "max_param_diff": -1.0, "rel_param_diff": 0.0}], p), "max_param_diff"),
}


@pytest.mark.parametrize("call, word", list(BAD.values()), ids=list(BAD))
def test_bad_input_is_a_value_error_naming_the_argument(tmp_path, call, word):
    before = plt.get_fignums()
    with pytest.raises(ValueError, match=rf"\b{word}\b"):
        call(tmp_path / "out.png")
    assert plt.get_fignums() == before
    assert list(tmp_path.iterdir()) == []


def _partial_then_fail(self, fname, *args, **kwargs):
    """Stands in for a writer that dies half-way: some bytes reach the file, then it raises."""
    if isinstance(fname, (str, os.PathLike)):
        Path(fname).write_bytes(b"half a picture")
    raise RuntimeError("disk full")


def _fail_on_second_call():
    calls = []

    def predict(P):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("model crashed")
        return PREDICT_A(P)
    return [("a", predict), ("b", predict)]


ATOMIC = {
    "losses-savefig": ("savefig", lambda p: plots.plot_losses(trajectory(), p)),
    "divergence-savefig": ("savefig", lambda p: plots.plot_divergence(trajectory(), p)),
    "boundary-savefig": ("savefig", lambda p: plots.plot_decision_boundary(
        PREDICT_A, X, Y, p, resolution=10)),
    "gif-pillow-save": ("pil", lambda p: plots.animate_decision_boundary(
        GIF_FRAMES[:1], X, Y, p, resolution=10)),
    "gif-predict-raises": (None, lambda p: plots.animate_decision_boundary(
        _fail_on_second_call(), X, Y, p, resolution=10)),
}


@pytest.mark.parametrize("what, call", list(ATOMIC.values()), ids=list(ATOMIC))
def test_failed_render_leaves_existing_file_and_no_temporary(tmp_path, monkeypatch, what, call):
    path = tmp_path / ("old.gif" if what != "savefig" else "old.png")
    path.write_bytes(b"the previous, good image")
    if what == "savefig":
        monkeypatch.setattr(Figure, "savefig", _partial_then_fail)
    elif what == "pil":
        monkeypatch.setattr(Image.Image, "save", _partial_then_fail)
    before = plt.get_fignums()
    with pytest.raises(RuntimeError):
        call(path)
    assert plt.get_fignums() == before
    assert path.read_bytes() == b"the previous, good image"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
