"""What an instructor reads after grading: per-test results, totals, who needs attention."""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import nbformat
from nbgrader.api import MissingEntry

from course.export import grade_columns, per_test_rows
from course.files import write_atomic, write_csv
from course.grade import load_outcomes, reports_dir, submitted_students
from course.judge_cells import METADATA_KEY as JUDGE_METADATA
from course.misconceptions import COLUMN, MISCONCEPTIONS
from course.nbgrader_setup import make_api


@dataclass(frozen=True)
class TestSummary:
    """One grade cell across the cohort."""

    grade_id: str
    max_score: float
    mean_score: float
    pass_rate: float


@dataclass
class Report:
    tests: list[TestSummary]
    totals: dict[str, float]
    max_total: float
    attention: list[tuple[str, str]]
    files: list[Path]
    misconceptions: list[tuple[str, str, int]]  # (grade_id, misconception, students), most first


def summarise_tests(rows: list[dict], columns) -> list[TestSummary]:
    """Mean score and pass rate per grade cell, hardest (lowest pass rate) first."""
    summaries = []
    for _, grade_id, max_score in columns:
        scores = [row[grade_id] for row in rows]
        passed = [score >= max_score for score in scores]
        summaries.append(TestSummary(
            grade_id, max_score,
            sum(scores) / len(scores) if scores else 0.0,
            sum(passed) / len(passed) if passed else 0.0,
        ))
    return sorted(summaries, key=lambda s: (s.pass_rate, s.grade_id))


def students_needing_attention(root: Path, lab: str, gradebook) -> list[tuple[str, str]]:
    """``(student, reason)`` for failed or stopped runs, flags and missing submissions."""
    attention = {}
    submitted = set(submitted_students(root, lab))
    for student, outcome in load_outcomes(root, lab).items():
        if outcome.needs_attention and student in submitted:
            attention[student] = outcome.describe()
    for student in submitted:
        if student in attention:
            continue
        try:
            submission = gradebook.find_submission(lab, student)
        except MissingEntry:  # never graded
            attention[student] = "submitted but not graded yet: run `course grade`"
            continue
        if submission.needs_manual_grade:
            attention[student] = "flagged by nbgrader for manual grading"
    return sorted(attention.items())


QUESTIONS = {m.key: m.question for m in (*MISCONCEPTIONS, COLUMN)}


