"""What the judge found: one ``Entry`` per compared quantity, gathered in a ``GradReport``.

An entry is a parameter's gradient (``kind="param"``), a layer input's gradient
(``"input"``), a layer delta ``dL/dZ_l`` (``"delta"``), a named intermediate's gradient
(``"intermediate"``), or a value (``"loss"``, ``"output"``). Each carries the errors against
each reference it was compared with (normwise and max elementwise relative, see
``compare.check.tolerances``) and whether it passed. ``str(report)`` is the table that the
``assert_...`` functions raise with.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field

from handgrad.compare.check import case_files, references
from handgrad.compare.check.case import Case
from handgrad.compare.check.references import REFERENCES, Figures, cell, columns


@dataclass
class Entry(Figures):
    """One compared quantity, each reference's figures and decision, and its status.

    ``errors[key]``: reference ``key``'s figures (``compare.check.references``), e.g.
    ``errors["autograd"]["rel_err"]``, also read as ``autograd_rel_err`` (``Figures``);
    ``decisions[key]``: its decision on this entry (``compare.check.decide``)."""

    name: str  # "layers.0.weight", "delta[1]", "W1", "x", "h1", "loss" ...
    kind: str  # "param", "input", "delta", "intermediate", "loss" or "output"
    layer: int | None = None
    status: str = "pass"  # "pass", "fail" or "inconclusive"
    reason: str = ""  # why, in words: always given for "inconclusive"
    note: str = ""
    diagnosis: str = ""  # for a failing entry: the slip that fits the numbers, if one does
    errors: dict[str, dict] = field(default_factory=dict)
    decisions: dict[str, str | None] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True only for ``status == "pass"``."""
        return self.status == "pass"

    def fail(self, note: str = "") -> None:
        """Mark the entry failed (a reference that is sure of itself disagrees)."""
        self.status = "fail"
        if note:
            self.note = note

    def inconclusive(self, reason: str) -> None:
        """No reference can tell; ``reason`` says why (a fail stays a fail)."""
        if self.status != "fail":
            self.status, self.reason = "inconclusive", reason


GRADIENT_KINDS = ("param", "input")  # what `failures` lists
_STATUS = {"pass": "ok", "fail": "FAIL", "inconclusive": "?"}
WALK_BACK_KINDS = ("delta", "intermediate")  # stored walking back from the loss


