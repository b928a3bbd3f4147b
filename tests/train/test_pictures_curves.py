"""Loss and divergence pictures that teach: smoothed curves, validation, names, twin gap.

The loss picture must show a readable training curve (the mean of each epoch's batches,
the raw per-batch loss faint behind it), the validation loss per epoch, the loss's name,
and the two twins apart (styles, and a second panel with |hand − torch| on a log axis).
Expected values are computed here from the trajectory, not read from the plotting code.
"""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from handgrad.compare.train import plot_curves, plots

plt = plots.plt
PER_EPOCH, EPOCHS = 4, 5


def trajectory(per_epoch=PER_EPOCH, epochs=EPOCHS, gap=1e-13, start=0.7, end=0.2):
    """Steps 1..per_epoch*epochs; hand loss from start to end; torch = hand + gap*step."""
    n = per_epoch * epochs
    hand = np.geomspace(start, end, n) * (1 + 0.1 * np.sin(np.arange(n)))  # batch noise
    return [{"step": i + 1, "epoch": i // per_epoch + 1, "hand_loss": float(hand[i]),
             "torch_loss": float(hand[i] + gap * (i + 1))} for i in range(n)]


VAL = [{"epoch": e, "step": PER_EPOCH * e, "hand_val_loss": v, "torch_val_loss": v + 1e-15}
       for e, v in zip(range(1, EPOCHS + 1), [0.6, 0.4, 0.3, 0.35, 0.5])]  # lowest: epoch 3


def _lines(ax):
    return {ln.get_label(): ln for ln in ax.get_lines()}


@pytest.fixture
def figure():
    made = []

    def build(*args, **kwargs):
        made.append(plot_curves.losses_figure(*args, **kwargs))
        return made[-1]
    yield build
    for fig in made:
        plt.close(fig)


def test_training_curve_is_the_mean_of_each_epoch_with_the_raw_loss_faint(figure):
    rows = trajectory()
    ax, _ = figure(rows).axes
    lines = _lines(ax)
    hand = np.array([r["hand_loss"] for r in rows]).reshape(EPOCHS, PER_EPOCH)
    torch_ = np.array([r["torch_loss"] for r in rows]).reshape(EPOCHS, PER_EPOCH)
    mean = "training, mean over each epoch's batches: "
    for label, witness in ((mean + "handmade (NumPy)", hand), (mean + "torch", torch_)):
        np.testing.assert_array_equal(lines[label].get_xdata(), [4, 8, 12, 16, 20])
        np.testing.assert_allclose(lines[label].get_ydata(), witness.mean(axis=1), rtol=1e-15)
    raw = lines["training, each batch (handmade (NumPy), raw)"]
    np.testing.assert_array_equal(raw.get_ydata(), hand.ravel())
    assert raw.get_alpha() <= 0.5 and raw.get_linewidth() < 1  # behind, not in front
    h, t = lines[mean + "handmade (NumPy)"], lines[mean + "torch"]
    # twins told apart however close: style, width, colour
    assert (h.get_linestyle(), t.get_linestyle()) == ("-", "--")
    assert h.get_linewidth() > 2 * t.get_linewidth()
    assert to_rgba(h.get_color()) != to_rgba(t.get_color())


def test_full_batch_draws_each_step_without_a_raw_copy(figure):
    rows = trajectory(per_epoch=1, epochs=12)
    ax, dx = figure(rows).axes
    lines = _lines(ax)
    assert not any("raw" in label for label in lines)
    np.testing.assert_array_equal(lines["training, full batch, each step: torch"].get_ydata(),
                                  [r["torch_loss"] for r in rows])
    assert dx.get_xlabel() == "optimizer step (1 batch per epoch)"


