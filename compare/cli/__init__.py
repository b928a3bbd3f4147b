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

Each subcommand is a module of this package with ``add_arguments(parser)`` and
``run(args)``; only ``run`` imports heavy packages (torch, scikit-learn, matplotlib, SciPy),
so building the parser, ``--help`` and a usage error cost none of them.
"""

from __future__ import annotations

import argparse
import sys

from bookkeeping.errors import DivergenceError
from compare.cli import bench, count, derive, train, verify

DESCRIPTION = ("handgrad: hand-derived NumPy gradients beside torch autograd: verify them, train "
               "both twins side by side, and work through the derivations.")

# (name, module, help), in the order ``--help`` lists them
COMMANDS = (
    ("verify", verify, "check hand gradients against autograd and finite differences over "
                       "the whole matrix"),
    ("train", train, "train the handmade model and its torch twin side by side on a dataset; "
                     "report, plot and save the run"),
    ("derive", derive, "a worked example step by step, handmade beside torch; or a "
                       "known-wrong derivation (--bug)"),
    ("bench", bench, "time the handmade twin against torch (and sklearn)"),
    ("count", count, "weights and biases per layer of an MLP"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="handgrad", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module, text in COMMANDS:
        p = sub.add_parser(name, help=text)
        module.add_arguments(p)
        p.set_defaults(func=module.run)
    return parser


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
