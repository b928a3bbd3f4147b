"""The ``handgrad`` command line.

    handgrad verify [--json FILE] [--device auto|cpu|cuda|cuda:N] [--dtype both|float64|float32]
    handgrad train [options]          (see compare/cli/train.py)
    handgrad derive EXAMPLE | --bug NAME | --bug list
    handgrad count 1024 500 10
    handgrad bench [--threads 2,1] [--json FILE] [--plot FILE]   (see compare/cli/bench.py)

``verify`` runs the verification matrix (``compare.check.suite``), prints one line per
(config, dtype, device) with the worst errors over its parameters, and exits 0 when every
check passes, 1 when any fails and 2 on a usage error (e.g. CUDA asked for and absent).
Every command reports a usage error (argparse's, or a ValueError/TypeError from the
library) on stderr as ``handgrad COMMAND: error: ...``, without a traceback, and returns 2.
``--json FILE`` writes a list with one record per (config, dtype, device, entry), where an
entry is a parameter (``kind: "param"``), a layer delta (``"delta"``) or the loss value.
"""

from __future__ import annotations

import argparse
import sys
import time

from bookkeeping.atomic import write_json_atomic
from bookkeeping.errors import DivergenceError
from compare.check.suite import Result, default_configs, run_matrix
from compare.cli.bench import add_arguments as add_bench_arguments
from compare.cli.bench import cmd_bench
from compare.cli.train import add_arguments as add_train_arguments
from compare.cli.train import cmd_train
from handmade.count import format_count


def _worst(values):
    values = [v for v in values if v is not None]
    return max(values) if values else None


def _fmt(x):
    return "-" if x is None else f"{x:.1e}"


def _line(r: Result) -> str:
    params = [e for e in r.report.entries if e.kind == "param"]
    ag = _worst(e.autograd_rel_err for e in params)
    fd = _worst(e.fd_rel_err for e in params)
    kinks = sum(e.fd_kinks for e in params)
    status = "ok" if r.report.ok else f"FAIL {r.report.failures}"
    return (f"{r.config:46} {r.dtype:8} {r.device:7} {_fmt(ag):>9} {_fmt(fd):>9} "
            f"{kinks:>5}  {status}")


def resolve_devices(device: str) -> list[str]:
    """``auto`` -> cpu plus every CUDA device present; otherwise the one device, checked."""
    from torch_ref import cuda_devices, resolve_device
    if device == "auto":
        return ["cpu", *cuda_devices()]
    resolve_device(device)  # ValueError with the reason if it cannot be used
    return [device]


def cmd_verify(args) -> int:
    devices = resolve_devices(args.device)
    dtypes = ("float64", "float32") if args.dtype == "both" else (args.dtype,)
    print(f"{'config':46} {'dtype':8} {'device':7} {'autograd':>9} {'fin.diff':>9} "
          f"{'kinks':>5}  result")
    start = time.perf_counter()
    results = run_matrix(default_configs(), dtypes, devices,
                         on_result=None if args.quiet else lambda r: print(_line(r)))
    elapsed = time.perf_counter() - start
    failed = [r for r in results if not r.report.ok]
    for r in failed:
        print(f"\n{r.config} ({r.dtype}, {r.device}):\n{r.report}")
    for dtype in dtypes:
        params = [e for r in results if r.dtype == dtype for e in r.report.entries
                  if e.kind == "param"]
        print(f"worst {dtype}: hand vs autograd {_fmt(_worst(e.autograd_rel_err for e in params))}"
              f", hand vs finite differences {_fmt(_worst(e.fd_rel_err for e in params))} "
              "(normwise relative)")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed "
          f"({len(results)} checks on {', '.join(devices)} in {elapsed:.1f} s)")
    if args.json:
        write_json_atomic(args.json, [rec for r in results for rec in r.report.records(r.config)])
        print(f"wrote {args.json}")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="handgrad", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify", help="check hand gradients against autograd and "
                                           "finite differences over the whole matrix")
    verify.add_argument("--json", metavar="FILE", help="write one record per checked entry")
    verify.add_argument("--device", default="auto",
                        help="auto (cpu and every GPU present), cpu, cuda or cuda:N")
    verify.add_argument("--dtype", default="both", choices=["both", "float64", "float32"])
    verify.add_argument("--quiet", action="store_true", help="print only failures and totals")
    verify.set_defaults(func=cmd_verify)
    train = sub.add_parser("train", help="train the handmade model and its torch twin side by "
                                         "side on a dataset; report, plot and save the run")
    add_train_arguments(train)
    train.set_defaults(func=cmd_train)
    derive = sub.add_parser("derive", help="a worked example step by step, handmade beside "
                                           "torch; or a known-wrong derivation (--bug)")
    derive.add_argument("example", nargs="?", help="seed003, neuron, xor or softmax")
    derive.add_argument("--bug", metavar="NAME", help="a bug of the gallery ('list' names them)")
    derive.set_defaults(func=cmd_derive)
    bench_p = sub.add_parser("bench", help="time the handmade twin against torch (and sklearn)")
    add_bench_arguments(bench_p)
    bench_p.set_defaults(func=cmd_bench)
    count = sub.add_parser("count", help="weights and biases per layer of an MLP")
    count.add_argument("sizes", nargs="+", type=int, help="layer widths, e.g. 1024 500 10")
    count.set_defaults(func=lambda a: print(format_count(a.sizes)) or 0)
    return parser


def cmd_derive(args) -> int:
    from compare.check.gradcheck import check_gradients
    from compare.teach.bugs import BUGS
    from compare.teach.derive import EXAMPLES, derive, format_steps
    if args.bug == "list" or (args.bug is None and args.example is None):
        print("examples: " + ", ".join(EXAMPLES))
        print("bugs:\n" + "\n".join(f"  {b.name}: {b.sentence}" for b in BUGS.values()))
        return 0
    if args.bug is None:
        print(format_steps(*derive(args.example)))
        return 0
    if args.bug not in BUGS:
        raise ValueError(f"unknown bug {args.bug!r}; expected one of {sorted(BUGS)}")
    bug = BUGS[args.bug]
    model, X, y = bug.build()
    report = check_gradients(model, X, y)
    print(f"{bug.name}: {bug.sentence}\n\n{report}\n")
    print(f"caught: {not report.ok}; parameters flagged: {report.failures}; first bad layer "
          f"counting back from the output: {report.first_bad_layer}")
    expected = (list(bug.failures), bug.first_bad_layer)
    as_expected = (report.failures, report.first_bad_layer) == expected
    print("as the gallery expects" if as_expected else f"the gallery expected {expected}")
    return 0 if as_expected and not report.ok else 1


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse printed the usage and the error (or --help)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.func(args)
    except DivergenceError as exc:
        print(f"handgrad {args.command}: {exc}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, OSError) as exc:
        print(f"handgrad {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
