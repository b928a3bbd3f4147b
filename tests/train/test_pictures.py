"""Decision-boundary pictures that teach: a fixed colour scale, an honest 0.5 line, titles.

A model that is undecided (P = 0.5 up to 1e-12 everywhere, as a logistic neuron trained on
XOR ends up) must look neutral and say so, not draw a confident boundary through noise;
the titles must say which twin, which split and when. Each check reads the matplotlib
objects that :func:`compare.train.plots.boundary_figure` builds (or, for the GIF, what each
frame drew).
"""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.contour import ContourSet
from matplotlib.legend import Legend

from handgrad.compare.train import plots

plt = plots.plt
RNG = np.random.default_rng(3)
X = RNG.uniform(-1, 1, (40, 2))  # (40, 2)
Y = (X[:, 0] * X[:, 1] > 0).astype(int)  # (40,) XOR-like labels


def _sign(scale, centre=0.5):
    """P = centre ± scale, the sign following x1 - 0.3: a 'boundary' of size ``scale``."""
    return lambda P: centre + scale * np.sign(P[:, 0] - 0.3)


def _build(predict, title="", **caption):
    """(title text, contour sets, image, note-free?) of ``boundary_figure``; closes it."""
    fig = plots.boundary_figure(predict, X, Y, resolution=24, title=title,
                                caption=plots.Caption(**caption))
    try:
        ax = fig.axes[0]
        contours = [c for c in ax.collections if isinstance(c, ContourSet)]
        legend = ax.get_legend()
        return {"title": ax.get_title(), "contours": contours, "images": ax.get_images(),
                "legend_title": legend.get_title().get_text(),
                "legend": [t.get_text() for t in legend.get_texts()],
                "colorbar": fig.axes[1].get_ylabel()}
    finally:
        plt.close(fig)


TIES = "its classes, and any accuracy, are tie-breaking at P > 0.5"


@pytest.mark.parametrize("scale, note", [
    (1e-12, "P = 0.50 ± 1e-12 everywhere: no boundary (undecided)"),
    (0.0, "P = 0.50 exactly everywhere: no boundary (undecided)"),
    (5e-4, "P = 0.50 ± 5e-04 everywhere: no boundary (undecided)"),  # within MARGIN 1e-3
], ids=["1e-12", "exact", "inside-margin"])
def test_an_undecided_model_draws_no_line_and_says_so(scale, note):
    drawn = _build(_sign(scale))
    assert drawn["contours"] == []  # no black 0.5 line through rounding noise
    # and that an accuracy reported beside it (0.75 for the logistic neuron on XOR) is
    # tie-breaking at the cut, not a boundary
    assert drawn["title"].splitlines()[-2:] == [note, TIES]
    assert "P = 0.5 (decision boundary)" in drawn["legend"]  # the key stays: frames agree


def test_a_model_on_one_side_says_which_class_it_picks():
    drawn = _build(_sign(0.07, centre=0.33))  # P in {0.26, 0.40}
    assert drawn["contours"] == []
    assert drawn["title"].splitlines()[-1] == ("P between 0.26 and 0.40 everywhere: all "
                                               "class 0, no boundary")
    assert TIES not in drawn["title"]  # decided, wrongly: its classes are no tie


@pytest.mark.parametrize("scale", [2e-3, 0.3])
def test_a_real_crossing_draws_the_half_line_and_no_note(scale):
    drawn = _build(_sign(scale))
    assert [list(c.levels) for c in drawn["contours"]] == [[0.5]]
    assert "no boundary" not in drawn["title"]


@pytest.mark.parametrize("scale, lo, hi", [(1e-12, 0.0, 0.01), (0.05, 0.02, 0.15),
                                           (0.45, 0.4, 1.0)])
def test_the_colour_scale_is_fixed_to_probabilities(scale, lo, hi):
    """P = 0.5 ± s is drawn as far from white as s says: white for 1e-12, faint for 0.05,
    strong for 0.45 (a scale stretched to the data's range would paint all three alike)."""
    (image,) = _build(_sign(scale))["images"]
    assert image.get_clim() == (0.0, 1.0)
    rgb = image.to_rgba(image.get_array())[..., :3]  # (r, r, 3) as drawn
    strength = float(1 - rgb.min())  # 0 for white, larger for stronger colours
    assert lo <= strength <= hi


