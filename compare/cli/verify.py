"""``handgrad verify``: the verification matrix, one line per (config, dtype, device).

    handgrad verify [--json FILE] [--device auto|cpu|cuda|cuda:N] [--dtype both|float64|float32]
                    [--quiet]
    handgrad verify --replay PATH     rerun a check saved with report.save(PATH): any
                                      door's, its code imported from the current folder

Checks every config of ``compare.check.suite.default_configs()`` with ``check_gradients``
and prints, per (config, dtype, device), the worst normwise relative error of the hand
gradients against autograd and against finite differences, and the finite-difference
steps left out at kinks (a float32 row: those of its float64 check, which runs the
differences; see compare/check/wide.py). Exits 0 when every check passes and 1 when any fails or is
inconclusive. ``--json`` is strict JSON (a non-finite error is written as ``null``; see
``bookkeeping.atomic.write_json_atomic``) and is written only when the matrix is complete: Ctrl-C
stops with ``handgrad: interrupted after N of M checks`` and exit 130. Imports torch
(through the judge) inside ``run`` only.
"""

from __future__ import annotations

import time

from handgrad.compare.cli.options import device_or_auto, output_file


def add_arguments(p) -> None:
    p.add_argument("--json", metavar="FILE", type=output_file,
                   help="write one record per checked entry (strict JSON; non-finite -> null)")
    p.add_argument("--device", default="auto", type=device_or_auto,
                   help="where the autograd reference runs: auto (cpu and every GPU present), "
                        "cpu, cuda or cuda:N")
    p.add_argument("--dtype", default="both", choices=["both", "float64", "float32"])
    p.add_argument("--quiet", action="store_true", help="print only failures and totals")
    p.add_argument("--replay", metavar="PATH",
                   help="rerun a check saved by report.save(PATH) or by the pytest plugin "
                        "(PATH.json / PATH.npz) instead of the matrix")


def _worst(values):
    values = [v for v in values if v is not None]
    return max(values) if values else None


def _fmt(x):
    return "-" if x is None else f"{x:.1e}"


def _line(r) -> str:
    """One ``compare.check.suite.Result`` as a table row."""
    params = [e for e in r.report.entries if e.kind == "param"]
    differenced = [e for e in (r.report.float64 or r.report).entries if e.kind == "param"]
    ag = _worst(e.autograd_rel_err for e in params)
    fd = _worst(e.fd_rel_err for e in differenced)
    kinks = sum(e.fd_kinks for e in differenced)
    status = {"pass": "ok", "fail": f"FAIL {r.report.failures}",
              "inconclusive": f"INCONCLUSIVE {r.report.inconclusive}"}[r.report.verdict]
    return (f"{r.config:46} {r.dtype:8} {r.device:7} {_fmt(ag):>9} {_fmt(fd):>9} "
            f"{kinks:>5}  {status}")


def resolve_devices(device: str) -> list[str]:
    """``auto`` -> cpu plus every CUDA device present; otherwise the one device, checked."""
    from handgrad.compare.cli.devices import resolve_cli_device
    from handgrad.torch_ref import cuda_devices
    if device == "auto":
        return ["cpu", *cuda_devices()]
    resolve_cli_device(device)  # ValueError naming --device if it cannot be used
    return [device]


def replay(path: str) -> int:
    """Rerun a saved check; 0 when it passes now, 1 otherwise (2: it cannot be rerun)."""
    from handgrad.compare.check.replay import load_case, rerun

    case = load_case(path)  # FileNotFoundError / ValueError naming the file: exit 2
    saved = case.report.get("verdict", "?")
    report = rerun(case)  # ValueError saying which code it needs: exit 2
    print(f"saved verdict: {saved} ({case.report.get('versions', {})})\nrerun now:\n{report}")
    return 0 if report.ok else 1


def run(args) -> int:
    if args.replay is not None:
        return replay(args.replay)
    from handgrad.bookkeeping.atomic import write_json_atomic
    from handgrad.compare.check import suite

    devices = resolve_devices(args.device)
    dtypes = ("float64", "float32") if args.dtype == "both" else (args.dtype,)
    start = time.perf_counter()
    configs, done = suite.default_configs(), []

    def on_result(r) -> None:
        done.append(r)
        if not args.quiet:
            print(_line(r), flush=True)  # seen as it comes, also through a pipe
    try:
        if not args.quiet:  # the rows' header: --quiet prints no rows
            print(f"{'config':46} {'dtype':8} {'device':7} {'autograd':>9} {'fin.diff':>9} "
                  f"{'kinks':>5}  result", flush=True)
        results = suite.run_matrix(configs, dtypes, devices, on_result=on_result)
    except KeyboardInterrupt:
        total = len(configs) * len(dtypes) * len(devices)
        raise KeyboardInterrupt(f"interrupted after {len(done)} of {total} checks"
                                + ("; nothing written" if args.json else "")) from None
    elapsed = time.perf_counter() - start
    failed = [r for r in results if r.report.verdict == "fail"]
    undecided = [r for r in results if r.report.verdict == "inconclusive"]
    for r in failed + undecided:
        print(f"\n{r.config} ({r.dtype}, {r.device}):\n{r.report}")
    for dtype in dtypes:
        params = [e for r in results if r.dtype == dtype for e in r.report.entries
                  if e.kind == "param"]
        differenced = [e for r in results if r.dtype == dtype
                       for e in (r.report.float64 or r.report).entries if e.kind == "param"]
        print(f"worst {dtype}: hand vs autograd {_fmt(_worst(e.autograd_rel_err for e in params))}"
              f", hand vs finite differences {_fmt(_worst(e.fd_rel_err for e in differenced))}"
              + (" (in the float64 check)" if dtype == "float32" else "")
              + " (normwise relative)")
    print(f"{len(results) - len(failed) - len(undecided)} passed, {len(failed)} failed"
          + (f", {len(undecided)} inconclusive" if undecided else "")
          + f" ({len(results)} checks on {', '.join(devices)} in {elapsed:.1f} s)")
    if args.json:
        write_json_atomic(args.json, [rec for r in results for rec in r.report.records(r.config)])
        print(f"wrote {args.json}")
    return 1 if failed or undecided else 0  # the suite must decide every check
