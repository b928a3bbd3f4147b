"""``handgrad bench``'s figures are honest: every sample kept, min / median / max printed,
a noisy row marked and counted under its table, every ratio handmade / other, the plot
naming its thread count, and strict JSON."""

import json
import re

import pytest

from handgrad.compare import bench, cli
from handgrad.compare.cli import bench_report as report
from handgrad.compare.cli.bench import MALLOC_TUNING


def test_compared_keeps_every_sample_and_takes_the_ratio_of_the_medians():
    r = bench.compared("handmade", [3.0, 1.0, 2.0], "torch", [4.0, 5.0, 4.5])
    assert r["handmade_samples_s"] == [3.0, 1.0, 2.0]
    assert (r["handmade_min_s"], r["handmade_median_s"], r["handmade_max_s"]) == (1.0, 2.0, 3.0)
    assert r["handmade_s"] == 2.0 and r["torch_s"] == 4.5
    assert r["ratio"] == pytest.approx(2.0 / 4.5)  # handmade / other
    assert r["repeats"] == 3


@pytest.mark.parametrize("a, b, noisy", [
    ([1.0, 1.5], [2.0, 2.0], False),  # exactly the bound: not above it
    ([1.0, 1.51], [2.0, 2.0], True),
    ([1.0, 1.0], [2.0, 3.1], True),  # either side
    ([1.0], [5.0], False),  # one sample: no spread
])
def test_a_row_is_noisy_when_a_side_spreads_beyond_the_bound(a, b, noisy):
    assert bench.NOISY_SPREAD == 1.5
    assert bench.compared("handmade", a, "torch", b)["noisy"] is noisy


def test_time_interleaved_returns_one_sample_per_block_in_alternating_order():
    calls = []
    hand, torch_ = (lambda: calls.append("h")), (lambda: calls.append("t"))
    h, t = bench.time_interleaved(hand, torch_, repeats=3, block_s=0, pause_s=0, warmup=0)
    assert len(h) == len(t) == 3 and all(x >= 0 for x in h + t)
    assert "".join(calls) == "htthht"  # a, b; then b, a; then a, b


def record(hand, torch_, **extra):
    return {"case": "3-2-1", "batch": 2, "dtype": "float32", "threads": 1,
            **bench.compared("handmade", hand, "torch", torch_), "handmade_gflops": 1.0,
            "gemm_gflops": 10.0, "gemm_frac": None, "handmade_peak_bytes": 2**20, **extra}


def test_a_row_prints_min_median_max_and_the_noisy_mark():
    quiet = report.row(record([1e-6, 1.4e-6, 1.2e-6], [4e-6, 4e-6, 4e-6]))
    assert "1.0/1.2/1.4" in quiet and "4.0/4.0/4.0" in quiet and "0.30" in quiet
    assert quiet.endswith("1.00") and "noisy" not in quiet  # 1 MiB peak, no mark
    assert report.row(record([1e-6, 1e-6], [4e-6, 9e-6])).endswith("  noisy")
    assert "hand/torch = handmade / torch" in report.header(2, 5)


def test_the_note_under_a_table_counts_the_noisy_rows():
    rows = [record([1.0, 1.1], [1.0, 1.0]), record([1.0, 2.0], [1.0, 1.0])]
    note = report.noisy_note(rows)
    assert note.startswith("noisy: 1 of 2 rows") and "1.5x" in note and "2.00x" in note
    calm = report.noisy_note(rows[:1])
    assert calm.startswith("no row noisy") and "1.10x" in calm
    assert "no spread measured" in report.noisy_note([record([1.0], [3.0])])


@pytest.fixture
def measured_here(monkeypatch):
    """The bench runs in this process (no child), with ``bench_cases`` faked."""
    for key in MALLOC_TUNING:
        monkeypatch.delenv(key, raising=False)

    def fake_cases(cases, repeats, block_s, threads, progress, **_):
        rows = [record([1.0, 1.0, 1.0], [2.0, 2.0, 2.0], threads=threads),
                record([1.0, 3.0, 1.0], [2.0, 2.0, 2.0], threads=threads,
                       batch=8, gemm_frac=float("nan"))]
        for r in rows:
            progress(r)
        return rows
    monkeypatch.setattr(bench, "bench_cases", fake_cases)


def test_bench_prints_the_noisy_rows_under_each_table(measured_here, capsys):
    assert cli.main(["bench", "--threads", "2,1", "--repeats", "3", "--block", "0",
                     "--cases", "3-2-1:2", "--no-malloc-tuning", "--quick"]) == 0
    out = capsys.readouterr().out
    assert out.count("noisy: 1 of 2 rows") == 2  # one note per thread count
    assert out.count("  noisy\n") == 2
    assert "2 thread(s)" in out and "1 thread(s)" in out


