"""The references a hand gradient is compared with: one record each, in one registry.

A ``Reference`` record carries everything the judge needs to know of one reference:

* its key (``GradReport.references``), its name in words and its short name;
* its ``figures``: the numbers it records on each entry (``entry.errors[key][figure]``,
  written to the report's records as ``<key>_<figure>``) and its table ``columns``;
* ``start(source, how)``: given what the door computed for it (``source``, the judge's input
  named ``source_name``) and the check's ``Judging``, a function ``decide(entry, name, hand)``
  that fills the entry's figures and returns its decision: ``"pass"``, ``"fail"``,
  ``"rounding"`` (the reference and the hand value are both zero to its rounding),
  ``"unsure"`` (it cannot resolve the difference) or None (it has nothing to say);
* its ``Vote``: the words it contributes to ``decide.combine``, the rule that makes one status
  of the decisions. The registry's order is the order of authority: the first reference
  that decides leads, and the later ones confirm or contradict it.

The text table, the notebook table, the records, the float64 note of ``compare.check.wide``
and ``core.judge`` all read ``REFERENCES``; ``register`` adds one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from handgrad.compare.check.decide import (
    AUTOGRAD_KEY,
    FINITE_DIFF_KEY,
    start_autograd,
    start_finite_differences,
)


@dataclass(frozen=True)
class Figure:
    """One number a reference records on each entry: its name and its value before any
    comparison. ``last``: written after the entry's words (status, reason, note, diagnosis)
    in the records, where it has always been (the saved JSON keeps its order)."""

    name: str
    default: float | int | None = None
    last: bool = False


@dataclass(frozen=True)
class Column:
    """One column of the report's table: its header, width and the reference's figure."""

    header: str
    width: int
    figure: str
    count: bool = False  # a count (printed as is), not an error (printed as 1.2e-03)


@dataclass(frozen=True)
class Vote:
    """The words a reference brings to ``decide.combine`` (empty: said from its name).

    ``agrees``: it passes what the leading reference fails; ``confirms``: it passes what a
    leading reference known to depart from the loss's derivative fails (``ref_deviates``);
    ``questioned``: the leading reference, named in the question put to it when another one
    agrees with the hand value; ``differs(entry)``: it fails what the leading reference
    passes; ``undecided(entry, decision)``: why it, left alone, cannot decide (empty: it
    has no reason to give); ``contract``: why it decides where a door's contract names it;
    ``doubt``: what else a disagreement with it may mean."""

    agrees: str = ""
    confirms: str = ""
    questioned: str = ""
    differs: Callable[[object], str] | None = None
    undecided: Callable[[object, str | None], str] | None = None
    contract: str = ""
    doubt: str = ""


@dataclass(frozen=True)
class Reference:
    """One reference: its names, figures, columns, decision and vote (see the module)."""

    key: str  # as listed in GradReport.references
    words: str  # in the report's headline
    short: str  # in a sentence: "relative error autograd 1.2e-03"
    figures: tuple[Figure, ...]
    columns: tuple[Column, ...]
    start: Callable[[object, object], Callable[[object, str, object], str | None]]
    source_name: str = ""  # the judge's input it reads (default: its key)
    relative_error: str = "rel_err"  # the figure of its normwise relative error
    vote: Vote = field(default_factory=Vote)

    @property
    def source(self) -> str:
        """The name of the judge's input this reference reads."""
        return self.source_name or self.key

    def figure(self, entry, name: str):
        """``entry``'s figure ``name`` from this reference (its default before a comparison)."""
        default = next(f.default for f in self.figures if f.name == name)
        return entry.errors.get(self.key, {}).get(name, default)

    def record_key(self, figure: Figure) -> str:
        """The figure's key in the report's records: ``autograd_rel_err``."""
        return f"{self.key}_{figure.name}"


def _finite_differences_differ(entry) -> str:
    figures = entry.errors[FINITE_DIFF_KEY]
    return (f"finite differences differ by {figures['rel_err']:.1e} (their own error "
            f"estimate {figures['error']:.1e})")


def _finite_differences_undecided(entry, decision: str | None) -> str:
    if decision == "unsure":
        error = entry.errors[FINITE_DIFF_KEY]["error"]
        return (f"finite differences cannot resolve this gradient: their own error estimate "
                f"({error:.1e}) is as large as the disagreement; give a torch reference")
    if decision is None:
        return "no reference: every finite-difference step crossed a kink"
    return ""


