"""``handgrad bench``: the handmade twin against torch (and sklearn) on this machine.

    handgrad bench [--threads 2,1] [--repeats 5] [--block 0.2] [--json FILE] [--plot FILE]
                   [--quick] [--no-malloc-tuning]

Prints one table per thread count (time per training step of each twin, the ratio
handmade / torch, the handmade GFLOP/s and its fraction of a 2048² GEMM measured in the
same run, the handmade peak memory), then the extras: scikit-learn's MLPClassifier epoch
on 1024-500-10, the loop-vs-vectorized logistic gradient, the verification matrix's wall
time, and the torch twin on CUDA when a GPU is present. ``--json`` writes every record.
"""

from __future__ import annotations

import torch
from threadpoolctl import threadpool_limits

from bookkeeping.atomic import write_json_atomic
from compare import bench


def add_arguments(p) -> None:
    p.add_argument("--threads", default="2,1", help="thread counts to run, e.g. 2,1")
    p.add_argument("--repeats", type=int, default=5, help="timed blocks per twin and case")
    p.add_argument("--block", type=float, default=0.2, help="seconds per timed block")
    p.add_argument("--json", metavar="FILE", help="write every record as a JSON list")
    p.add_argument("--plot", metavar="FILE", help="log-log plot of step time against batch")
    p.add_argument("--cases", default=None,
                   help="a subset, e.g. 3-2-1:2,1024-500-10:128 (default: all seven)")
    p.add_argument("--quick", action="store_true",
                   help="one repeat of short blocks, no extras (a smoke run)")
    p.add_argument("--no-malloc-tuning", action="store_true",
                   help="leave glibc's defaults (see compare.bench.tune_malloc)")


def _row(r: dict) -> str:
    frac = "-" if r["gemm_frac"] is None else f"{r['gemm_frac']:.2f}"
    return (f"{r['case']:>16} {r['batch']:>5} {r['dtype']:>8} {r['handmade_s'] * 1e6:>11.1f} "
            f"{r['torch_s'] * 1e6:>11.1f} {r['ratio']:>6.2f} {r['handmade_gflops']:>8.1f} "
            f"{frac:>6} {r['handmade_peak_bytes'] / 2**20:>8.2f}")


def cmd_bench(args) -> int:
    tuned = False if args.no_malloc_tuning else bench.tune_malloc()
    repeats, block = (1, 0.02) if args.quick else (args.repeats, args.block)
    threads = [int(t) for t in args.threads.split(",")]
    cases = bench.CASES if not args.cases else [
        (tuple(int(s) for s in c.split(":")[0].split("-")), int(c.split(":")[1]))
        for c in args.cases.split(",")]
    records = []
    print(f"torch {torch.__version__}; glibc malloc tuning: {'on' if tuned else 'off'}; "
          f"medians of {repeats} interleaved blocks of >= {block} s")
    for n in threads:
        torch.set_num_threads(n)
        with threadpool_limits(n):
            print(f"\n{n} thread(s)\n{'case':>16} {'batch':>5} {'dtype':>8} {'handmade us':>11} "
                  f"{'torch us':>11} {'ratio':>6} {'GFLOP/s':>8} {'gemm':>6} {'peak MiB':>8}")
            records += bench.bench_cases(cases=cases, repeats=repeats, block_s=block,
                                         threads=n,
                                         progress=lambda r: print(_row(r), flush=True))
    if not args.quick:
        records += _extras(repeats, block)
    if args.json:
        write_json_atomic(args.json, records)
        print(f"wrote {args.json}")
    if args.plot:
        plot_scaling([r for r in records if "ratio" in r and r.get("threads") == threads[0]],
                     args.plot)
        print(f"wrote {args.plot}")
    return 0


def _extras(repeats: int, block: float) -> list[dict]:
    out = []
    for dtype in ("float64", "float32"):
        r = bench.sklearn_epoch(dtype)
        print(f"\nsklearn MLPClassifier epoch, 1024-500-10, batch 128, {dtype}: handmade "
              f"{r['handmade_s'] * 1e3:.1f} ms, sklearn {r['sklearn_s'] * 1e3:.1f} ms: "
              f"{r['speedup']:.2f}x")
        out.append(r)
    v = bench.vectorization()
    print(f"logistic gradient, m = 10 000, n = 100: double loop {v['double_loop_s'] * 1e3:.1f} "
          f"ms, sample loop {v['sample_loop_s'] * 1e3:.1f} ms, vectorized "
          f"{v['vectorized_s'] * 1e3:.2f} ms ({v['speedup_vs_double']:.0f}x, "
          f"{v['speedup_vs_sample']:.0f}x)")
    m = bench.verify_seconds()
    print(f"verification matrix: {m['checks']} checks, all ok: {m['ok']}, {m['seconds']:.1f} s")
    out += [v, m]
    if torch.cuda.is_available():
        print(f"\ntorch twin on CUDA ({torch.cuda.get_device_name()}), handmade on CPU")
        for r in bench.bench_cuda(repeats=repeats, block_s=block):
            print(f"{r['case']:>16} {r['batch']:>5} {r['dtype']:>8} handmade "
                  f"{r['handmade_s'] * 1e6:10.1f} us  torch cuda {r['torch_s'] * 1e6:10.1f} us")
            out.append(r)
        agree = bench.cpu_cuda_agreement()
        print(f"float64 gradients, torch CPU vs CUDA, 1024-500-10 b128: {agree:.1e} (normwise)")
        out.append({"case": "cpu-cuda-agreement-float64", "rel_err": agree})
    return out


def plot_scaling(records: list[dict], path) -> None:
    """Step time against batch size, log-log, both twins, one colour per (case, dtype)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bookkeeping.atomic import atomic_path
    fig, ax = plt.subplots(figsize=(7.5, 5))
    groups = sorted({(r["case"], r["dtype"]) for r in records})
    for i, (case, dtype) in enumerate(groups):
        rs = sorted((r for r in records if (r["case"], r["dtype"]) == (case, dtype)),
                    key=lambda r: r["batch"])
        b = [r["batch"] for r in rs]
        color = f"C{i % 10}"
        ax.plot(b, [r["handmade_s"] for r in rs], "o-", color=color,
                label=f"{case} {dtype} handmade")
        ax.plot(b, [r["torch_s"] for r in rs], "s--", color=color, mfc="none",
                label=f"{case} {dtype} torch")
    ax.set(xscale="log", yscale="log", xlabel="batch size", ylabel="seconds per step",
           title="one training step: cost against work")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)

