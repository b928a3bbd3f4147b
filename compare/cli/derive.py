"""``handgrad derive``: a worked example step by step, or a bug of the gallery.

    handgrad derive EXAMPLE          seed003, neuron, xor or softmax: every intermediate,
                                     handmade beside torch (compare.teach.derive)
    handgrad derive --bug NAME       a known-wrong derivation: the wrong line beside the
                                     right one, then check_gradients' report; exits 0 when
                                     the judge catches it as the gallery expects
    handgrad derive --bug list       (or no argument) the examples and the bugs

An unknown example or bug is a usage error at parse time (with the closest name), so the
names (and the bugs' sentences, for ``--bug list``) are spelled out here
(tests/cli/test_cli_habits.py checks them against ``compare.teach``). Imports torch (through
compare.teach) inside ``run`` only, and not for ``--bug list``.
"""

from __future__ import annotations

from handgrad.compare.teach.bug_sentences import SENTENCES

# compare.teach.derive.EXAMPLES' names, spelled out so that the parser imports no torch
# (tests/cli/test_cli_habits.py checks them against compare.teach); the bugs' names and
# sentences come from the one module that imports nothing
EXAMPLE_NAMES = ("seed003", "neuron", "xor", "softmax")
BUG_SENTENCES = SENTENCES
BUG_NAMES = tuple(BUG_SENTENCES)


def gallery_list() -> str:
    """What ``--bug list`` prints: the examples, then each bug with its sentence."""
    return ("examples: " + ", ".join(EXAMPLE_NAMES) + "\nbugs:\n"
            + "\n".join(f"  {name}: {sentence}" for name, sentence in BUG_SENTENCES.items()))


def add_arguments(p) -> None:
    p.add_argument("example", nargs="?", choices=EXAMPLE_NAMES, metavar="EXAMPLE",
                   help=", ".join(EXAMPLE_NAMES))
    p.add_argument("--bug", metavar="NAME", choices=(*BUG_NAMES, "list"),
                   help="a bug of the gallery ('list' names them)")


def run(args) -> int:
    if args.bug is not None and args.example is not None:
        raise ValueError(f"give EXAMPLE or --bug, not both (got {args.example!r} and "
                         f"--bug {args.bug!r})")
    if args.bug == "list" or (args.bug is None and args.example is None):
        print(gallery_list())  # no torch: the names and sentences are spelled out above
        return 0
    if args.bug is None:
        from handgrad.compare.teach.derive import derive, format_steps

        print(format_steps(*derive(args.example)))
        return 0
    from handgrad.compare.check.gradcheck import check_gradients
    from handgrad.compare.teach.bugs import BUGS, LINES

    bug = BUGS[args.bug]
    model, X, y = bug.build()
    report = check_gradients(model, X, y)
    wrong, right = LINES[bug.name]
    print(f"{bug.name}: {bug.sentence}\n\n  wrong:  {wrong}\n  right:  {right}\n\n"
          f"{report}\n")
    bad = report.first_bad_layer
    print(f"caught: {not report.ok}; parameters flagged: {report.failures}; first layer whose "
          f"delta disagrees, walking back from the output: "
          f"{'none' if bad is None else f'layers.{bad}'}")
    expected = (list(bug.failures), bug.first_bad_layer)
    as_expected = (report.failures, report.first_bad_layer) == expected
    print("as the gallery expects" if as_expected else f"the gallery expected {expected}")
    return 0 if as_expected and not report.ok else 1
