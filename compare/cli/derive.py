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

# compare.teach.derive.EXAMPLES and compare.teach.bugs.BUGS' names and sentences, spelled
# out so that the parser and ``--bug list`` import no torch (tests/cli/test_cli_habits.py
# checks them against compare.teach)
EXAMPLE_NAMES = ("seed003", "neuron", "xor", "softmax")
BUG_SENTENCES = {
    "seed000_mean_dw": "np.mean(X * (A - Y)) averages over every sample AND feature into one "
                       "number, where dW = (A - Y)ᵀX/m keeps one entry per weight.",
    "seed003_no_sigmoid_factor": "The hidden delta must pass back through the hidden sigmoid: "
                                 "δ_j = (Σ δ_l w_jl) o_j (1 - o_j), and the factor o_j (1 - o_j) "
                                 "is missing.",
    "seed003_update_order": "The hidden delta must read the output weights of the forward "
                            "pass, but they were already updated by the time it was computed.",
    "missing_1_over_m": "The loss is a mean over m samples but its gradient was taken of the "
                        "sum, so every gradient is m times too large.",
    "sign_flip": "tanh' = 1 - a² was written a² - 1, turning the hidden layer's gradient "
                 "around.",
    "relu_prime_at_0_is_1": "At z = 0 relu has no derivative; torch (and handgrad) take 0, and "
                            "taking 1 lets a unit sitting exactly at the kink pass gradient.",
    "softmax_not_fused": "Softmax mixes the entries of a row: its backward needs the whole "
                         "Jacobian diag(a) - a aᵀ (or the fused softmax - onehot), not only "
                         "a (1 - a).",
}
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
