"""``handgrad bench``: the handmade twin against torch (and sklearn) on this machine.

    handgrad bench [--threads 2,1] [--repeats 5] [--block 0.2] [--cases SIZES:BATCH,...]
                   [--json FILE] [--plot FILE] [--quick] [--no-malloc-tuning]

Prints one table per thread count (time per training step of each twin as min / median /
max over ``--repeats`` interleaved blocks, the ratio handmade / torch of the medians, the
handmade GFLOP/s and its fraction of a 2048² GEMM measured in the same run, the handmade
peak memory; a row whose spread max / min exceeds ``compare.bench.NOISY_SPREAD`` on
either side is marked ``noisy``, and a line under the table says how many were), then the
extras: scikit-learn's MLPClassifier epoch on 1024-500-10, the loop-vs-vectorized
logistic gradient, the verification matrix's wall time, the cost of a gradient check
(``check_gradients`` against ``torch.autograd.gradcheck(fast_mode=True)`` on the same
loss, float64, one thread: ``compare.bench.check_vs_gradcheck``), and the torch twin on
CUDA when a GPU is present. Every ratio reads handmade / other. ``--json`` writes every
record (strict JSON), ``--plot`` draws the first thread count's table, and says which.
The printing and the plot are in ``compare.cli.bench_report``.

Malloc tuning, without ctypes: by default glibc hands blocks above 128 KiB back with
munmap/trim when they are freed, so every step's temporaries (NumPy's and torch's alike)
are page-faulted in again; on these virtual machines that costs as much as the arithmetic
of a 128-sample step. The benchmark therefore runs with glibc's mmap threshold raised to
32 MiB and its trim threshold to 1 GiB (``MALLOC_TUNING``: what ``mallopt`` would set, and
like it, turning off glibc's dynamic threshold). glibc reads these variables only when a
process starts, so when the environment lacks them, ``run`` measures in a child process
(``python -m handgrad bench`` with the same options) started with them, and relays its
output and exit status; values the user set stay. ``--no-malloc-tuning`` does the
opposite: glibc's defaults, in a child started without the variables if they are set.
On a C library other than glibc nothing is changed and the header says ``off``.
"""

from __future__ import annotations

import os
import sys

from handgrad.compare.cli.options import (
    cases,
    format_cases,
    nonnegative_float,
    output_file,
    positive_int,
    positive_ints,
)

# glibc's environment names for mallopt's M_MMAP_THRESHOLD and M_TRIM_THRESHOLD
MALLOC_TUNING = {"MALLOC_MMAP_THRESHOLD_": str(32 * 2**20),
                 "MALLOC_TRIM_THRESHOLD_": str(2**30)}


def add_arguments(p) -> None:
    p.add_argument("--threads", default="2,1", type=positive_ints, metavar="N,...",
                   help="thread counts, comma-separated: one table each")
    p.add_argument("--repeats", type=positive_int, default=5, metavar="N",
                   help="timed blocks per twin and case (min / median / max over them)")
    p.add_argument("--block", type=nonnegative_float, default=0.2, metavar="SECONDS",
                   help="seconds per timed block (0: one step per block)")
    p.add_argument("--json", metavar="FILE", type=output_file,
                   help="write every record as a JSON list (strict JSON; non-finite -> null)")
    p.add_argument("--plot", metavar="FILE", type=output_file,
                   help="log-log plot of step time against batch, at the first thread count")
    p.add_argument("--cases", type=cases, default=None, metavar="SIZES:BATCH,...",
                   help="a subset, e.g. 3-2-1:2,1024-500-10:128 (default: all seven)")
    p.add_argument("--quick", action="store_true",
                   help="one repeat of short blocks, no extras (a smoke run)")
    p.add_argument("--no-malloc-tuning", action="store_true",
                   help="leave glibc's defaults (see compare.cli.bench.MALLOC_TUNING)")


