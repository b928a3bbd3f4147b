"""``handgrad verify``: the verification matrix, one line per (config, dtype, device).

    handgrad verify [--json FILE] [--device auto|cpu|cuda|cuda:N] [--dtype both|float64|float32]
                    [--quiet]

Checks every config of ``compare.check.suite.default_configs()`` with ``check_gradients``
and prints, per (config, dtype, device), the worst normwise relative error of the hand
gradients against autograd and against finite differences, and the finite-difference
steps left out at kinks. Exits 0 when every check passes and 1 when any fails. Imports
torch (through the judge) inside ``run`` only.
"""

from __future__ import annotations

import time


def add_arguments(p) -> None:
    p.add_argument("--json", metavar="FILE", help="write one record per checked entry")
    p.add_argument("--device", default="auto",
                   help="auto (cpu and every GPU present), cpu, cuda or cuda:N")
    p.add_argument("--dtype", default="both", choices=["both", "float64", "float32"])
    p.add_argument("--quiet", action="store_true", help="print only failures and totals")


def _worst(values):
    values = [v for v in values if v is not None]
    return max(values) if values else None


def _fmt(x):
    return "-" if x is None else f"{x:.1e}"


def _line(r) -> str:
    """One ``compare.check.suite.Result`` as a table row."""
    params = [e for e in r.report.entries if e.kind == "param"]
    ag = _worst(e.autograd_rel_err for e in params)
    fd = _worst(e.fd_rel_err for e in params)
    kinks = sum(e.fd_kinks for e in params)
    status = {"pass": "ok", "fail": f"FAIL {r.report.failures}",
              "inconclusive": f"INCONCLUSIVE {r.report.inconclusive}"}[r.report.verdict]
    return (f"{r.config:46} {r.dtype:8} {r.device:7} {_fmt(ag):>9} {_fmt(fd):>9} "
            f"{kinks:>5}  {status}")


def resolve_devices(device: str) -> list[str]:
    """``auto`` -> cpu plus every CUDA device present; otherwise the one device, checked."""
    from torch_ref import cuda_devices, resolve_device
    if device == "auto":
        return ["cpu", *cuda_devices()]
    resolve_device(device)  # ValueError with the reason if it cannot be used
    return [device]


def run(args) -> int:
    from bookkeeping.atomic import write_json_atomic
    from compare.check import suite

    devices = resolve_devices(args.device)
    dtypes = ("float64", "float32") if args.dtype == "both" else (args.dtype,)
    print(f"{'config':46} {'dtype':8} {'device':7} {'autograd':>9} {'fin.diff':>9} "
          f"{'kinks':>5}  result")
    start = time.perf_counter()
    results = suite.run_matrix(suite.default_configs(), dtypes, devices,
                               on_result=None if args.quiet else lambda r: print(_line(r)))
    elapsed = time.perf_counter() - start
    failed = [r for r in results if r.report.verdict == "fail"]
    undecided = [r for r in results if r.report.verdict == "inconclusive"]
    for r in failed + undecided:
        print(f"\n{r.config} ({r.dtype}, {r.device}):\n{r.report}")
    for dtype in dtypes:
        params = [e for r in results if r.dtype == dtype for e in r.report.entries
                  if e.kind == "param"]
        print(f"worst {dtype}: hand vs autograd {_fmt(_worst(e.autograd_rel_err for e in params))}"
              f", hand vs finite differences {_fmt(_worst(e.fd_rel_err for e in params))} "
              "(normwise relative)")
    print(f"{len(results) - len(failed) - len(undecided)} passed, {len(failed)} failed"
          + (f", {len(undecided)} inconclusive" if undecided else "")
          + f" ({len(results)} checks on {', '.join(devices)} in {elapsed:.1f} s)")
    if args.json:
        write_json_atomic(args.json, [rec for r in results for rec in r.report.records(r.config)])
        print(f"wrote {args.json}")
    return 1 if failed or undecided else 0  # the suite must decide every check
