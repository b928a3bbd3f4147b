"""The ``handgrad`` command line.

    handgrad verify [--json FILE] [--device auto|cpu|cuda|cuda:N] [--dtype both|float64|float32]
    handgrad train [options]          (see compare/cli/train.py)
    handgrad derive EXAMPLE | --bug NAME | --bug list
    handgrad count 1024 500 10
    handgrad bench [--threads 2,1] [--json FILE] [--plot FILE]   (see compare/cli/bench.py)

Every command is parsed by ``compare.cli.parser.HandgradParser`` (defaults in ``--help``,
"did you mean" for commands, choices and options). Exit status (``EPILOG``, docs/cli.md):
0 done and every check passed; 1 a check failed or was inconclusive, or training diverged
or did not learn;
2 bad usage or input, reported on stderr as ``handgrad COMMAND: error: ...`` without a
traceback (argparse's errors, and a ValueError/TypeError/OSError from the library); 130
interrupted (Ctrl-C, also during the lazy imports), one line ``handgrad: <message>``; 141
the reader of stdout went away (``| head``), quietly. ``compare.cli.process`` holds these
rules.

Each subcommand is a module of this package with ``add_arguments(parser)`` and
``run(args)``; only ``run`` imports heavy packages (torch, scikit-learn, matplotlib, SciPy),
so building the parser, ``--help`` and a usage error cost none of them.
"""

from __future__ import annotations

import sys
import textwrap

from handgrad.compare.cli import bench, count, derive, process, train, verify
from handgrad.compare.cli.parser import HandgradParser

DESCRIPTION = """\
handgrad: hand-derived NumPy gradients beside torch autograd: verify them, train
both twins side by side, and work through the derivations."""

EPILOG = """\
exit status:
  0    done; every check passed
  1    a check failed or was inconclusive, a bug was not caught as expected,
       or training diverged or did not learn
  2    bad usage or input (the message names the option and the value)
  130  interrupted (Ctrl-C); one line on stderr says where, nothing half-written
  141  the reader of the output went away (e.g. piped into head); output cut short

'handgrad COMMAND --help' shows a command's options and their defaults."""

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


def build_parser() -> HandgradParser:
    parser = HandgradParser(prog="handgrad", description=DESCRIPTION, epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module, text in COMMANDS:
        p = sub.add_parser(name, help=text,
                           description=textwrap.fill(text[0].upper() + text[1:] + ".", 79))
        module.add_arguments(p)
        p.set_defaults(func=module.run)
    return parser


def plots(args) -> bool:
    """Whether the command draws with matplotlib: train always, bench with --plot."""
    return args.command == "train" or bool(getattr(args, "plot", None))


def _run(argv) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse printed the usage and the error (or --help)
        return exc.code if isinstance(exc.code, int) else process.EXIT_USAGE
    try:
        if plots(args):
            process.check_matplotlib_backend()
        code = args.func(args)
        sys.stdout.flush()  # a reader gone shows here, not at exit
        return code
    except BrokenPipeError:
        raise
    except Exception as exc:
        if process.interrupted():  # a Ctrl-C that a library turned into another error
            raise KeyboardInterrupt from None
        from handgrad.bookkeeping.errors import DivergenceError  # (NumPy: not for --help)
        if isinstance(exc, DivergenceError):
            process.say(f"handgrad {args.command}: {exc}")
            return process.EXIT_FAILED
        if isinstance(exc, (ValueError, TypeError, OSError)):
            process.say(f"handgrad {args.command}: error: {' '.join(str(exc).split())}")
            return process.EXIT_USAGE
        raise


def main(argv=None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the command, return the exit status."""
    process.ensure_std_streams()
    with process.noticing_interrupts():
        try:
            return _run(argv)
        except KeyboardInterrupt as exc:
            process.say(process.interrupted_line(exc))
            return process.EXIT_INTERRUPTED
        except BrokenPipeError:
            process.silence_stdout()
            return process.EXIT_PIPE
        except BaseException:
            if process.interrupted():
                process.say("handgrad: interrupted")
                return process.EXIT_INTERRUPTED
            raise


if __name__ == "__main__":
    sys.exit(main())