def is_glibc() -> bool:
    """Whether this Python runs on glibc, whose malloc reads ``MALLOC_TUNING``."""
    import platform

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
    argv = ["bench", "--threads", ",".join(map(str, args.threads)), "--repeats",
            str(args.repeats), "--block", repr(args.block)]
    for flag, value in (("--json", args.json), ("--plot", args.plot),
                        ("--cases", args.cases and format_cases(args.cases))):
        if value is not None:
            argv += [flag, value]
    return argv + ["--quick"] * args.quick + ["--no-malloc-tuning"] * args.no_malloc_tuning


def _relay(stream, out) -> None:
    for line in stream:
        out.write(line)
        out.flush()


def _relay_errors(stream, out) -> None:
    """``_relay``; when ``out`` cannot be written, the rest is read and dropped."""
    try:
        _relay(stream, out)
    except (OSError, ValueError):
        for _ in stream:
            pass


def run_in_child(argv: list[str], env: dict) -> int:
    """``python -m handgrad ARGV`` with ``env``; its output is relayed line by line.

    The child runs in a session of its own, so Ctrl-C at the terminal reaches this process
    alone, which passes it on once (SIGINT); the child's one line (``handgrad: interrupted
    after ...``) and its exit status 130 come back as they are. When this process stops
    for any other reason (its reader went away: ``| head``), the child's output pipe is
    closed, so that it stops at its next line as ``handgrad`` does (quietly, no file half
    written); one still running 3 s later is killed.
    """
    import signal
    import subprocess
    import threading

    proc = subprocess.Popen([sys.executable, "-m", "handgrad", *argv], text=True,
                            env={**env, "PYTHONUNBUFFERED": "1"}, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    errors = threading.Thread(target=_relay_errors, args=(proc.stderr, sys.stderr),
                              daemon=True)
    errors.start()
    try:
        try:
            _relay(proc.stdout, sys.stdout)
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            _relay(proc.stdout, sys.stdout)  # what the child still prints, to its end
            errors.join(timeout=10)
            if proc.wait() != 130:  # it said nothing of its own
                raise
            return 130
        errors.join()
        return proc.wait()
    finally:
        if proc.poll() is None:  # its next line fails: it stops quietly, its files whole
            proc.stdout.close()
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run(args) -> int:
    env = malloc_environ(not args.no_malloc_tuning)
    if env is not None:
        return run_in_child(bench_argv(args), env)
    import torch
    from threadpoolctl import threadpool_limits

    import handgrad.compare.cli.bench_report as report
    from handgrad.bookkeeping.atomic import write_json_atomic
    from handgrad.compare import bench

    repeats, block = (1, 0.02) if args.quick else (args.repeats, args.block)
    records, done = [], []

    def show(r: dict) -> None:
        done.append(r)
        print(report.row(r), flush=True)
    try:
        print(f"torch {torch.__version__}; glibc malloc tuning: "
              f"{'on' if malloc_tuned() else 'off'}; {repeats} interleaved block(s) of >= "
              f"{block} s per twin and row", flush=True)
        for n in args.threads:
            torch.set_num_threads(n)
            with threadpool_limits(n):
                print(report.header(n, repeats))
                rows = bench.bench_cases(cases=list(args.cases or bench.CASES),
                                         repeats=repeats, block_s=block, threads=n,
                                         progress=show)
                print(report.noisy_note(rows))
                records += rows
        if not args.quick:
            records += report.extras(repeats, block)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"interrupted after {len(done)} timed row(s)"
                                + ("; nothing written" if args.json or args.plot else "")
                                ) from None
    if args.json:
        write_json_atomic(args.json, records)
        print(f"wrote {args.json}")
    if args.plot:
        report.plot_scaling([r for r in records if "handmade_s" in r and "torch_s" in r
                             and r.get("threads") == args.threads[0]],
                            args.plot, threads=args.threads[0])
        print(f"wrote {args.plot} ({args.threads[0]} thread(s))")
    return 0