def test_validation_loss_per_epoch_and_its_lowest_epoch(figure):
    ax, dx = figure(trajectory(), val=VAL).axes
    lines = _lines(ax)
    for twin, key in (("handmade (NumPy)", "hand_val_loss"), ("torch", "torch_val_loss")):
        line = lines[f"validation, end of each epoch: {twin}"]
        np.testing.assert_array_equal(line.get_xdata(), [4, 8, 12, 16, 20])
        np.testing.assert_array_equal(line.get_ydata(), [v[key] for v in VAL])
    best = lines["lowest validation loss (epoch 3): restored at the end"]
    assert list(best.get_xdata()) == [12, 12]
    assert ax.get_title() == "loss of both twins: training and validation"
    assert "validation loss, each epoch" in _lines(dx)


@pytest.mark.parametrize("name, label, ln2", [
    ("bce", "binary cross-entropy (bce)", True),
    ("cross_entropy", "cross-entropy (softmax of logits) (cross_entropy)", False),
    ("my_loss", "my_loss", False)])
def test_the_y_axis_names_the_loss(figure, name, label, ln2):
    ax, _ = figure(trajectory(), loss_name=name).axes
    assert ax.get_ylabel() == label  # linear: 0.2 .. 0.7 is less than a factor 10
    coin = [ln for ln in ax.get_lines() if ln.get_label().startswith("ln 2")]
    assert bool(coin) == ln2
    if ln2:
        assert coin[0].get_ydata()[0] == pytest.approx(0.6931471805599453)


@pytest.mark.parametrize("start, end, scale", [(0.7, 0.2, "linear"), (2.0, 0.05, "log")])
def test_a_log_axis_only_when_the_loss_spans_a_factor_ten(figure, start, end, scale):
    ax, _ = figure(trajectory(start=start, end=end), loss_name="bce").axes
    assert ax.get_yscale() == scale
    assert ax.get_ylabel().endswith(", log scale") == (scale == "log")


def test_the_second_panel_shows_the_twin_gap_on_a_log_axis(figure):
    rows = trajectory(gap=1e-13)
    rows[3] = {**rows[3], "torch_loss": rows[3]["hand_loss"]}  # one exact agreement
    fig = figure(rows, title="moons, adam, float64")
    _, dx = fig.axes
    assert fig.get_suptitle() == "moons, adam, float64"
    assert dx.get_yscale() == "log"
    assert dx.get_ylabel() == "|handmade − torch|"
    assert dx.get_xlabel() == "optimizer step (4 batches per epoch)"
    gap = _lines(dx)["training loss, each step"]
    witness = np.abs(np.array([r["hand_loss"] - r["torch_loss"] for r in rows]))
    np.testing.assert_array_equal(gap.get_xdata(), np.delete(np.arange(1, 21), 3))
    np.testing.assert_array_equal(gap.get_ydata(), np.delete(witness, 3))
    assert "exactly 0 (drawn at 1e-18)" in _lines(dx)
    assert "markers at the bottom: exactly 0" in dx.get_title()


def test_divergence_says_what_is_drawn():
    rows = [{"step": s, "max_param_diff": 1e-15 * s, "rel_param_diff": 1e-16 * s}
            for s in range(1, 11)]
    fig = plot_curves.divergence_figure(rows, title="moons, adam, float64")
    try:
        (ax,) = fig.axes
        assert fig.get_suptitle() == "moons, adam, float64"
        assert ax.get_title() == "how far the twins' parameters drift apart after each step"
        assert (ax.get_xlabel(), ax.get_yscale()) == ("optimizer step", "log")
        assert ax.get_ylabel() == "parameter difference, handmade − torch (log scale)"
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels[:2] == [plot_curves.MAX_DIFF, plot_curves.REL_DIFF]
        assert "absolute" in labels[0] and "relative" in labels[1]
    finally:
        plt.close(fig)


def test_a_bad_val_row_leaves_no_figure_open():
    before = plt.get_fignums()
    with pytest.raises(ValueError, match=r"val\[0\] has no key 'torch_val_loss'"):
        plot_curves.losses_figure(trajectory(), val=[{"epoch": 1, "hand_val_loss": 0.5}])
    assert plt.get_fignums() == before
