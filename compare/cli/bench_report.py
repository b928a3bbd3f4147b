"""What ``handgrad bench`` prints and draws: the tables, the noisy mark, the extras, the plot.

Every timed row shows min / median / max over its repeats (``compare.bench.timing``), and
every ratio reads handmade / other, of the medians: ``hand/torch`` in the tables and the
CUDA lines, ``handmade / sklearn`` for scikit-learn's epoch, ``check / gradcheck`` for the
cost of a check. A row whose slowest repeat took more than ``compare.bench.NOISY_SPREAD``
times its fastest, on either side, ends with ``noisy`` and the line under its table says
how many were (``noisy_note``). torch, scikit-learn and matplotlib are imported inside the
functions that need them.
"""

from __future__ import annotations

COLUMNS = (f"{'case':>16} {'batch':>5} {'dtype':>8} {'handmade us min/med/max':>26} "
           f"{'torch us min/med/max':>26} {'hand/torch':>10} {'GFLOP/s':>8} {'gemm':>6} "
           f"{'peak MiB':>8}")


def spread3(r: dict, side: str, scale: float = 1e6, fmt: str = ".1f") -> str:
    """``min/median/max`` of ``side`` in ``r``, times ``scale`` (us by default)."""
    return "/".join(format(r[f"{side}_{s}_s"] * scale, fmt) for s in ("min", "median", "max"))


def mark(r: dict) -> str:
    return "  noisy" if r.get("noisy") else ""


def header(threads: int, repeats: int) -> str:
    return (f"\n{threads} thread(s); per training step, min / median / max of {repeats} "
            f"block(s); hand/torch = handmade / torch, of the medians\n{COLUMNS}")


def row(r: dict) -> str:
    frac = "-" if r["gemm_frac"] is None else f"{r['gemm_frac']:.2f}"
    return (f"{r['case']:>16} {r['batch']:>5} {r['dtype']:>8} {spread3(r, 'handmade'):>26} "
            f"{spread3(r, 'torch'):>26} {r['ratio']:>10.2f} {r['handmade_gflops']:>8.1f} "
            f"{frac:>6} {r['handmade_peak_bytes'] / 2**20:>8.2f}{mark(r)}")


def noisy_note(rows: list[dict]) -> str:
    """The line under a table: how many rows are noisy, or how tight the spread was."""
    from handgrad.compare.bench import NOISY_SPREAD

    if min((r["repeats"] for r in rows), default=1) < 2:
        return ("one block per twin and row: no spread measured (use --repeats 5 or more "
                "for min / median / max)")
    worst = max((max(r[f"{s}_max_s"] / r[f"{s}_min_s"] for s in ("handmade", "torch"))
                 for r in rows), default=1.0)
    bad = sum(bool(r["noisy"]) for r in rows)
    if bad:
        return (f"noisy: {bad} of {len(rows)} rows, where one twin's slowest block took more "
                f"than {NOISY_SPREAD}x its fastest (up to {worst:.2f}x): the machine was "
                "busy and those ratios are not to be trusted; rerun on a quiet machine or "
                "with more --repeats")
    return (f"no row noisy: every twin's slowest block within {NOISY_SPREAD}x its fastest "
            f"(largest spread {worst:.2f}x)")


def extras(repeats: int, block: float) -> list[dict]:
    """scikit-learn's epoch, the loops against the vectorized gradient, the verification
    matrix, the cost of a check, and the torch twin on CUDA when present; printed."""
    import torch

    from handgrad.compare import bench

    out = []
    print()
    for dtype in ("float64", "float32"):
        r = bench.sklearn_epoch(dtype)
        print(f"sklearn MLPClassifier epoch, 1024-500-10, batch 128, {dtype}, min / median / "
              f"max of {r['repeats']} ms: handmade {spread3(r, 'handmade', 1e3)}, sklearn "
              f"{spread3(r, 'sklearn', 1e3)}; handmade / sklearn {r['ratio']:.2f}{mark(r)}")
        out.append(r)
    v = bench.vectorization()
    print(f"logistic gradient, m = 10 000, n = 100: double loop {v['double_loop_s'] * 1e3:.1f} "
          f"ms, sample loop {v['sample_loop_s'] * 1e3:.1f} ms, vectorized "
          f"{v['vectorized_s'] * 1e3:.2f} ms (the loops take {v['speedup_vs_double']:.0f}x "
          f"and {v['speedup_vs_sample']:.0f}x as long)")
    m = bench.verify_seconds()
    print(f"verification matrix: {m['checks']} checks, all ok: {m['ok']}, {m['seconds']:.1f} s")
    out += [v, m]
    out += check_cost(max(repeats, 5))
    if torch.cuda.is_available():
        print(f"\ntorch twin on CUDA ({torch.cuda.get_device_name()}), handmade on CPU; "
              f"us per step, min / median / max of {repeats}")
        for r in bench.bench_cuda(repeats=repeats, block_s=block):
            print(f"{r['case']:>16} {r['batch']:>5} {r['dtype']:>8} handmade "
                  f"{spread3(r, 'handmade'):>26}  torch cuda {spread3(r, 'torch'):>22}  "
                  f"hand/torch {r['ratio']:.2f}{mark(r)}")
            out.append(r)
        agree = bench.cpu_cuda_agreement()
        print(f"float64 gradients, torch CPU vs CUDA, 1024-500-10 b128: {agree:.1e} (normwise)")
        out.append({"case": "cpu-cuda-agreement-float64", "rel_err": agree})
    return out


