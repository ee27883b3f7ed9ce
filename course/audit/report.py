"""The audit's report: per operator, how many derived submissions and how many were graded as
their derivation implies; each that was not, with its diff against the solution. Printed as a
table, written as ``reports/<lab>/audit.csv`` and ``audit.html``."""

from __future__ import annotations

import difflib
import html
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from course.audit.findings import EQUIVALENT, FAULTS, Finding
from course.audit.layouts import compacted
from course.audit.pipeline import PipelineCheck
from course.files import write_atomic, write_csv

CSV_HEADER = [
    "submission",
    "kind",
    "operator",
    "step",
    "where",
    "outcome",
    "why",
    "failed",
    "flags",
    "misconceptions",
    "pipeline",
]


@dataclass
class AuditReport:
    """One lab's audit: every finding, the pipeline sample, and how long it took."""

    lab: str
    solution: str
    findings: list[Finding]
    pipeline: list[PipelineCheck] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def faults(self) -> list[Finding]:
        return [f for f in self.findings if f.fault]

    @property
    def pipeline_faults(self) -> list[PipelineCheck]:
        return [check for check in self.pipeline if check.differences]

    @property
    def passed(self) -> bool:
        return not self.faults and not self.pipeline_faults

    def rows(self) -> list[tuple[str, str, int, int, int, int]]:
        """``(kind, operator, derived, as implied, equivalent, faults)`` per operator."""
        counts: dict[tuple[str, str], Counter] = {}
        for finding in self.findings:
            key = (finding.derived.kind, finding.derived.operator)
            counts.setdefault(key, Counter())[finding.outcome] += 1
        return [
            (
                kind,
                operator,
                sum(c.values()),
                c["as implied"],
                c[EQUIVALENT],
                sum(c[f] for f in FAULTS),
            )
            for (kind, operator), c in sorted(counts.items())
        ]

    def diff(self, finding: Finding) -> str:
        """``finding``'s submission against the solution, as a unified diff: of the code as
        Python reads it (no comments, one statement a line) unless only the layout changed."""
        own = (
            f"# a cell of the student's own, above:\n{finding.derived.own_cell}\n"
            if finding.derived.own_cell
            else ""
        )
        mine, theirs = finding.derived.code, finding.derived.original or self.solution
        try:
            normalised = compacted(mine), compacted(theirs)
        except SyntaxError:
            normalised = mine, theirs
        if normalised[0] != normalised[1]:
            mine, theirs = normalised
        return "".join(
            difflib.unified_diff(
                theirs.splitlines(keepends=True),
                (own + mine).splitlines(keepends=True),
                "solution",
                finding.derived.name,
            )
        )


def table(report: AuditReport) -> str:
    """The per-operator table, the totals, then each fault with its diff."""
    lines = [
        f"{'kind':<10}{'operator':<38}{'derived':>8}{'as implied':>12}"
        f"{'equivalent':>12}{'faults':>8}"
    ]
    for kind, operator, derived, as_implied, equivalent, faults in report.rows():
        lines.append(
            f"{kind:<10}{operator:<38}{derived:>8}{as_implied:>12}{equivalent:>12}{faults:>8}"
        )
    kinds = Counter(f.derived.kind for f in report.findings)
    by_kind = ", ".join(f"{n} {kind}s" for kind, n in sorted(kinds.items()))
    lines.append(
        f"{len(report.findings)} derived ({by_kind}) by {len(report.rows())} "
        f"operators in {report.seconds:.0f} s: {len(report.faults)} faults"
    )
    if report.pipeline:
        lines.append(
            f"{len(report.pipeline)} of them graded through `course grade` as well: "
            f"{len(report.pipeline_faults)} differ"
        )
    for finding in report.faults:
        lines += [
            "",
            f"{finding.outcome.upper()}: {finding.derived.name} "
            f"({finding.derived.kind} {finding.derived.operator}, at "
            f"{finding.derived.where})",
            f"  {finding.why}",
        ]
        lines += [f"  {grade_id}: {message}" for grade_id, message in finding.messages.items()]
        lines += ["  " + line for line in report.diff(finding).splitlines()]
    for check in report.pipeline_faults:
        lines += ["", f"PIPELINE: {check.finding.derived.name}: {check.differences}"]
        lines += ["  " + line for line in report.diff(check.finding).splitlines()]
    return "\n".join(lines)


def write_reports(report: AuditReport, folder: Path) -> tuple[Path, Path]:
    """``audit.csv`` (one row per derived submission) and ``audit.html`` (the table and each
    fault's diff) in ``folder``."""
    pipeline = {check.finding.derived.name: check for check in report.pipeline}
    rows = []
    for finding in report.findings:
        derived = finding.derived
        check = pipeline.get(derived.name)
        rows.append(
            [
                derived.name,
                derived.kind,
                derived.operator,
                derived.step,
                derived.where,
                finding.outcome,
                finding.why,
                " ".join(finding.failed),
                " | ".join(finding.problems),
                " ".join(sorted(set(finding.misconceptions.values()))),
                "" if check is None else (check.differences or "same"),
            ]
        )
    csv_path = write_csv(folder / "audit.csv", CSV_HEADER, rows)
    html_path = write_atomic(folder / "audit.html", _html(report))
    return csv_path, html_path


def _html(report: AuditReport) -> str:
    def cell(value) -> str:
        return f"<td>{html.escape(str(value))}</td>"

    body = [
        f"<h1>Audit of {html.escape(report.lab)}</h1>",
        f"<p>{len(report.findings)} derived submissions, {len(report.faults)} faults; "
        f"{len(report.pipeline)} graded through the whole pipeline, "
        f"{len(report.pipeline_faults)} differing.</p>",
        "<table><tr><th>kind</th><th>operator</th><th>derived</th><th>as implied</th>"
        "<th>equivalent</th><th>faults</th></tr>",
    ]
    body += ["<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in report.rows()]
    body.append("</table>")
    for finding in report.faults:
        body.append(
            f"<h2>{html.escape(finding.outcome)}: {html.escape(finding.derived.name)}"
            f"</h2><p>{html.escape(finding.why)}</p>"
        )
        body += [
            f"<p><b>{html.escape(g)}</b>: {html.escape(m)}</p>" for g, m in finding.messages.items()
        ]
        body.append(f"<pre>{html.escape(report.diff(finding))}</pre>")
    for check in report.pipeline_faults:
        body.append(
            f"<h2>pipeline: {html.escape(check.finding.derived.name)}</h2>"
            f"<p>{html.escape(check.differences)}</p>"
            f"<pre>{html.escape(report.diff(check.finding))}</pre>"
        )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Audit</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:right}"
        "pre{background:#f4f4f4;padding:8px}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