def count_misconceptions(root: Path, lab: str) -> list[tuple[str, str, int]]:
    """``(grade_id, misconception, students)`` across the cohort's graded notebooks, most
    frequent first: the list to read before the next lecture."""
    counts: Counter = Counter()
    for notebook in sorted((root / "autograded").glob(f"*/{lab}/*.ipynb")):
        try:
            judged = nbformat.read(notebook, as_version=4).metadata.get(JUDGE_METADATA, {})
        except Exception:  # a graded notebook nbgrader left half-written: nothing to count
            continue
        counts.update(judged.get("misconceptions", {}).items())
    return [(grade_id, key, n) for (grade_id, key), n in
            sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def build_report(root: Path, lab: str) -> Report:
    """Write per-test CSV, totals histogram (PNG) and an HTML page under reports/<lab>/."""
    folder = reports_dir(root, lab)
    folder.mkdir(parents=True, exist_ok=True)
    with make_api(root).gradebook as gradebook:
        columns = grade_columns(gradebook, lab)
        rows = per_test_rows(gradebook, lab)
        attention = students_needing_attention(root, lab, gradebook)
    tests = summarise_tests(rows, columns)
    totals = {row["student_id"]: row["total"] for row in rows}
    max_total = sum(max_score for *_, max_score in columns)

    per_test_csv = write_csv(
        folder / "per-test.csv", ["grade_id", "max_score", "mean_score", "pass_rate"],
        [[t.grade_id, t.max_score, f"{t.mean_score:.3f}", f"{t.pass_rate:.3f}"] for t in tests])
    attention_csv = write_csv(folder / "attention.csv", ["student_id", "reason"],
                              [list(a) for a in attention])

    histogram = folder / "totals.png"
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(list(totals.values()), bins=range(int(max_total) + 2), align="left",
            color="#0072B2", edgecolor="white")
    ax.set_xlabel(f"total (out of {max_total:g})")
    ax.set_ylabel("students")
    ax.set_title(f"{lab}: totals of {len(totals)} students")
    fig.tight_layout()
    fig.savefig(histogram, dpi=100)
    plt.close(fig)

    misconceptions = count_misconceptions(root, lab)
    misconceptions_csv = write_csv(
        folder / "misconceptions.csv", ["grade_id", "misconception", "students", "question"],
        [[g, k, n, QUESTIONS.get(k, "")] for g, k, n in misconceptions])
    page = write_atomic(folder / "report.html",
                        _html(lab, tests, attention, histogram.name, misconceptions))
    return Report(tests, totals, max_total, attention,
                  [per_test_csv, attention_csv, misconceptions_csv, histogram, page],
                  misconceptions)


def _html(lab: str, tests: list[TestSummary], attention, image: str,
          misconceptions: list[tuple[str, str, int]]) -> str:
    test_rows = "".join(
        f"<tr><td>{html.escape(t.grade_id)}</td><td>{t.mean_score:.2f} / {t.max_score:g}</td>"
        f"<td>{t.pass_rate:.0%}</td></tr>" for t in tests)
    misconception_rows = "".join(
        f"<tr><td>{html.escape(g)}</td><td>{html.escape(k)}</td><td>{n}</td>"
        f"<td>{html.escape(QUESTIONS.get(k, ''))}</td></tr>" for g, k, n in misconceptions
    ) or "<tr><td colspan=4>none found</td></tr>"
    attention_rows = "".join(
        f"<tr><td>{html.escape(s)}</td><td>{html.escape(r)}</td></tr>" for s, r in attention
    ) or "<tr><td colspan=2>nobody</td></tr>"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{lab} grading report</title>"
        "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}"
        "td,th{padding:.2em .8em;text-align:left}</style></head><body>"
        f"<h1>{html.escape(lab)}: grading report</h1>"
        "<h2>Tests, hardest first</h2><table><tr><th>test</th><th>mean</th><th>passed</th></tr>"
        f"{test_rows}</table><h2>Misconceptions, most frequent first</h2><table><tr>"
        "<th>test</th><th>misconception</th><th>students</th><th>question it raises</th></tr>"
        f"{misconception_rows}</table><h2>Totals</h2><img src='{image}' alt='histogram of totals'>"
        "<h2>Needs attention</h2><table><tr><th>student</th><th>why</th></tr>"
        f"{attention_rows}</table></body></html>"
    )


def format_summary(report: Report) -> str:
    """The terminal version of the report."""
    lines = ["test                                        mean   passed"]
    for t in report.tests:
        lines.append(f"{t.grade_id:<42} {t.mean_score:4.2f}/{t.max_score:g} {t.pass_rate:6.0%}")
    totals = sorted(report.totals.values())
    if totals:
        median = totals[len(totals) // 2]
        lines.append(f"\n{len(totals)} students; median total {median:g} of "
                     f"{report.max_total:g}; full marks: "
                     f"{sum(t >= report.max_total for t in totals)}")
    if report.misconceptions:
        lines.append("\nmisconceptions, most frequent first:")
        lines += [f"  {grade_id}: {key} ({n} student{'s' if n > 1 else ''})"
                  for grade_id, key, n in report.misconceptions]
    lines.append(f"\nneeds attention ({len(report.attention)}):")
    lines += [f"  {student}: {reason}" for student, reason in report.attention] or ["  nobody"]
    lines.append("\nwritten: " + ", ".join(str(p) for p in report.files))
    return "\n".join(lines)