def test_bench_json_is_strict_and_writes_non_finite_as_null(measured_here, tmp_path):
    out = tmp_path / "bench.json"
    assert cli.main(["bench", "--threads", "1", "--cases", "3-2-1:2", "--no-malloc-tuning",
                     "--quick", "--json", str(out)]) == 0
    text = out.read_text()
    assert "NaN" not in text and "Infinity" not in text

    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")
    records = json.loads(text, parse_constant=refuse)
    assert [r["gemm_frac"] for r in records] == [None, None]  # None, and NaN -> null
    assert records[1]["handmade_samples_s"] == [1.0, 3.0, 1.0] and records[1]["noisy"] is True


def test_the_plot_names_its_thread_count(monkeypatch, tmp_path):
    import matplotlib.pyplot as plt

    titles = []
    close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig: (titles.append(fig.axes[0].get_title()),
                                                   close(fig)))
    path = tmp_path / "bench.png"
    report.plot_scaling([record([1e-3, 2e-3], [3e-3, 3e-3], batch=b) for b in (2, 8)], path,
                        threads=2)
    assert path.stat().st_size > 0
    assert titles == ["one training step, 2 thread(s): median of 2 block(s), bars min to max"]


def test_the_extras_print_every_ratio_handmade_over_other(monkeypatch, capsys):
    import torch

    cuda = {**record([1.0, 1.0], [2.0, 2.0]), "device": "cuda"}
    check = {"case": "check-vs-gradcheck-12-9-4", "batch": 16, "check_verdict": "pass",
             **bench.compared("check", [3.0, 3.0], "gradcheck", [2.0, 2.0])}
    monkeypatch.setattr(bench, "sklearn_epoch", lambda dtype: {
        "case": "sklearn", **bench.compared("handmade", [1.0, 1.0], "sklearn", [4.0, 4.0])})
    monkeypatch.setattr(bench, "vectorization", lambda: {
        "double_loop_s": 0.3, "sample_loop_s": 0.1, "vectorized_s": 0.001,
        "speedup_vs_double": 300.0, "speedup_vs_sample": 100.0})
    monkeypatch.setattr(bench, "verify_seconds", lambda: {"checks": 1, "ok": True,
                                                          "seconds": 1.0})

    def check_vs_gradcheck(repeats, progress):
        progress(check)
        return [check]
    monkeypatch.setattr(bench, "check_vs_gradcheck", check_vs_gradcheck)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda: "a GPU")
    monkeypatch.setattr(bench, "bench_cuda", lambda repeats, block_s: [cuda])
    monkeypatch.setattr(bench, "cpu_cuda_agreement", lambda: 1e-16)
    records = report.extras(2, 0.01)
    out = capsys.readouterr().out
    assert "handmade / sklearn 0.25" in out  # 1 s against 4 s
    assert "ratio 1.50 (pass)" in out  # check 3 s against gradcheck 2 s
    assert "hand/torch 0.50" in out and "torch twin on CUDA (a GPU)" in out
    assert "the loops take 300x and 100x as long" in out
    assert records[-1] == {"case": "cpu-cuda-agreement-float64", "rel_err": 1e-16}


def _shown_labels(axis, which: str):
    """The tick labels of ``axis`` that the drawn figure shows: inside the view, not empty."""
    lo, hi = sorted(axis.get_view_interval())
    ticks = axis.get_major_ticks() if which == "major" else axis.get_minor_ticks()
    return [t.label1 for t in ticks
            if lo <= t.get_loc() <= hi and t.label1.get_visible() and t.label1.get_text()]


def test_the_plot_of_two_cases_has_readable_ticks_and_markers_apart():
    import itertools

    import matplotlib.pyplot as plt

    # the two-case quick run that crowded the picture: medians in seconds, where the two
    # torch rows at batch 64 lie 4% apart
    medians = {("3-2-1", 2, "float32"): (385e-6, 840e-6),
               ("3-2-1", 2, "float64"): (505e-6, 1030e-6),
               ("64-32-10", 64, "float32"): (215e-6, 1500e-6),
               ("64-32-10", 64, "float64"): (468e-6, 1441e-6)}
    records = [record([h, h], [t, t], case=case, batch=batch, dtype=dtype)
               for (case, batch, dtype), (h, t) in medians.items()]
    fig = report.scaling_figure(records, threads=1)
    try:
        fig.canvas.draw()
        ax = fig.axes[0]
        assert [t.get_text() for t in _shown_labels(ax.xaxis, "major")] == ["2", "64"]
        for axis in (ax.xaxis, ax.yaxis):
            assert _shown_labels(axis, "minor") == []  # no 3×10⁰ between the batch sizes
            shown = _shown_labels(axis, "major")
            assert all(re.fullmatch(r"[0-9.]+", t.get_text()) for t in shown), \
                [t.get_text() for t in shown]  # plain numbers, no 10-power mathtext
            boxes = [t.get_window_extent() for t in shown]
            assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
        # each series' markers: no two drawn on top of each other
        size = 6 * fig.dpi / 72  # the marker's width in pixels (ms=6 points)
        points = [ax.transData.transform(xy) for c in ax.containers
                  for xy in c.lines[0].get_xydata()]
        assert len(points) == 2 * len(records)
        for a, b in itertools.combinations(points, 2):
            assert max(abs(a - b)) >= size, (a, b)
    finally:
        plt.close(fig)
