"""The grading report as an HTML page (every cell escaped here)."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from course.diagnosis import TEST_OUTCOMES
from course.extensions import Extension
from course.late import shown_duration, shown_moment
from course.reporting.summaries import Summary, TestSummary
from course.similarity import (
    SameMistake,
    SimilarPair,
)


def by_hand_section(by_hand: list[tuple[str, tuple[str, ...]]]) -> str:
    """The students whose written answers the instructor has still to grade by hand."""
    return (
        "<h2>Written answers to grade by hand</h2><p>In the formgrader (Manual Grading), with "
        "the rubric in the source notebook's solution; until then they count 0 in every "
        "total and export.</p>"
        + html_table(
            ["student", "written answers"],
            [[student, ", ".join(answers)] for student, answers in by_hand],
            "none waiting",
        )
    )


def late_section(
    late: list[dict], due: datetime | None = None, extensions: Sequence[Extension] = ()
) -> str:
    """The late students: raw score, the penalty nbgrader's late policy took, the grade, and
    the due date it counted from (the lab's, or the student's own, extended)."""
    extended = {e.student: e.due for e in extensions}

    def due_of(student: str) -> str:
        if own := extended.get(student):
            return f"{shown_moment(own)} (extended)"
        return shown_moment(due) if due else ""

    return (
        "<h2>Late submissions</h2><p>The penalty follows the policy in "
        "<code>nbgrader_config.py</code> (course/late.py), counted from each student's due "
        "date (the lab's, or their own: see Extensions); the total is the grade.</p>"
        + html_table(
            ["student", "raw", "late penalty", "total", "due"],
            [
                [
                    r["student_id"],
                    f"{r['raw']:g}",
                    f"{r['late_penalty']:g}",
                    f"{r['total']:g}",
                    due_of(r["student_id"]),
                ]
                for r in late
            ],
            "none late",
        )
    )


def extensions_section(due: datetime | None, extensions: Sequence[Extension]) -> str:
    """The extensions given with ``course extend``: each student's own due date, and how
    they stand against it."""
    lab_due = shown_moment(due) if due else "no date (c.Deadlines.due)"
    return (
        f"<h2>Extensions</h2><p>Given with <code>course extend</code>; the lab is due "
        f"{html.escape(lab_due)}. A student's lateness, and so their penalty, counts from "
        "their own due date.</p>"
        + html_table(
            ["student", "extended by", "due", "handed in", "late by", "late penalty"],
            [
                [
                    e.student,
                    shown_duration(e.extension),
                    shown_moment(e.due) if e.due else "no due date",
                    shown_moment(e.handed_in)
                    if e.handed_in
                    else ("no time" if e.graded else "not graded yet"),
                    shown_duration(e.late_by) if e.late_by else "",
                    "" if e.penalty is None else f"{e.penalty:g}",
                ]
                for e in extensions
            ],
            "none given",
        )
    )


def similarity_section(
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
        + html_table(
            ["student", "other", "own code matching", "matching tokens"],
            [[p.first, p.second, f"{p.similarity:.0%}", p.overlap] for p in similar],
            "no pair above the threshold",
        )
        + pairs
        + "<h2>Identical own code</h2><p>Students whose own code is the same once names, "
        "strings and layout are set aside, smallest groups first (a ring of copiers large "
        "enough to look like common code shows here; the largest group is usually the "
        "canonical answer, written alike by honest students).</p>"
        + html_table(["students", "how many"], [[", ".join(g), len(g)] for g in identical], "none")
        + "<h2>Identical wrong answers</h2><p>Students whose answer to a test was the same "
        "wrong numbers on the same hidden case. A named misconception explains a shared "
        "mistake; the others come first.</p>"
        + html_table(
            ["test", "students", "misconception"],
            [
                [m.grade_id, ", ".join(m.students), m.misconception or "none named"]
                for m in mistakes
            ],
            "none",
        )
    )


def html_table(headers: list[str], rows: Sequence[Sequence[object]], empty: str) -> str:
    """An HTML table; cells are escaped here."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return (
        f"<table><tr>{head}</tr>"
        f"{body or f'<tr><td colspan={len(headers)}>{html.escape(empty)}</td></tr>'}</table>"
    )


def report_page(
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
        + html_table(["test", "mean", *TEST_OUTCOMES], step_rows, "no tests")
        + "<h2>Needs attention</h2>"
        + html_table(["student", "why"], [list(a) for a in attention], "nobody")
        + "<h2>Misconceptions, most frequent first</h2>"
        + html_table(
            ["test", "misconception", "students", "question it raises"],
            [[g, k, n, questions.get(k, "")] for g, k, n in misconceptions],
            "none found",
        )
        + sections
        + f"<h2>Files</h2><p>{links}</p></body></html>"
    )
