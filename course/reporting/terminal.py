"""The grading report as the terminal shows it."""

from __future__ import annotations

import statistics

from course.late import shown_moment
from course.reporting.summaries import Report


def format_summary(report: Report) -> str:
    """The terminal version of the report."""
    lines = ["test                                        mean   passed"]
    for t in report.tests:
        lines.append(f"{t.grade_id:<42} {t.mean_score:4.2f}/{t.max_score:g} {t.pass_rate:6.0%}")
    totals = sorted(report.totals.values())
    if totals:
        median = statistics.median(totals)
        lines.append(
            f"\n{len(totals)} students; median total {median:g} of "
            f"{report.max_total:g}; full marks: "
            f"{sum(t >= report.max_total for t in totals)}"
        )
    if report.misconceptions:
        lines.append("\nmisconceptions, most frequent first:")
        lines += [
            f"  {grade_id}: {key} ({n} student{'s' if n > 1 else ''})"
            for grade_id, key, n in report.misconceptions
        ]
    extended = {e.student: e.due for e in report.extensions if e.due}
    if report.late:
        lines.append("\nlate (raw - penalty = total):")
        lines += [
            f"  {r['student_id']}: {r['raw']:g} - {r['late_penalty']:g} = {r['total']:g}"
            + (
                f" (due extended to {shown_moment(extended[r['student_id']])})"
                if r["student_id"] in extended
                else ""
            )
            for r in report.late
        ]
    if report.extensions:
        lines.append(f"\nextensions given with course extend ({len(report.extensions)}):")
        lines += [f"  {e.describe()}" for e in report.extensions]
    lines.append("\nsimilar code, for review (no grade changes):")
    lines += [
        f"  {p.first:<28} {p.second:<28} {p.similarity:4.0%} of own code, {p.overlap} tokens"
        for p in report.similar
    ] or ["  no pair above the threshold"]
    if report.identical:
        lines.append("identical own code (the largest group is usually the canonical answer):")
        lines += [f"  {len(g)}: {', '.join(g)}" for g in report.identical]
    unexplained = [m for m in report.same_mistakes if not m.misconception]
    if unexplained:
        lines.append("identical wrong answers not explained by a known misconception:")
        lines += [f"  {m.grade_id}: {', '.join(m.students)}" for m in unexplained]
    if report.by_hand:
        lines.append(
            f"\nwritten answers to grade by hand ({len(report.by_hand)} students; the "
            "formgrader's Manual Grading, rubric in the source notebook):"
        )
        lines += [f"  {student}: {', '.join(answers)}" for student, answers in report.by_hand]
    lines.append(f"\nneeds attention ({len(report.attention)}):")
    lines += [f"  {student}: {reason}" for student, reason in report.attention] or ["  nobody"]
    lines.append("\nwritten: " + ", ".join(str(p) for p in report.files))
    return "\n".join(lines)