def check_cost(repeats: int) -> list[dict]:
    """The cost of a gradient check against gradcheck's fast mode, one line per net."""
    from handgrad.compare import bench

    print(f"\ncheck_gradients vs torch.autograd.gradcheck(fast_mode=True), same loss, float64, "
          f"1 thread, {repeats} interleaved repeats: min / median / max ms; ratio = check / "
          "gradcheck, of the medians")
    return bench.check_vs_gradcheck(repeats=repeats, progress=lambda r: print(
        f"{r['case'][len('check-vs-gradcheck-'):]:>16} {r['batch']:>5}  check "
        f"{spread3(r, 'check', 1e3)}  gradcheck {spread3(r, 'gradcheck', 1e3)}  ratio "
        f"{r['ratio']:.2f} ({r['check_verdict']}){mark(r)}", flush=True))


SPREAD = 1.08  # series at one batch size sit this factor apart on the log x axis


def scaling_figure(records: list[dict], threads: int):
    """Step time against batch size, log-log, both twins, one colour per (case, dtype):
    the median, with a bar from min to max; the title names the thread count. The caller
    closes the figure.

    Readable with few batch sizes: the x ticks are the batch sizes measured, as plain
    numbers (no minor labels like 3×10⁰ crowding them); the y axis is in microseconds,
    plain numbers at 1-2-5 steps; and the series that share a batch size are spread a
    little sideways (``SPREAD`` apart, centred on it), so that their markers and bars do
    not hide each other.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

    fig, ax = plt.subplots(figsize=(7.5, 5))
    groups = sorted({(r["case"], r["dtype"]) for r in records})
    shift = _sideways(records)
    for i, (case, dtype) in enumerate(groups):
        rs = sorted((r for r in records if (r["case"], r["dtype"]) == (case, dtype)),
                    key=lambda r: r["batch"])
        for side, style, face in (("handmade", "o-", None), ("torch", "s--", "none")):
            med = [r[f"{side}_s"] * 1e6 for r in rs]
            bars = [[m - r[f"{side}_min_s"] * 1e6 for m, r in zip(med, rs)],
                    [r[f"{side}_max_s"] * 1e6 - m for m, r in zip(med, rs)]]
            ax.errorbar([r["batch"] * shift[r["batch"], case, dtype, side] for r in rs], med,
                        yerr=bars, fmt=style, color=f"C{i % 10}", mfc=face, ms=6, capsize=2,
                        label=f"{case} {dtype} {side}")
    repeats = max((r.get("repeats", 1) for r in records), default=1)
    ax.set(xscale="log", yscale="log", xlabel="batch size",
           ylabel="microseconds per step (log scale)",
           title=f"one training step, {threads} thread(s): median of {repeats} "
                 "block(s), bars min to max")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.xaxis.set_major_locator(FixedLocator(sorted({r["batch"] for r in records})))
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_locator(FixedLocator([]))
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.margins(x=0.1)
    ax.grid(alpha=0.3, which="major")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
    return fig


def _sideways(records: list[dict]) -> dict:
    """``(batch, case, dtype, side) -> factor``: the n series measured at one batch size
    sit at batch × SPREAD^(k − (n − 1)/2), k = 0 .. n − 1, centred on it."""
    out = {}
    for batch in {r["batch"] for r in records}:
        here = sorted((r["case"], r["dtype"], side) for r in records if r["batch"] == batch
                      for side in ("handmade", "torch"))
        for k, key in enumerate(here):
            out[(batch, *key)] = SPREAD ** (k - (len(here) - 1) / 2)
    return out


def plot_scaling(records: list[dict], path, threads: int) -> None:
    """:func:`scaling_figure` written to ``path`` (PNG, atomically)."""
    import matplotlib.pyplot as plt

    from handgrad.bookkeeping.atomic import atomic_path

    fig = scaling_figure(records, threads)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
