"""``handgrad derive``: a worked example step by step, or a bug of the gallery.

    handgrad derive EXAMPLE          seed003, neuron, xor or softmax: every intermediate,
                                     handmade beside torch (compare.teach.derive)
    handgrad derive --bug NAME       a known-wrong derivation, judged by check_gradients;
                                     exits 0 when the judge catches it as the gallery expects
    handgrad derive --bug list       (or no argument) the examples and the bugs

Imports torch (through compare.teach) inside ``run`` only.
"""

from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument("example", nargs="?", help="seed003, neuron, xor or softmax")
    p.add_argument("--bug", metavar="NAME", help="a bug of the gallery ('list' names them)")


def run(args) -> int:
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
