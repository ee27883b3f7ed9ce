"""What an instructor reads after grading: per-test results, totals, who needs attention."""

from __future__ import annotations

import html
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import nbformat
from nbgrader.api import MissingEntry

from course import layout
from course.diagnosis import NOT_GRADED, TEST_OUTCOMES, judged_outcomes, outcome_of_test
from course.export import grade_columns, per_test_rows, submitters, write_per_test_csv
from course.files import write_atomic, write_csv
from course.grading.admission import submitted_students
from course.grading.outcome import load_outcomes
from course.judge_cells import judged_notebooks
from course.labs import load_lab
from course.late import reapply_late_penalties
from course.misconceptions import COLUMN
from course.nbgrader_setup import make_api
from course.notebooks import cells_by_grade_id
from course.similarity import (
    SameMistake,
    SimilarPair,
    cohort_code,
    identical_groups,
    past_code,
    same_mistakes,
    similar_pairs,
)


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
    outcomes: dict[str, Counter]  # grade_id: how many students' tests went each way
    graded: int  # students with a graded notebook
    late: list[dict]  # per_test_rows of the students a late penalty was taken from
    similar: list[SimilarPair]  # most similar first (course.similarity)
    identical: list[tuple[str, ...]]  # groups with the same own code, smallest first
    same_mistakes: list[SameMistake]


def step_outcomes(root: Path, lab: str, columns, rows: list[dict]) -> dict[str, Counter]:
    """For each grade cell, how many students' tests were correct, wrong, crashed, blank or
    not graded at all (course.diagnosis.TEST_OUTCOMES), read from the graded notebooks."""
    counts: dict[str, Counter] = {grade_id: Counter() for _, grade_id, _ in columns}
    for row in rows:
        cells: dict[str, dict | None] = {}
        kinds: dict[str, dict[str, str]] = {}  # the judge's, by notebook and grade id
        for notebook, grade_id, max_score in columns:
            if notebook not in cells:
                path = layout.autograded(root, row["student_id"], lab) / f"{notebook}.ipynb"
                try:
                    nb = nbformat.read(path, as_version=4)
                    cells[notebook] = cells_by_grade_id(nb)
                    kinds[notebook] = judged_outcomes(nb)
                except Exception:  # not graded, or left half-written: nothing to read
                    cells[notebook] = None
            cell = (cells[notebook] or {}).get(grade_id)
            counts[grade_id][
                NOT_GRADED
                if cell is None
                else outcome_of_test(
                    cell, row[grade_id], max_score, kinds.get(notebook, {}).get(grade_id)
                )
            ] += 1
    return counts


def summarise_tests(rows: list[dict], columns) -> list[TestSummary]:
    """Mean score and pass rate per grade cell, hardest (lowest pass rate) first."""
    summaries = []
    for _, grade_id, max_score in columns:
        scores = [row[grade_id] for row in rows]
        passed = [score >= max_score for score in scores]
        summaries.append(
            TestSummary(
                grade_id,
                max_score,
                sum(scores) / len(scores) if scores else 0.0,
                sum(passed) / len(passed) if passed else 0.0,
            )
        )
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


def misconception_questions(root: Path, lab: str) -> dict[str, str]:
    """The question each of the lab's named misconceptions raises, by key."""
    return {m.key: m.question for m in (*load_lab(root, lab).misconceptions, COLUMN)}


