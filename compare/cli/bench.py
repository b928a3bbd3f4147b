"""``handgrad bench``: the handmade twin against torch (and sklearn) on this machine.

    handgrad bench [--threads 2,1] [--repeats 5] [--block 0.2] [--json FILE] [--plot FILE]
                   [--quick] [--no-malloc-tuning]

Prints one table per thread count (time per training step of each twin, the ratio
handmade / torch, the handmade GFLOP/s and its fraction of a 2048² GEMM measured in the
same run, the handmade peak memory), then the extras: scikit-learn's MLPClassifier epoch
on 1024-500-10, the loop-vs-vectorized logistic gradient, the verification matrix's wall
time, the cost of a gradient check (``check_gradients`` against
``torch.autograd.gradcheck(fast_mode=True)`` on the same loss, float64, one thread:
``compare.bench.check_vs_gradcheck``), and the torch twin on CUDA when a GPU is present.
``--json`` writes every record.

Malloc tuning, without ctypes: by default glibc hands blocks above 128 KiB back with
munmap/trim when they are freed, so every step's temporaries (NumPy's and torch's alike)
are page-faulted in again; on these virtual machines that costs as much as the arithmetic
of a 128-sample step. The benchmark therefore runs with glibc's mmap threshold raised to
32 MiB and its trim threshold to 1 GiB (``MALLOC_TUNING``: what ``mallopt`` would set, and
like it, turning off glibc's dynamic threshold). glibc reads these variables only when a
process starts, so when the environment lacks them, ``run`` measures in a child process
(``python -m compare bench`` with the same options) started with them, and relays its
output and exit status; values the user set stay. ``--no-malloc-tuning`` does the
opposite: glibc's defaults, in a child started without the variables if they are set.
On a C library other than glibc nothing is changed and the header says ``off``.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import threading

# glibc's environment names for mallopt's M_MMAP_THRESHOLD and M_TRIM_THRESHOLD
MALLOC_TUNING = {"MALLOC_MMAP_THRESHOLD_": str(32 * 2**20),
                 "MALLOC_TRIM_THRESHOLD_": str(2**30)}


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
                   help="leave glibc's defaults (see compare.cli.bench.MALLOC_TUNING)")


def is_glibc() -> bool:
    """Whether this Python runs on glibc, whose malloc reads ``MALLOC_TUNING``."""
    return platform.libc_ver()[0] == "glibc"


def malloc_tuned(environ=None) -> bool:
    """Whether a process with ``environ`` starts tuned: glibc, every variable set."""
    environ = os.environ if environ is None else environ
    return is_glibc() and all(key in environ for key in MALLOC_TUNING)


def malloc_environ(tuned: bool, environ=None) -> dict | None:
    """The environment a benchmark process must start with to be ``tuned`` (or not).

    ``environ`` (default: this process's) with the missing ``MALLOC_TUNING`` variables
    added, or with all of them removed for ``tuned=False``; ``None`` when ``environ`` is
    already right, or this is not glibc.
    """
    environ = dict(os.environ if environ is None else environ)
    present = [key for key in MALLOC_TUNING if key in environ]
    if not is_glibc() or len(present) == (len(MALLOC_TUNING) if tuned else 0):
        return None
    if tuned:
        return {**MALLOC_TUNING, **environ}
    return {k: v for k, v in environ.items() if k not in MALLOC_TUNING}


def bench_argv(args) -> list[str]:
    """The command line (after ``handgrad``) that parses back to ``args``."""
    argv = ["bench", "--threads", args.threads, "--repeats", str(args.repeats),
            "--block", repr(args.block)]
    for flag, value in (("--json", args.json), ("--plot", args.plot), ("--cases", args.cases)):
        if value is not None:
            argv += [flag, value]
    return argv + ["--quick"] * args.quick + ["--no-malloc-tuning"] * args.no_malloc_tuning


def _relay(stream, out) -> None:
    for line in stream:
        out.write(line)
        out.flush()


def run_in_child(argv: list[str], env: dict) -> int:
    """``python -m compare ARGV`` with ``env``; its output is relayed line by line."""
    proc = subprocess.Popen([sys.executable, "-m", "compare", *argv], text=True,
                            env={**env, "PYTHONUNBUFFERED": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    errors = threading.Thread(target=_relay, args=(proc.stderr, sys.stderr), daemon=True)
    errors.start()
    try:
        _relay(proc.stdout, sys.stdout)
        errors.join()
        return proc.wait()
    except KeyboardInterrupt:  # the child got the same ^C
        proc.wait()
        return 130


def parse_options(args) -> tuple[list[int], list | None]:
    """``--threads`` and ``--cases`` as numbers (a ValueError is a usage error)."""
    threads = [int(t) for t in args.threads.split(",")]
    cases = None if not args.cases else [
        (tuple(int(s) for s in c.split(":")[0].split("-")), int(c.split(":")[1]))
        for c in args.cases.split(",")]
    return threads, cases


def run(args) -> int:
    threads, cases = parse_options(args)  # usage errors here, before any child
    env = malloc_environ(not args.no_malloc_tuning)
    if env is not None:
        return run_in_child(bench_argv(args), env)
    import torch
    from threadpoolctl import threadpool_limits

    from bookkeeping.atomic import write_json_atomic
    from compare import bench

    tuned = malloc_tuned()
    repeats, block = (1, 0.02) if args.quick else (args.repeats, args.block)
    cases = cases or bench.CASES
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
        plot_scaling([r for r in records if "handmade_s" in r and "torch_s" in r
                      and r.get("threads") == threads[0]],
                     args.plot)
        print(f"wrote {args.plot}")
    return 0


def _row(r: dict) -> str:
    frac = "-" if r["gemm_frac"] is None else f"{r['gemm_frac']:.2f}"
    return (f"{r['case']:>16} {r['batch']:>5} {r['dtype']:>8} {r['handmade_s'] * 1e6:>11.1f} "
            f"{r['torch_s'] * 1e6:>11.1f} {r['ratio']:>6.2f} {r['handmade_gflops']:>8.1f} "
            f"{frac:>6} {r['handmade_peak_bytes'] / 2**20:>8.2f}")


def _extras(repeats: int, block: float) -> list[dict]:
    import torch

    from compare import bench

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
    out += check_cost(max(repeats, 5))
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


def check_cost(repeats: int) -> list[dict]:
    """The cost of a gradient check against gradcheck's fast mode, one line per net."""
    from compare import bench

    print(f"\ncheck_gradients vs torch.autograd.gradcheck(fast_mode=True), same loss, float64, "
          f"1 thread, {repeats} interleaved repeats: min / median / max ms")
    return bench.check_vs_gradcheck(repeats=repeats, progress=lambda r: print(
        f"{r['case'][len('check-vs-gradcheck-'):]:>16} {r['batch']:>5}  check "
        f"{_ms(r, 'check')}  gradcheck {_ms(r, 'gradcheck')}  ratio {r['ratio']:.2f} "
        f"({r['check_verdict']})", flush=True))


def _ms(r: dict, name: str) -> str:
    return " / ".join(f"{r[f'{name}_{s}_s'] * 1e3:.1f}" for s in ("min", "median", "max"))


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