AUTOGRAD_REFERENCE = Reference(
    key=AUTOGRAD_KEY,
    words="torch autograd",
    short="autograd",
    figures=(Figure("rel_err"), Figure("max_elem_err")),
    columns=(
        Column("autograd rel", 13, "rel_err"),
        Column("max elem", 10, "max_elem_err"),
    ),
    start=start_autograd,
    vote=Vote(questioned="the torch reference",
              contract="the twin follows torch (its clamps and thresholds), so autograd decides",
              doubt="a loss that differs from torch's?"),
)

FINITE_DIFF_REFERENCE = Reference(
    key=FINITE_DIFF_KEY,
    words="finite differences",
    short="finite differences",
    figures=(Figure("rel_err"), Figure("max_elem_err"), Figure("kinks", default=0),
             Figure("error", last=True)),
    columns=(
        Column("fd rel", 10, "rel_err"),
        Column("max elem", 10, "max_elem_err"),
        Column("kinks", 6, "kinks", count=True),
    ),
    start=start_finite_differences,
    vote=Vote(agrees="finite differences agree with the hand gradient",
              confirms="finite differences of the loss confirm the hand gradient",
              differs=_finite_differences_differ,
              undecided=_finite_differences_undecided),
)

REFERENCES: list[Reference] = [AUTOGRAD_REFERENCE, FINITE_DIFF_REFERENCE]


def register(reference: Reference, position: int | None = None) -> Reference:
    """Add ``reference`` to the registry, last (least authority) or at ``position``;
    ValueError naming ``reference`` if its key is taken. Returns it."""
    if any(known.key == reference.key for known in REFERENCES):
        raise ValueError(f"reference: the key {reference.key!r} is already registered")
    REFERENCES.insert(len(REFERENCES) if position is None else position, reference)
    return reference


def unregister(key: str) -> None:
    """Remove the reference called ``key`` (KeyError listing the keys if there is none)."""
    for index, known in enumerate(REFERENCES):
        if known.key == key:
            del REFERENCES[index]
            return
    raise KeyError(f"no reference {key!r}; references: {[r.key for r in REFERENCES]}")


def reference_named(key: str) -> Reference:
    """The registered reference called ``key`` (KeyError listing the keys otherwise)."""
    for known in REFERENCES:
        if known.key == key:
            return known
    raise KeyError(f"no reference {key!r}; references: {[r.key for r in REFERENCES]}")


def figure_property(key: str, name: str) -> property:
    """A read-only attribute for reference ``key``'s figure ``name``: ``entry.fd_kinks`` reads
    ``entry.errors["fd"]["kinks"]`` (its default before a comparison)."""
    def read(entry):
        return reference_named(key).figure(entry, name)
    read.__doc__ = f"reference {key!r}: {name} (entry.errors[{key!r}][{name!r}])"
    return property(read)


class Figures:
    """The attributes a report's entries have always had, each reading the figure of a
    reference in ``entry.errors`` (read-only; ``compare.check.report.Entry`` inherits them)."""

    autograd_rel_err = figure_property(AUTOGRAD_KEY, "rel_err")  # normwise, hand vs autograd
    autograd_max_elem_err = figure_property(AUTOGRAD_KEY, "max_elem_err")
    fd_rel_err = figure_property(FINITE_DIFF_KEY, "rel_err")  # normwise, hand vs finite differences
    fd_max_elem_err = figure_property(FINITE_DIFF_KEY, "max_elem_err")
    fd_kinks = figure_property(FINITE_DIFF_KEY, "kinks")  # finite-difference steps left out: kinks
    fd_error = figure_property(FINITE_DIFF_KEY, "error")  # finite differences' own error estimate


def columns() -> list[tuple[Reference, Column]]:
    """Every registered reference's columns, in the registry's order."""
    return [(reference, column) for reference in REFERENCES for column in reference.columns]


def cell(entry, reference: Reference, column: Column) -> str:
    """``entry``'s value in ``column`` as text (``-`` where it was not compared)."""
    value = reference.figure(entry, column.figure)
    if column.count:
        return str(value)
    return "-" if value is None else f"{value:.1e}"


def relative_errors(entry) -> str:
    """``entry``'s normwise relative errors in words, reference by reference."""
    parts = [f"{reference.short} {value:.1e}" for reference in REFERENCES
             if (value := reference.figure(entry, reference.relative_error)) is not None]
    return "relative error " + ", ".join(parts) if parts else "no reference agrees"