def count_misconceptions(root: Path, lab: str) -> list[tuple[str, str, int]]:
    """``(grade_id, misconception, students)`` across the cohort's graded notebooks, most
    frequent first: the list to read before the next lecture."""
    counts: Counter = Counter()
    for _, judged in judged_notebooks(root, lab):
        counts.update(judged.get("misconceptions", {}).items())
    return [
        (grade_id, key, n)
        for (grade_id, key), n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def build_report(root: Path, lab: str, past: Path | None = None) -> Report:
    """Assign the late penalties again (on the scores as they are now), then write
    grades.csv (the gradebook as it is now), per-test CSV, totals histogram (PNG),
    the similarity lists and an HTML page under reports/<lab>/. ``past``: a folder of past
    cohorts' notebooks to compare the students' code with as well."""
    folder = layout.reports(root, lab)
    folder.mkdir(parents=True, exist_ok=True)
    reapply_late_penalties(root, lab)  # a score given by hand since grading changes it
    with make_api(root).gradebook as gradebook:
        columns = grade_columns(gradebook, lab)
        # whoever handed the lab in (an unreadable notebook too), not the whole class
        in_class = {student.id for student in gradebook.students}
        handed_in = sorted(
            (set(submitted_students(root, lab)) | set(submitters(gradebook, lab))) & in_class
        )
        rows = per_test_rows(gradebook, lab, handed_in)
        # written again, so that a score given by hand in the formgrader since grading shows
        grades_csv = write_per_test_csv(gradebook, lab, folder / "grades.csv")
        attention = students_needing_attention(root, lab, gradebook)
    tests = summarise_tests(rows, columns)
    totals = {row["student_id"]: row["total"] for row in rows}
    max_total = sum(max_score for *_, max_score in columns)

    per_test_csv = write_csv(
        folder / "per-test.csv",
        ["grade_id", "max_score", "mean_score", "pass_rate"],
        [[t.grade_id, t.max_score, f"{t.mean_score:.3f}", f"{t.pass_rate:.3f}"] for t in tests],
    )
    attention_csv = write_csv(
        folder / "attention.csv", ["student_id", "reason"], [list(a) for a in attention]
    )

    histogram = folder / "totals.png"
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(
        list(totals.values()),
        bins=range(int(max_total) + 2),
        align="left",
        color="#0072B2",
        edgecolor="white",
    )
    ax.set_xlabel(f"total (out of {max_total:g})")
    ax.set_ylabel("students")
    ax.set_title(f"{lab}: totals of {len(totals)} students")
    fig.tight_layout()
    fig.savefig(histogram, dpi=100)
    plt.close(fig)

    misconceptions = count_misconceptions(root, lab)
    questions = misconception_questions(root, lab)
    misconceptions_csv = write_csv(
        folder / "misconceptions.csv",
        ["grade_id", "misconception", "students", "question"],
        [[g, k, n, questions.get(k, "")] for g, k, n in misconceptions],
    )
    outcomes = step_outcomes(root, lab, columns, rows)
    outcomes_csv = write_csv(
        folder / "step-outcomes.csv",
        ["grade_id", *TEST_OUTCOMES],
        [[g, *(outcomes[g][kind] for kind in TEST_OUTCOMES)] for _, g, _ in columns],
    )
    graded = len({p.parent.parent.name for p in root.glob(f"autograded/*/{lab}/*.ipynb")})
    late = [row for row in rows if row["late_penalty"] > 0]
    code, template = cohort_code(root, lab)
    handed_in_code = {s: code[s] for s in handed_in if s in code}
    similar = similar_pairs(handed_in_code, past_code(past, root, lab) if past else None, template)
    identical = identical_groups(handed_in_code)
    mistakes = same_mistakes(root, lab)
    similarity_csv = write_csv(
        folder / "similarity.csv",
        ["student", "other", "similarity", "matching_tokens"],
        [[p.first, p.second, f"{p.similarity:.2f}", p.overlap] for p in similar],
    )
    identical_csv = write_csv(
        folder / "identical-code.csv",
        ["students", "group_size"],
        [[" ".join(g), len(g)] for g in identical],
    )
    mistakes_csv = write_csv(
        folder / "same-wrong-answers.csv",
        ["grade_id", "students", "misconception"],
        [[m.grade_id, " ".join(m.students), m.misconception] for m in mistakes],
    )
    csvs = [
        grades_csv,
        per_test_csv,
        outcomes_csv,
        misconceptions_csv,
        attention_csv,
        similarity_csv,
        identical_csv,
        mistakes_csv,
    ]
    summary = Summary(lab, len(submitted_students(root, lab)), graded, totals, max_total)
    page = write_atomic(
        folder / "report.html",
        _html(
            summary,
            tests,
            attention,
            histogram.name,
            misconceptions,
            questions,
            outcomes,
            columns,
            [p for p in csvs if p.exists()],
            _late_html(late) + _similarity_html(similar, identical, mistakes),
        ),
    )
    return Report(
        tests,
        totals,
        max_total,
        attention,
        [
            per_test_csv,
            outcomes_csv,
            attention_csv,
            misconceptions_csv,
            similarity_csv,
            identical_csv,
            mistakes_csv,
            histogram,
            page,
        ],
        misconceptions,
        outcomes,
        graded,
        late,
        similar,
        identical,
        mistakes,
    )


def _late_html(late: list[dict]) -> str:
    """The late students: raw score, the penalty nbgrader's late policy took, the grade."""
    return (
        "<h2>Late submissions</h2><p>The penalty follows the policy in "
        "<code>nbgrader_config.py</code> (course/late.py); the total is the grade.</p>"
        + _table(
            ["student", "raw", "late penalty", "total"],
            [
                [r["student_id"], f"{r['raw']:g}", f"{r['late_penalty']:g}", f"{r['total']:g}"]
                for r in late
            ],
            "none late",
        )
    )


def _similarity_html(
    similar: list[SimilarPair], identical: list[tuple[str, ...]], mistakes: list[SameMistake]
) -> str:
    """The similarity lists, each pair with its two students' own code side by side
    (matching code marked). For review: no grade depends on them."""
    pairs = "".join(
        f"<details><summary>{html.escape(p.first)} and {html.escape(p.second)}: "
        f"{p.similarity:.0%} of their own code matches ({p.overlap} tokens)</summary>"
        "<div class='side'>"
        f"<div><h3>{html.escape(p.first)}</h3><pre>{p.first_code}</pre></div>"
        f"<div><h3>{html.escape(p.second)}</h3><pre>{p.second_code}</pre></div>"
        "</div></details>"
        for p in similar
    )
    return (
        "<h2>Similar code, for review</h2><p>Only what each student wrote is compared (the "
        "released notebook's code left out); code that many students wrote alike counts for "
        "nothing, as boilerplate does. A pair here is a reason to look, not a finding: no "
        "grade changes.</p>"
        + _table(
            ["student", "other", "own code matching", "matching tokens"],
            [[p.first, p.second, f"{p.similarity:.0%}", p.overlap] for p in similar],
            "no pair above the threshold",
        )
        + pairs
        + "<h2>Identical own code</h2><p>Students whose own code is the same once names, "
        "strings and layout are set aside, smallest groups first (a ring of copiers large "
        "enough to look like common code shows here; the largest group is usually the "
        "canonical answer, written alike by honest students).</p>"
        + _table(["students", "how many"], [[", ".join(g), len(g)] for g in identical], "none")
        + "<h2>Identical wrong answers</h2><p>Students whose answer to a test was the same "
        "wrong numbers on the same hidden case. A named misconception explains a shared "
        "mistake; the others come first.</p>"
        + _table(
            ["test", "students", "misconception"],
            [
                [m.grade_id, ", ".join(m.students), m.misconception or "none named"]
                for m in mistakes
            ],
            "none",
        )
    )


@dataclass(frozen=True)
class Summary:
    """The cohort at a glance."""

    lab: str
    submitted: int
    graded: int
    totals: dict[str, float]
    max_total: float

    @property
    def median(self) -> float:
        return statistics.median(self.totals.values()) if self.totals else 0.0

    def sentence(self) -> str:
        full = sum(t >= self.max_total for t in self.totals.values())
        return (
            f"{self.submitted} submitted, {self.graded} graded; median total "
            f"{self.median:g} of {self.max_total:g}; {full} with full marks."
        )


def _table(headers: list[str], rows: Sequence[Sequence[object]], empty: str) -> str:
    """An HTML table; cells are escaped here."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return (
        f"<table><tr>{head}</tr>"
        f"{body or f'<tr><td colspan={len(headers)}>{html.escape(empty)}</td></tr>'}</table>"
    )


def _html(
    summary: Summary,
    tests: list[TestSummary],
    attention,
    image: str,
    misconceptions: list[tuple[str, str, int]],
    questions: dict[str, str],
    outcomes: dict[str, Counter],
    columns,
    csvs: list[Path],
    sections: str = "",
) -> str:
    """The report page; ``sections``: HTML (already escaped) put before the list of files."""
    lab = html.escape(summary.lab)
    by_id = {t.grade_id: t for t in tests}
    step_rows = [
        [
            g,
            f"{by_id[g].mean_score:.2f} / {by_id[g].max_score:g}",
            *(outcomes[g][kind] for kind in TEST_OUTCOMES),
        ]
        for _, g, _ in columns
    ]
    links = " &middot; ".join(
        f"<a href='{html.escape(p.name)}'>{html.escape(p.name)}</a>" for p in csvs
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{lab} grading report</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse}td,th{padding:.2em .8em;text-align:left;"
        "border-bottom:1px solid #ddd}td:nth-child(n+2){text-align:right}"
        ".side{display:flex;gap:1em}.side>div{flex:1;min-width:0}"
        "pre{background:#f6f6f6;padding:.5em;overflow-x:auto}mark{background:#ffe08a}"
        "</style></head><body>"
        f"<h1>{lab}: grading report</h1>"
        f"<p class='summary'>{html.escape(summary.sentence())}</p>"
        f"<img src='{html.escape(image)}' alt='histogram of the students&#39; totals'>"
        "<h2>Each test, by what happened</h2>"
        "<p>Correct; wrong value (it ran, the answer was wrong); crashed (it raised, or the "
        "cell could not run); blank (still the released <code>raise NotImplementedError()"
        "</code>); not graded (the notebook could not be graded: see below).</p>"
        + _table(["test", "mean", *TEST_OUTCOMES], step_rows, "no tests")
        + "<h2>Needs attention</h2>"
        + _table(["student", "why"], [list(a) for a in attention], "nobody")
        + "<h2>Misconceptions, most frequent first</h2>"
        + _table(
            ["test", "misconception", "students", "question it raises"],
            [[g, k, n, questions.get(k, "")] for g, k, n in misconceptions],
            "none found",
        )
        + sections
        + f"<h2>Files</h2><p>{links}</p></body></html>"
    )


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
    if report.late:
        lines.append("\nlate (raw - penalty = total):")
        lines += [
            f"  {r['student_id']}: {r['raw']:g} - {r['late_penalty']:g} = {r['total']:g}"
            for r in report.late
        ]
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
    lines.append(f"\nneeds attention ({len(report.attention)}):")
    lines += [f"  {student}: {reason}" for student, reason in report.attention] or ["  nobody"]
    lines.append("\nwritten: " + ", ".join(str(p) for p in report.files))
    return "\n".join(lines)