@dataclass(repr=False)
class GradReport:
    """Everything a check found; ``str(report)`` is a readable table.

    ``references`` lists what the hand gradients were compared with: ``"autograd"`` and/or
    ``"fd"``. Intermediates and deltas are stored walking back from the loss, so the first
    one that disagrees (``first_bad``) is where the mistake enters the backward pass.
    """

    dtype: str
    device: str
    entries: list[Entry] = field(default_factory=list)
    fd_method: str | None = None
    references: list[str] = field(default_factory=lambda: ["autograd", "fd"])
    notes: list[str] = field(default_factory=list)
    float64: GradReport | None = None  # float32 code: its check in float64 (compare.check.wide)
    case: Case | None = None  # what was checked, kept for save() (compare.check.case)

    @property
    def verdict(self) -> str:
        """``"fail"`` if any entry fails, else ``"inconclusive"`` if any is, else ``"pass"``."""
        statuses = {e.status for e in self.entries}
        return next((s for s in ("fail", "inconclusive") if s in statuses), "pass")

    @property
    def ok(self) -> bool:
        """True only when every entry passed (an inconclusive check proves nothing)."""
        return self.verdict == "pass"

    @property
    def failures(self) -> list[str]:
        """Names of the parameters (and layer inputs) whose gradient fails."""
        return [e.name for e in self.entries
                if e.kind in GRADIENT_KINDS and e.status == "fail"]

    @property
    def inconclusive(self) -> list[str]:
        """Names of the entries no reference could decide."""
        return [e.name for e in self.entries if e.status == "inconclusive"]

    @property
    def first_bad(self) -> str | None:
        """Walking back from the loss, the first delta or intermediate that fails."""
        return next((e.name for e in self.entries
                     if e.kind in WALK_BACK_KINDS and e.status == "fail"), None)

    @property
    def first_bad_layer(self) -> int | None:
        """Walking back from the output layer, the first layer whose delta fails."""
        bad = [e.layer for e in self.entries if e.kind == "delta" and e.status == "fail"]
        return max(bad) if bad else None

    def entry(self, name: str) -> Entry:
        """The entry called ``name`` (KeyError listing the names otherwise)."""
        for e in self.entries:
            if e.name == name:
                return e
        raise KeyError(f"no entry {name!r}; entries: {[e.name for e in self.entries]}")

    def records(self, config: str = "") -> list[dict]:
        """One JSON-ready dict per entry, with ``config``, ``dtype`` and ``device``."""
        return [{"config": config, "dtype": self.dtype, "device": self.device,
                 "param": e.name, "ok": e.ok, **_fields(e)} for e in self.entries]

    def save(self, path):
        """Write this check as ``<path>.npz`` (arrays) and ``<path>.json`` (settings, table,
        figures, tolerances, versions), no pickle; returns both paths. Rerun it with
        ``handgrad verify --replay <path>`` (``compare.check.replay``)."""
        return case_files.save(self, path)

    def describe_references(self) -> str:
        refs = [references.reference_named(r).words + (f" ({self.fd_method})" if r == "fd"
                                            and self.fd_method else "")
                for r in self.references]
        if "autograd" not in self.references:
            refs.append("no torch reference given")
        return ", ".join(refs) if refs else "none"

    def __str__(self) -> str:
        word = {"pass": "PASSED", "fail": "FAILED", "inconclusive": "INCONCLUSIVE"}
        head = (f"gradient check {word[self.verdict]} "
                f"(dtype {self.dtype}, device {self.device}; references: "
                f"{self.describe_references()})")
        shown = columns()
        header = "".join(f"{column.header:>{column.width}}" for _, column in shown)
        lines = [head, f"{'':18}{header}  ok"]
        for e in self.entries:
            cells = "".join(f"{cell(e, reference, column):>{column.width}}"
                            for reference, column in shown)
            note = "  " + e.note if e.note else ""
            lines.append(f"{e.name:18}{cells}  {_STATUS[e.status]}{note}")
        lines += [f"inconclusive, {e.name}: {e.reason}" for e in self.entries
                  if e.status == "inconclusive"]
        lines += [f"diagnosis, {e.name}: {e.diagnosis}" for e in self.entries if e.diagnosis]
        lines += self.notes
        if self.verdict == "fail":
            lines.append(self._where_it_fails())
        return "\n".join(lines)

    def _where_it_fails(self) -> str:
        """The last line of a failing table: the failures, and where walking back finds them."""
        bad = self.first_bad_layer
        where = ""
        if any(e.kind == "delta" for e in self.entries):
            where = ("; every layer's delta agrees" if bad is None else
                     "; walking back from the output, the first layer whose delta "
                     f"disagrees: layers.{bad}")
        if any(e.kind == "intermediate" for e in self.entries):
            where += f"; first bad intermediate walking back from the loss: {self.first_bad}"
        if not self.failures:  # the value fails (the two functions differ), or a delta
            failing = [e.name for e in self.entries if e.status == "fail"]
            return f"what fails: {failing}; no gradient was found to disagree{where}"
        return f"gradients that disagree: {self.failures}{where}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        """The table as HTML, for a notebook: failing rows red, inconclusive ones amber,
        each row's status as a word (``FAIL``, ``?``, ``ok``) as well as a colour."""
        colour = {"fail": "#fdd", "inconclusive": "#ffe8b3", "pass": ""}
        head = html.escape(str(self).split("\n", 1)[0])
        shown = columns()
        headers = ("entry", *(column.header for _, column in shown), "status", "note")
        rows = [f"<tr>{''.join(f'<th>{h}</th>' for h in headers)}</tr>"]
        for e in self.entries:
            style = f' style="background:{colour[e.status]}"' if colour[e.status] else ""
            note = "; ".join(x for x in (e.note, e.reason, e.diagnosis) if x)
            values = (e.name, *(cell(e, reference, column) for reference, column in shown),
                      _STATUS[e.status], note)
            cells = "".join(f"<td>{html.escape(v)}</td>" for v in values)
            rows.append(f'<tr class="handgrad-{e.status}"{style}>{cells}</tr>')
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (f"<div><p><b>{head}</b></p><table>{''.join(rows)}</table>"
                + (f"<ul>{notes}</ul>" if notes else "") + "</div>")


class CheckFailed(AssertionError):
    """What the ``assert_...`` functions raise: the message is the table, ``.report`` the
    report (handgrad's pytest plugin saves it for replay)."""

    def __init__(self, report: GradReport):
        super().__init__("\n" + str(report))
        self.report = report


def settle(report: GradReport, allow_inconclusive: bool = False) -> GradReport:
    """What every ``assert_...`` does: raise AssertionError with the table on ``"fail"`` and
    on ``"inconclusive"`` (unless ``allow_inconclusive``: then a warning); return the report."""
    __tracebackhide__ = True  # pytest shows the caller's line and the table, not this frame
    if report.verdict == "fail" or (report.verdict == "inconclusive" and not allow_inconclusive):
        raise CheckFailed(report)
    if report.verdict == "inconclusive":
        warnings.warn("gradient check inconclusive (allowed): " + "; ".join(
            f"{e.name}: {e.reason}" for e in report.entries if e.status == "inconclusive"),
            UserWarning, stacklevel=3)
    return report


def _fields(entry: Entry) -> dict:
    """``entry``'s record without its name: kind, layer, each reference's figures as
    ``<key>_<figure>``, status, reason, note, diagnosis, then the figures marked ``last``."""
    figures = [(reference.record_key(figure), reference.figure(entry, figure.name), figure.last)
               for reference in REFERENCES for figure in reference.figures]
    return {"kind": entry.kind, "layer": entry.layer,
            **{key: value for key, value, last in figures if not last},
            "status": entry.status, "reason": entry.reason, "note": entry.note,
            "diagnosis": entry.diagnosis,
            **{key: value for key, value, last in figures if last}}