def test_the_colour_bar_names_the_scale():
    fig = plots.boundary_figure(_sign(0.3), X, Y, resolution=10)
    try:
        bar = fig.axes[1]
        assert bar.get_ylim() == (0.0, 1.0)
        assert bar.get_ylabel() == "P(class 1)   (white: 0.5, undecided)"
    finally:
        plt.close(fig)


@pytest.mark.parametrize("kwargs, lines", [
    ({"title": "xor, adam, float64", "twin": "torch", "split": "test", "step": 40, "epoch": 10},
     ["xor, adam, float64", "torch model, test points", "after step 40 (epoch 10)"]),
    ({"split": "validation", "step": 0, "epoch": 0, "loss": 0.6931},
     ["handmade (NumPy) model, validation points", "initial parameters, loss 0.6931"]),
    ({"step": 440, "epoch": 55, "restored": True},
     ["handmade (NumPy) model, training points",
      "after step 440 (epoch 55: lowest validation loss, restored)"]),
    ({}, ["handmade (NumPy) model, training points"]),
], ids=["torch-test", "initial", "restored", "defaults"])
def test_the_title_says_which_twin_which_points_and_when(kwargs, lines):
    drawn = _build(_sign(0.3), **kwargs)
    assert drawn["title"].splitlines() == lines
    assert drawn["legend_title"] == f"{kwargs.get('split', 'training')} points"


def test_each_gif_frame_says_when_and_shows_its_own_state(tmp_path, monkeypatch):
    """Frame 1 is the initial, undecided state; its title and picture say so; frame 2 is not."""
    titles, drawn = [], []
    real_title, real_draw = Axes.set_title, plots._draw_p

    def record_title(self, label, *args, **kwargs):
        titles.append(label)
        return real_title(self, label, *args, **kwargs)

    def record_draw(ax, p, xx, yy):
        image, line, note = real_draw(ax, p, xx, yy)
        drawn.append((image.get_clim(), line is not None, note))
        return image, line, note

    monkeypatch.setattr(Axes, "set_title", record_title)
    monkeypatch.setattr(plots, "_draw_p", record_draw)
    frames = [("step 0 (initial), training loss 0.6931", _sign(1e-12)),
              ("step 20, training loss 0.31", _sign(0.3))]
    before = plt.get_fignums()
    plots.animate_decision_boundary(frames, X, Y, tmp_path / "b.gif", resolution=12,
                                    title="xor, adam, float64",
                                    caption=plots.Caption(split="training", step=9))
    assert plt.get_fignums() == before
    frame_titles = [t for t in titles if "model" in t]  # the layout's placeholder left out
    assert [t.splitlines() for t in frame_titles] == [
        ["xor, adam, float64", "handmade (NumPy) model, training points",
         "step 0 (initial), training loss 0.6931",
         "P = 0.50 ± 1e-12 everywhere: no boundary (undecided)", TIES],
        ["xor, adam, float64", "handmade (NumPy) model, training points",
         "step 20, training loss 0.31"]]
    assert drawn == [((0.0, 1.0), False, "P = 0.50 ± 1e-12 everywhere: no boundary "
                                         f"(undecided)\n{TIES}"),
                     ((0.0, 1.0), True, None)]


def test_gif_frames_keep_one_legend_below_the_axes(tmp_path, monkeypatch):
    legends = []
    real = Legend.__init__

    def record(self, parent, *args, **kwargs):
        legends.append(kwargs.get("bbox_to_anchor"))
        return real(self, parent, *args, **kwargs)

    monkeypatch.setattr(Legend, "__init__", record)
    plots.animate_decision_boundary([("a", _sign(0.3)), ("b", _sign(0.2))], X, Y,
                                    tmp_path / "b.gif", resolution=8)
    assert len(legends) == 1  # drawn once, not per frame, so it cannot jump
    assert legends[0][1] < 0  # anchored below the axes: it covers no point
