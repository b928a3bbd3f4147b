"""The references a hand gradient is compared with, and how each shows in a report.

One record per reference: its key (``GradReport.references``), its name in words, and its
columns in the report's tables (an ``Entry`` attribute each). The text table, the notebook
table and the float64 note of ``compare.check.wide`` all read this list, so a new
reference shows everywhere once it has its record here, its figures on ``Entry``, and its
decision in ``compare.check.decide``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One column of the report's table: its header, width and the ``Entry`` attribute."""

    header: str
    width: int
    attribute: str
    count: bool = False  # a count (printed as is), not an error (printed as 1.2e-03)


@dataclass(frozen=True)
class Reference:
    key: str  # as listed in GradReport.references
    words: str  # in the report's headline
    short: str  # in a sentence: "relative error autograd 1.2e-03"
    relative_error: str  # the Entry attribute of its normwise relative error
    columns: tuple[Column, ...]


AUTOGRAD_REFERENCE = Reference(
    key="autograd",
    words="torch autograd",
    short="autograd",
    relative_error="autograd_rel_err",
    columns=(
        Column("autograd rel", 13, "autograd_rel_err"),
        Column("max elem", 10, "autograd_max_elem_err"),
    ),
)

FINITE_DIFF_REFERENCE = Reference(
    key="fd",
    words="finite differences",
    short="finite differences",
    relative_error="fd_rel_err",
    columns=(
        Column("fd rel", 10, "fd_rel_err"),
        Column("max elem", 10, "fd_max_elem_err"),
        Column("kinks", 6, "fd_kinks", count=True),
    ),
)

REFERENCES = (AUTOGRAD_REFERENCE, FINITE_DIFF_REFERENCE)
REFERENCE_NAMES = {reference.key: reference.words for reference in REFERENCES}
COLUMNS = tuple(column for reference in REFERENCES for column in reference.columns)


def cell(entry, column: Column) -> str:
    """``entry``'s value in ``column`` as text (``-`` where it was not compared)."""
    value = getattr(entry, column.attribute)
    if column.count:
        return str(value)
    return "-" if value is None else f"{value:.1e}"


def relative_errors(entry) -> str:
    """``entry``'s normwise relative errors in words, reference by reference."""
    parts = [f"{reference.short} {getattr(entry, reference.relative_error):.1e}"
             for reference in REFERENCES
             if getattr(entry, reference.relative_error) is not None]
    return "relative error " + ", ".join(parts) if parts else "no reference agrees"
